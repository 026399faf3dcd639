# METADATA
# title: KServe can name the predictor's host
# description: >-
#   In RawDeployment (Standard) mode KServe's controller names the predictor's host with
#   the cluster's `domainTemplate`, by default `{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}`
#   where Name is `<InferenceService>-predictor` (or `<InferenceService>-<predictor name>-predictor`),
#   and refuses a host whose first DNS label passes 63 characters ("failed creating host
#   name: invalid domain name"). The InferenceService applies cleanly and is never ready.
#   Serverless (Knative) mode names hosts with Knative's template, one label per name.
# scope: package
# custom:
#   id: MO-SRV-007
#   kinds: [InferenceService]
#   severity: high
#   remediation: >-
#     Shorten the model's name or the environment's namespace so that
#     `<model>-predictor-<namespace>` has at most 63 characters, or serve it in Serverless
#     mode. A cluster whose KServe domainTemplate does not join name and namespace can
#     waive this rule.
package modelops.serving.kserve_host

import rego.v1

# The object under review: modelops's envelope carries it in `document`; a plain
# Kubernetes manifest (`modelops policy eval`, conftest) is the input itself.
reviewed := input.document if {
	is_object(input.document)
} else := input

# KServe's constants.ParseDeploymentMode: RawDeployment is the older name of Standard
raw_modes := {"RawDeployment", "Standard"}

max_label := 63

deny contains result if {
	input.kind == "InferenceService"
	object.get(reviewed, ["metadata", "annotations", "serving.kserve.io/deploymentMode"], "") in raw_modes
	name := object.get(reviewed, ["metadata", "name"], "")
	namespace := object.get(reviewed, ["metadata", "namespace"], "")
	is_string(name)
	is_string(namespace)
	name != ""
	namespace != ""
	label := concat("-", [predictor_service(name), namespace])
	count(label) > max_label
	result := {
		"msg": sprintf("InferenceService '%s' in RawDeployment mode: KServe names its predictor's host '%s' (KServe's default domainTemplate), %d characters; a DNS label has at most %d, so KServe cannot create it and the model is never ready", [
			name, label, count(label), max_label,
		]),
		"path": "metadata.name",
	}
}

# KServe's constants.PredictorServiceName
predictor_service(name) := concat("-", [name, predictor_name, "predictor"]) if {
	predictor_name := object.get(reviewed, ["spec", "predictor", "name"], "")
	is_string(predictor_name)
	predictor_name != ""
} else := concat("-", [name, "predictor"])
