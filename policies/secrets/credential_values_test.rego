package modelops.secrets.credential_values_test

import rego.v1

deployment(args, env) := {"kind": "Deployment", "metadata": {"name": "support-chat"}, "spec": {"template": {"spec": {"containers": [{"name": "server", "image": "registry.example.com/vllm/vllm-openai@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "args": args, "env": env}]}}}}

test_allowed_ordinary_values if {
	d := deployment(["--model", "s3://models/support-chat/", "--tensor-parallel-size", "2"], [{"name": "AWS_REGION", "value": "eu-west-1"}, {"name": "MODEL_ID", "value": "AKIAshort"}])
	count(data.modelops.secrets.credential_values.deny) == 0 with input.kind as "Deployment"
		with input.document as d
}

test_denied_aws_key_in_env if {
	d := deployment([], [{"name": "AWS_ACCESS_KEY_ID", "value": "AKIAABCDEFGHIJKLMNOP"}])
	result := data.modelops.secrets.credential_values.deny with input.kind as "Deployment"
		with input.document as d
	count(result) == 1
	some r in result
	r.path == "spec.template.spec.containers[0].env[0].value"
	r.msg == "value at spec.template.spec.containers[0].env[0].value looks like an AWS access key id; never commit credentials"
}

test_denied_github_token_in_values_args if {
	result := data.modelops.secrets.credential_values.deny with input.kind as "Values"
		with input.document as {"image": "x", "args": ["--hf-token", "ghp_0123456789abcdefghijABCDEFGHIJ012345"]}
	count(result) == 1
	some r in result
	r.path == "args[1]"
}

test_denied_private_key_in_manifest if {
	wf := {"kind": "WorkflowTemplate", "spec": {"templates": [{"name": "t", "resource": {"action": "create", "manifest": "apiVersion: v1\nkind: Secret\nstringData:\n  key: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    abc\n"}}]}}
	result := data.modelops.secrets.credential_values.deny with input.kind as "WorkflowTemplate"
		with input.document as wf
	count(result) == 1
	some r in result
	r.path == "spec.templates[0].resource.manifest"
	contains(r.msg, "a private key")
}

test_denied_at_any_depth_with_its_path if {
	# built from text: a literal nested this deep takes regorus's parser seconds (it is exponential in depth)
	deep := json.unmarshal(`{"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": {"l": {"m": {"n": {"o": {"p": {"q": {"r": ["x", "hf_0123456789abcdefghijABCDEFGHIJ0123"]}}}}}}}}}}}}}}}}}}`)
	result := data.modelops.secrets.credential_values.deny with input.kind as "Values"
		with input.document as deep
	count(result) == 1
	some r in result
	r.path == "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r[1]"
	contains(r.msg, "looks like a Hugging Face token")
}

test_denied_in_a_key_without_a_path if {
	result := data.modelops.secrets.credential_values.deny with input.kind as "ConfigMap"
		with input.document as {"data": {"ghp_0123456789abcdefghijABCDEFGHIJ012345": "x"}}
	count(result) == 1
	some r in result
	r.msg == "a key of the document looks like a GitHub token; never commit credentials"
	not r.path
}

# One case per remaining pattern: each must get past the literal prefix screen.
test_denied_every_credential_format if {
	cases := {
		"an AWS access key id": "ASIAABCDEFGHIJKLMNOP",
		"a GitHub token": "github_pat_0123456789abcdefghijAB_cdef",
		"a Hugging Face token": "hf_0123456789abcdefghijABCDEFGHIJ0123",
		"a Slack token": "xoxb-1234567890-abcdef",
	}
	every kind, value in cases {
		result := data.modelops.secrets.credential_values.deny with input.kind as "Values"
			with input.document as {"env": {"TOKEN": value}}
		count(result) == 1
		some r in result
		r.path == "env.TOKEN"
		contains(r.msg, kind)
	}
}
