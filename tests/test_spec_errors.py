"""Bad input: one clear line per problem with file:line:col and the field path, exit 2, nothing written."""
from __future__ import annotations

import pytest

from tests.conftest import snapshot

CHAT = "models/support-chat.yaml"


def _edit(repo, relative, old, new):
    path = repo / relative
    text = path.read_text()
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1))


def _line_of(repo, relative, needle):
    for number, line in enumerate((repo / relative).read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def _fails(cli, repo, *expected):
    before = snapshot(repo)
    code, out, err = cli("-C", str(repo), "render")
    assert code == 2, out + err
    for text in expected:
        assert text in err, err
    assert snapshot(repo) == before, "nothing may be written on bad input"
    return err


@pytest.mark.parametrize("case", [
    ("yaml syntax", "  strategy: fsdp", "  strategy: [fsdp", "YAML syntax error"),
    ("wrong type", "retries: 3", "retries: three", "training.retries: expected an integer, got 'three'"),
    ("missing required", "  team: assistants\n", "", "metadata: missing required field 'team'"),
    ("unknown field", "  strategy: fsdp", "  stratgy: fsdp", "training.stratgy: unknown field 'stratgy' (did you mean 'strategy'?)"),
    ("not dns-1123", "name: support-chat", "name: Support_Chat", "metadata.name: 'Support_Chat' is not a DNS-1123 label"),
    # label values (Application and chart labels) end with a letter or digit; the chart refused
    # these after render, at a rendered file, and an Application's label reached the cluster
    ("cost center not a label value", "costCenter: cc-4410", "costCenter: cc-4410-",
     "metadata.costCenter: 'cc-4410-' is not a label value"),
    ("model version not a label value", 'modelVersion: "8"', 'modelVersion: "8."',
     "releases.dev.modelVersion: '8.' is not a label value"),
    # Argo's controller parses schedules with robfig/cron and never runs one it cannot
    ("schedule Argo refuses", 'schedule: "0 3 * * 0"', 'schedule: "0 3 * * 7"',
     ("training.schedule: Argo Workflows cannot parse schedule '0 3 * * 7': day of week '7': 7 is above the "
      "maximum, 6 (Sunday is 0)")),
    ("gpu count zero", "perNode: 8", "perNode: 0", "training.gpus.perNode: must be a positive integer, got 0"),
    ("gpu count float", "perNode: 8", "perNode: 2.5", "training.gpus.perNode: expected an integer, got 2.5"),
    ("gpu count string", "count: 1}", "count: \"1\"}", "serving.gpus.count: expected an integer, got '1'"),
    ("bad enum", "strategy: fsdp", "strategy: fdsp", "must be one of ddp, fsdp, got 'fdsp' (did you mean 'fsdp'?)"),
    ("unknown gpu type", "type: nvidia-l4", "type: nvidia-l5", "unknown GPU type 'nvidia-l5' (did you mean 'nvidia-l4'?)"),
    ("unknown environment", "  prod:\n    serving:", "  prdo:\n    serving:", "environments.prdo: environment 'prdo' does not exist (did you mean 'prod'?)"),
])
def test_bad_spec_is_reported_with_location(example_repo, cli, case):
    _name, old, new, message = case
    _edit(example_repo, CHAT, old, new)
    err = _fails(cli, example_repo, message)
    assert err.startswith(f"modelops: error: {CHAT}:")
    # file:line:col of the offending line (not just the file)
    location = err.split(": ")[2]
    file, line, column = location.split(":")[:3]
    assert file == CHAT and int(line) > 0 and int(column) > 0


def test_error_line_points_at_the_field(example_repo, cli):
    _edit(example_repo, CHAT, "retries: 3", "retries: -1")
    err = _fails(cli, example_repo, "training.retries: must be >= 0, got -1")
    assert f"{CHAT}:{_line_of(example_repo, CHAT, 'retries: -1')}:" in err


def test_every_problem_is_listed_one_per_line(example_repo, cli):
    _edit(example_repo, CHAT, "retries: 3", "retries: many")
    _edit(example_repo, "models/churn-scorer.yaml", "port: 8080", "port: http")
    err = _fails(cli, example_repo, "training.retries", "serving.port")
    assert len(err.strip().splitlines()) == 2


def test_duplicate_model_names(example_repo, cli):
    text = (example_repo / CHAT).read_text()
    (example_repo / "models/support-chat-copy.yaml").write_text(text)
    _fails(cli, example_repo, "duplicate model name 'support-chat' (also in models/support-chat-copy.yaml)")


def test_alias_bomb_is_refused(example_repo, cli):
    bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(6))
    (example_repo / "models/bomb.yaml").write_text(bomb)
    _fails(cli, example_repo, "models/bomb.yaml:1:1: document expands to more than")


def test_environment_errors_are_located(example_repo, cli):
    _edit(example_repo, "environments/prod/environment.yaml", "quota: 128", "quota: lots")
    _fails(cli, example_repo, "environments/prod/environment.yaml:", "gpus.quota: expected an integer, got 'lots'")


