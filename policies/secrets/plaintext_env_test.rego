package modelops.secrets.plaintext_env_test

import rego.v1

deployment(env) := {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "server", "image": "x", "env": env}]}}}}

test_allowed_secret_ref_and_harmless_names if {
	d := deployment([
		{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}},
		{"name": "TOKENIZERS_PARALLELISM", "value": "false"},
		{"name": "MAX_NUM_BATCHED_TOKENS", "value": "8192"},
		{"name": "HF_TOKEN_PATH", "value": "/var/run/secrets/hf/token"},
		{"name": "NCCL_DEBUG", "value": "WARN"},
	])
	count(data.modelops.secrets.plaintext_env.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_denied_literal_token_in_deployment if {
	d := deployment([{"name": "hf_token", "value": "hf_abc"}, {"name": "NCCL_DEBUG", "value": "WARN"}])
	result := data.modelops.secrets.plaintext_env.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.template.spec.containers[0].env[0].value"
	not contains(r.msg, "hf_abc")
}

test_denied_values_env_list if {
	result := data.modelops.secrets.plaintext_env.deny with input.kind as "Values"
		with input.document as {"image": "x", "env": [{"name": "WANDB_API_KEY", "value": "0123"}, {"name": "LOG_LEVEL", "value": "info"}]}
	count(result) == 1
	some r in result
	r.path == "env[0].value"
}

test_denied_workflow_template_container if {
	wf := {"kind": "WorkflowTemplate", "spec": {"templates": [{"name": "train", "container": {"name": "main", "image": "x", "env": [
		{"name": "AWS_SECRET_ACCESS_KEY", "value": "abc"},
		{"name": "MLFLOW_TRACKING_PASSWORD", "value": "hunter2"},
	]}}]}}
	result := data.modelops.secrets.plaintext_env.deny with input.kind as "WorkflowTemplate"
		with input.document as wf
	count(result) == 2
}

pe_jobset(env) := {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": {"replicatedJobs": [{"name": "workers", "template": {"spec": {"template": {"spec": {"containers": [{"name": "trainer", "image": "x", "env": env}]}}}}}]}}

test_allowed_jobset_secret_ref if {
	d := pe_jobset([{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}}, {"name": "NCCL_DEBUG", "value": "WARN"}])
	count(data.modelops.secrets.plaintext_env.deny) == 0 with input.kind as "JobSet"
		with input.document as d
}

test_denied_jobset_literal_token if {
	d := pe_jobset([{"name": "NCCL_DEBUG", "value": "WARN"}, {"name": "WANDB_API_KEY", "value": "0123abcd"}])
	result := data.modelops.secrets.plaintext_env.deny with input.kind as "JobSet"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.replicatedJobs[0].template.spec.template.spec.containers[0].env[1].value"
	r.msg == "env var 'WANDB_API_KEY' (JobSet replicatedJob 'workers' container 'trainer') holds a literal value; credentials must come from valueFrom.secretKeyRef"
}

test_allowed_workflow_template_manifest_not_parsed if {
	wf := {"kind": "WorkflowTemplate", "spec": {"templates": [{"name": "train", "resource": {"action": "create", "manifest": `apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
spec:
  replicatedJobs:
    - name: workers
      template:
        spec:
          template:
            spec:
              containers:
                - name: trainer
                  image: x
                  env:
                    - name: WANDB_API_KEY
                      value: "0123abcd"
`}}]}}
	count(data.modelops.secrets.plaintext_env.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as wf
}

# Every name family of the pattern, in lower case too: each must pass the literal word screen.
test_denied_every_secret_name_family if {
	names := ["db_passwd", "PASSWORD", "SERVICE_TOKEN", "client-secret", "OPENAI_API_KEY", "API-KEY", "MY_APIKEY",
		"S3_ACCESS_KEY", "SSH_PRIVATE_KEY", "GOOGLE_CREDENTIALS", "AZURE_CREDENTIAL"]
	env := [{"name": n, "value": "literal"} | some n in names]
	result := data.modelops.secrets.plaintext_env.deny with input.kind as "Values"
		with input.document as {"image": "x", "env": env}
	count(result) == count(names)
}
