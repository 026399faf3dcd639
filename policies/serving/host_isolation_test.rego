package modelops.serving.host_isolation_test

import rego.v1

test_allowed_plain_pod if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": {
		"containers": [{"name": "server", "image": "x", "securityContext": {"privileged": false}}],
		"volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}, {"name": "cache", "persistentVolumeClaim": {"claimName": "hf-cache"}}],
	}}}}
	count(data.modelops.serving.host_isolation.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_denied_host_network_and_host_path if {
	d := {"kind": "Deployment", "spec": {"template": {"spec": {
		"hostNetwork": true,
		"containers": [{"name": "server", "image": "x"}],
		"volumes": [{"name": "models", "hostPath": {"path": "/mnt/models"}}],
	}}}}
	result := data.modelops.serving.host_isolation.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 2
	msgs := {r.msg | some r in result}
	msgs == {"pod sets hostNetwork: true", "pod mounts hostPath volume 'models' (/mnt/models)"}
}

test_denied_privileged_training_container if {
	wf := {"kind": "WorkflowTemplate", "spec": {"templates": [{"name": "train", "container": {"name": "main", "image": "x", "securityContext": {"privileged": true}}}]}}
	result := data.modelops.serving.host_isolation.deny with input.kind as "WorkflowTemplate"
		with input.document as wf
	count(result) == 1
	some r in result
	r.path == "spec.templates[0]"
	r.msg == "container 'main' is privileged"
}

test_denied_workflow_level_host_path if {
	wf := {"kind": "WorkflowTemplate", "spec": {
		"volumes": [{"name": "data", "hostPath": {"path": "/data"}}],
		"templates": [{"name": "train", "container": {"name": "main", "image": "x"}}],
	}}
	count(data.modelops.serving.host_isolation.deny) == 1 with input.kind as "WorkflowTemplate"
		with input.document as wf
}

hi_jobset(pod) := {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": {"replicatedJobs": [
	{"name": "launcher", "template": {"spec": {"template": {"spec": {"containers": [{"name": "launch", "image": "x"}]}}}}},
	{"name": "workers", "template": {"spec": {"template": {"spec": pod}}}},
]}}

test_allowed_jobset_pod if {
	d := hi_jobset({
		"containers": [{"name": "trainer", "image": "x", "securityContext": {"allowPrivilegeEscalation": false}}],
		"volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory"}}],
	})
	count(data.modelops.serving.host_isolation.deny) == 0 with input.kind as "JobSet"
		with input.document as d
}

test_denied_jobset_host_network_host_path_privileged if {
	d := hi_jobset({
		"hostNetwork": true,
		"containers": [{"name": "trainer", "image": "x", "securityContext": {"privileged": true}}],
		"volumes": [{"name": "ib", "hostPath": {"path": "/dev/infiniband"}}],
	})
	result := data.modelops.serving.host_isolation.deny with input.kind as "JobSet"
		with input.document as d
	count(result) == 3
	every r in result {
		r.path == "spec.replicatedJobs[1].template.spec.template.spec"
	}
	msgs := {r.msg | some r in result}
	msgs == {
		"pod (JobSet replicatedJob 'workers') sets hostNetwork: true",
		"pod (JobSet replicatedJob 'workers') mounts hostPath volume 'ib' (/dev/infiniband)",
		"container 'trainer' (JobSet replicatedJob 'workers') is privileged",
	}
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
              hostNetwork: true
              containers:
                - name: trainer
                  image: x
                  securityContext: {privileged: true}
`}}]}}
	count(data.modelops.serving.host_isolation.deny) == 0 with input.kind as "WorkflowTemplate"
		with input.document as wf
}