@pytest.mark.parametrize(("old", "new", "message"), [
    # a Prometheus rule label the API server refuses (it passed `check`; Argo CD's sync failed)
    ("release: kube-prometheus-stack", "release: kube prometheus stack",
     "serving.monitoring.ruleLabels.release: 'kube prometheus stack' is not a label value"),
    ("release: kube-prometheus-stack", "prometheus stack: kube-prometheus-stack",
     "serving.monitoring.ruleLabels: 'prometheus stack' is not a label key"),
    # the GPU nodes a type selects: a pod with such a nodeSelector is refused at creation
    ("  quota: 128\n", "  quota: 128\n  nodeSelectors:\n    nvidia-l4: {nvidia.com/gpu.product: NVIDIA L4}\n",
     "gpus.nodeSelectors.nvidia-l4.nvidia.com/gpu.product: 'NVIDIA L4' is not a label value"),
    ("  quota: 128\n", "  quota: 128\ngpuTypes:\n  nvidia-l40s: {product: NVIDIA L40S, memoryGiB: 48}\n",
     "gpuTypes.nvidia-l40s.product: 'NVIDIA L40S' is not a label value"),
])
def test_labels_an_environment_sets_are_what_the_api_server_accepts(example_repo, cli, old, new, message):
    _edit(example_repo, "environments/prod/environment.yaml", old, new)
    err = _fails(cli, example_repo, "environments/prod/environment.yaml:", message)
    # one line: the specs that name `prod` are not also reported as naming a missing environment
    assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("name", ["PORT", "MODEL_URI"])
def test_an_env_var_modelops_sets_is_refused_at_the_spec(example_repo, cli, name):
    """The chart refused these after render, at a rendered values file, as "'not' failed"."""
    _edit(example_repo, "models/churn-scorer.yaml", "{name: LOG_LEVEL, value: info}", f"{{name: {name}, value: x}}")
    err = _fails(cli, example_repo, f"models/churn-scorer.yaml:{_line_of(example_repo, 'models/churn-scorer.yaml', name)}:",
                 f"serving.env[0].name: {name} is set by modelops from serving.")
    assert len(err.strip().splitlines()) == 1


def test_custom_runtime_needs_port_and_health_path(example_repo, cli):
    _edit(example_repo, "models/churn-scorer.yaml", "  healthPath: /healthz\n", "")
    _fails(cli, example_repo, "runtime 'custom' needs serving.healthPath")


def test_yaml_11_booleans_stay_strings(example_repo, cli):
    _edit(example_repo, "models/churn-scorer.yaml", "value: info", "value: yes")
    code, _, err = cli("-C", str(example_repo), "render")
    assert code == 0, err
    values = (example_repo / "environments/dev/churn-scorer/serving/values.yaml").read_text()
    assert "value: 'yes'" in values


def test_injected_yaml_structure_stays_a_string(example_repo, cli):
    """A value with a newline and `privileged: true` must not become YAML structure."""
    import yaml

    payload = 'info\\nprivileged: true\\nsecurityContext: {privileged: true}'
    _edit(example_repo, "models/churn-scorer.yaml", "value: info", f'value: "{payload}"')
    code, _, err = cli("-C", str(example_repo), "render")
    assert code == 0, err
    values = yaml.safe_load((example_repo / "environments/dev/churn-scorer/serving/values.yaml").read_text().split("\n", 1)[1])
    assert values["env"] == [{"name": "LOG_LEVEL", "value": "info\nprivileged: true\nsecurityContext: {privileged: true}"}]
    assert "privileged" not in values
    from tests.chart_helpers import render_chart

    for obj in render_chart(values):
        if obj["kind"] == "Deployment":
            container = obj["spec"]["template"]["spec"]["containers"][0]
            assert "privileged" not in container.get("securityContext", {})
            assert {"name": "LOG_LEVEL", "value": "info\nprivileged: true\nsecurityContext: {privileged: true}"} in container["env"]


def test_injection_through_description_and_args(example_repo, cli):
    import yaml

    _edit(example_repo, "models/shelf-vision.yaml", 'args: ["--epochs", "30"]',
          'args: ["--epochs", "30\\n      privileged: true", "{{ 7*7 }}"]')
    code, _, err = cli("-C", str(example_repo), "render")
    assert code == 0, err
    doc = yaml.safe_load((example_repo / "environments/dev/shelf-vision/training/workflowtemplate.yaml").read_text())
    container = doc["spec"]["templates"][0]["container"]
    assert container["args"][-2:] == ["30\n      privileged: true", "{{ 7*7 }}"]
    assert "privileged" not in container["securityContext"]


def test_specs_parsed_ahead_in_processes_load_and_fail_exactly_as_serial(example_repo, monkeypatch):
    """A fresh clone of a large repository parses its specs in worker processes; the result,
    positions and every error line must be what parsing here gives."""
    import os

    from generator.errors import SpecError
    from generator.spec import load

    if (os.cpu_count() or 1) < 2:
        pytest.skip("parsing ahead needs two CPUs")

    def loaded() -> dict:
        repo = load.load_repository(example_repo)
        return {name: (spec.data, spec.located.positions, spec.located.key_positions)
                for name, spec in repo.models.items()}

    def problems() -> list:
        with pytest.raises(SpecError) as error:
            load.load_repository(example_repo)
        return error.value.problems

    serial = loaded()
    monkeypatch.setattr(load, "PARSE_AHEAD_MIN", 1)
    files = [(path, f"models/{path.name}") for path in sorted((example_repo / "models").glob("*.yaml"))]
    assert len(load._parse_ahead(files, None)) == 3  # the processes ran (no silent fallback)
    assert loaded() == serial and len(serial) == 3
    spec = example_repo / "models/churn-scorer.yaml"
    spec.write_text(spec.read_text().replace("replicas:", "replicaz:", 1))
    ahead = problems()
    monkeypatch.setattr(load, "PARSE_AHEAD_MIN", 10**9)
    assert problems() == ahead and ahead and ahead[0].file == "models/churn-scorer.yaml"


def _renamed(repo, model, new_name):
    """The example spec `model` under `new_name` (a spec's file is named after it)."""
    text = (repo / f"models/{model}.yaml").read_text().replace(f"name: {model}\n", f"name: {new_name}\n", 1)
    (repo / f"models/{model}.yaml").unlink()
    (repo / f"models/{new_name}.yaml").write_text(text)
    return f"models/{new_name}.yaml"


def test_a_serving_model_named_with_a_leading_digit_is_refused_at_its_name(example_repo, cli):
    """KServe's webhook refuses an InferenceService named `3d-...` and the chart's Service
    is a DNS-1035 label: `check` passed the KServe environment green, and the chart
    target failed later, in a rendered values file, without the spec's line."""
    spec = _renamed(example_repo, "shelf-vision", "3d-shelf-vision")
    err = _fails(cli, example_repo, f"{spec}:{_line_of(example_repo, spec, 'name: 3d-shelf-vision')}:9: "
                 "metadata.name: '3d-shelf-vision' starts with a digit")
    assert len(err.strip().splitlines()) == 1
    code, _, err = cli("-C", str(example_repo), "check", "--model", "3d-shelf-vision", "--env", "dev")
    assert code == 2 and "starts with a digit" in err


def _training_only(repo, name):
    """support-chat (2-node training, weekly) under `name`, without serving."""
    spec = _renamed(repo, "support-chat", name)
    text = (repo / spec).read_text()
    start, end = text.index("serving:\n  runtime"), text.index("# Only what differs")
    text = text[:start] + text[end:]
    text = text.replace("  prod:\n    serving:\n      replicas: {min: 3, max: 12}\n", "")
    (repo / spec).write_text(text[:text.index("promotion:")])
    return spec


def test_a_single_node_training_only_model_may_start_with_a_digit(example_repo, cli):
    """Workflows and checkpoints take DNS-1123 names: a single-node trainer needs no letter first."""
    spec = _training_only(example_repo, "3d-support-chat")
    _edit(example_repo, spec, "perNode: 8, nodes: 2}", "perNode: 8, nodes: 1}")
    code, out, err = cli("-C", str(example_repo), "render")
    assert code == 0, out + err
    assert (example_repo / "environments/dev/3d-support-chat").is_dir()


def test_multi_node_training_needs_a_letter_first(example_repo, cli):
    """JobSet's webhook holds its Jobs' and pods' names, `<run>-workers-0-<i>-...`, to DNS-1035."""
    _training_only(example_repo, "3d-support-chat")
    _fails(cli, example_repo, "metadata.name: '3d-support-chat' starts with a digit: its training JobSet's Jobs "
                              "and pods are named after the model")


@pytest.mark.parametrize(("name", "nodes", "refused"), [
    ("customer-support-assist", "2", False),  # 23 + 20 + 18 = 61 characters
    ("customer-support-assistant", "2", True),  # 64: JobSet refuses it
    ("customer-support-assistan", "12", True),  # a two-digit last index: 64
])
def test_a_scheduled_multi_node_model_name_fits_the_pod_names_jobset_makes(example_repo, cli, name, nodes, refused):
    """Each run's JobSet is named after its Workflow (`<model>-training-<unix time>` from the
    CronWorkflow) and its pods `<jobset>-workers-0-<index>-<5>`: past 63 characters JobSet's
    webhook refuses the JobSet in the middle of the run, where `check` had passed."""
    spec = _renamed(example_repo, "support-chat", name)
    _edit(example_repo, spec, "perNode: 8, nodes: 2}", f"perNode: 8, nodes: {nodes}}}")
    if not refused:
        code, out, err = cli("-C", str(example_repo), "render")
        assert code == 0, out + err
        return
    err = _fails(cli, example_repo, f"{spec}:{_line_of(example_repo, spec, 'name: ' + name)}:9: metadata.name: "
                                    f"'{name}' is too long for {nodes}-node training on a schedule")
    assert "(64 characters)" in err and f"use at most {len(name) - 1} characters" in err
    assert len(err.strip().splitlines()) == 1  # one line, whatever the number of environments
