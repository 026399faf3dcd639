"""Canary rollouts and `promote --live` gated on a real Prometheus (Debian's binary on
127.0.0.1) scraping vLLM-shaped fixture servers; real git (bare remote over file://),
the forge emulator and the Kubernetes API emulator for Argo CD's Application status."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from generator.gitops.live_metrics import live_metrics
from generator.spec.load import load_repository
from tests.conftest import copy_example
from tests.emulators.forge import ForgeEmulator
from tests.lifecycle_helpers import repo_with_remote
from tests.prometheus_fixture import ModelServer, prometheus, scrape_history, wait_for_history, wait_for_series
from tests.test_promote import REPO, TOKEN, bump_dev, git

# The gate asks for the worst value over a subquery ([2m:4s] here) whose steps are aligned to
# multiples of the step. Right after the fixture started, two scrapes could both fall after
# the last aligned step: a fast CI runner reached the first gate within three seconds of the
# first scrape, and the healthy version failed with "no data" (the scrape history in the
# failure showed three samples). So the fixture waits for a rate window plus a step of
# history, and the two-minute soak keeps every scrape since the fixture started in view.
SOAK = "2m"
WINDOW = "5s"  # five one-second scrapes per rate window: a late or missed scrape still leaves two


@pytest.fixture(scope="module")
def metrics(tmp_path_factory):
    """Prometheus scraping a healthy server (version 8) and one failing 30% of requests (version 9),
    each seen as support-chat in dev and in staging."""
    good = ModelServer(error_fraction=0.0, latency=0.2)
    bad = ModelServer(error_fraction=0.3, latency=0.2)
    try:
        def labels(env: str, version: str) -> dict[str, str]:
            return {"modelops_dev_model": "support-chat", "modelops_dev_environment": env,
                    "app_kubernetes_io_version": version}
        targets = [(good.port, labels(e, "8")) for e in ("dev", "staging")] + \
                  [(bad.port, labels(e, "9")) for e in ("dev", "staging")]
        with prometheus(tmp_path_factory.mktemp("prometheus"), targets) as url:
            wait_for_series(url, f'rate(http_requests_total{{status="5xx"}}[{WINDOW}])', 4)
            wait_for_history(url, 4, seconds=12)  # a 5 s window and a 4 s step, with room to spare
            yield url
    finally:
        good.stop()
        bad.stop()


@pytest.fixture
def forge():
    with ForgeEmulator(token=TOKEN, repos=(REPO,)) as server:
        yield server


def _tune(work: Path) -> None:
    """support-chat on KServe in staging, soaked for seconds instead of half an hour."""
    spec = work / "models/support-chat.yaml"
    text = spec.read_text().replace("  soak: 30m\n", f"  soak: {SOAK}\n")
    text = text.replace("  prod:\n    serving:\n      replicas: {min: 3, max: 12}\n",
                        "  staging:\n    serving:\n      target: kserve\n"
                        "  prod:\n    serving:\n      replicas: {min: 3, max: 12}\n")
    spec.write_text(text)
    for env in ("dev", "staging"):
        path = work / f"environments/{env}/environment.yaml"
        path.write_text(path.read_text().replace("    window: 5m\n", f"    window: {WINDOW}\n"))


@pytest.fixture
def setup(tmp_path, monkeypatch, metrics, cli):
    remote = tmp_path / "remote.git"
    work = copy_example(tmp_path / "work")
    _tune(work)
    assert cli("-C", str(work), "render")[0] == 0
    repo_with_remote(work, remote)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("MODELOPS_PROMETHEUS_URL", metrics)
    return work, remote


def explain(out: str, err: str) -> str:
    """A gated command's output and what Prometheus saw of the fixture servers, for a failure message."""
    return f"{out}{err}\n{scrape_history(os.environ['MODELOPS_PROMETHEUS_URL'])}"


def forge_args(forge) -> tuple[str, ...]:
    return ("--forge", "github", "--forge-url", forge.url + "/api/v3", "--repo", REPO)


def merge(work: Path, remote: Path, branch: str) -> None:
    """Merge a pull request the way a reviewer would: its branch fast-forwards main."""
    git(work, "fetch", "--quiet", "origin", branch)
    git(work, "merge", "--quiet", "--ff-only", "FETCH_HEAD")
    git(work, "push", "--quiet", "origin", "main")


def canary(work: Path) -> dict:
    return yaml.safe_load((work / "models/support-chat.yaml").read_text()).get("canaries", {}).get("staging", {})


def isvc(work: Path) -> dict:
    return yaml.safe_load((work / "environments/staging/support-chat/serving/inferenceservice.yaml").read_text())


@pytest.fixture
def kube(tmp_path, monkeypatch, setup):
    from tests.emulators.kube_api import (
        KubeApiEmulator,
        make_application,
        write_kubeconfig,
    )

    work, _ = setup
    with KubeApiEmulator(token="kube-token") as server:
        monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig", server.url, "kube-token")))
        def healthy() -> None:
            revision = git(work, "rev-parse", "HEAD")
            server.put_application(make_application("dev-support-chat-serving", revision=revision,
                                                    deployed_at="2026-01-01T00:00:00Z"))
        healthy()
        yield healthy


def test_canary_goes_10_50_100_through_prs_when_healthy(setup, forge, cli, kube):
    work, remote = setup
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", "--live", *forge_args(forge))
    assert code == 0, explain(out, err)
    assert "live metrics gate: support-chat in dev, version 8" in out and "error_rate = 0 " in out
    message = git(remote, "log", "-1", "--format=%B", "promote/support-chat/staging")
    assert "Modelops-Gate: live metrics gate: support-chat in dev, version 8" in message
    merge(work, remote, "promote/support-chat/staging")
    assert canary(work)["weight"] == 10 and canary(work)["modelVersion"] == "8"
    spec = yaml.safe_load((work / "models/support-chat.yaml").read_text())
    assert spec["releases"]["staging"]["modelVersion"] == "7"  # the previous release stays until complete
    code, out, _ = cli("-C", str(work), "status")
    assert code == 0 and "v7 + canary v8 @10%" in out
    predictor = isvc(work)["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 10 and predictor["model"]["storageUri"] == "s3://models/support-chat/v8/"
    assert predictor["labels"]["app.kubernetes.io/version"] == "8"

    for weight, branch in ((50, "rollout/support-chat/staging/50"), (None, "rollout/support-chat/staging/complete")):
        code, out, err = cli("-C", str(work), "rollout", "support-chat", "--env", "staging", *forge_args(forge))
        assert code == 0, explain(out, err)
        assert f"branch: {branch}" in out
        merge(work, remote, branch)
        if weight is not None:
            assert canary(work)["weight"] == weight and isvc(work)["spec"]["predictor"]["canaryTrafficPercent"] == weight
    assert canary(work) == {}
    spec = yaml.safe_load((work / "models/support-chat.yaml").read_text())
    assert spec["releases"]["staging"]["modelVersion"] == "8" and "canaries" not in spec
    assert "canaryTrafficPercent" not in isvc(work)["spec"]["predictor"]
    pulls = {p["head"]: p for p in forge.pulls("github", REPO)}
    assert set(pulls) == {"promote/support-chat/staging", "rollout/support-chat/staging/50",
                          "rollout/support-chat/staging/complete"}
    promotion = pulls["promote/support-chat/staging"]["body"]
    assert "- live metrics gate: support-chat in dev, version 8 over 2m" in promotion and "max_over_time" in promotion
    body = pulls["rollout/support-chat/staging/50"]["body"]
    assert "Live metrics: passed" in body and "max_over_time" in body and 'app_kubernetes_io_version="8"' in body
    message = git(remote, "log", "-1", "--format=%B", "rollout/support-chat/staging/complete")
    assert "Modelops-Gate: error_rate = 0 " in message and "Modelops-Rollout: complete 100" in message
    assert cli("-C", str(work), "render", "--check")[0] == 0


def _start_bad_canary(work: Path, remote: Path, cli, forge) -> None:
    bump_dev(work, cli, "9")
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", *forge_args(forge))
    assert code == 0, out + err
    merge(work, remote, "promote/support-chat/staging")
    assert canary(work)["modelVersion"] == "9" and canary(work)["weight"] == 10


def test_canary_aborts_to_the_previous_release_when_errors_cross_the_threshold(setup, forge, cli):
    work, remote = setup
    _start_bad_canary(work, remote, cli, forge)
    code, out, err = cli("-C", str(work), "rollout", "support-chat", "--env", "staging", *forge_args(forge))
    assert code == 1, explain(out, err)
    assert "abort (previous release restored)" in out and "error_rate = 0.3" in out and "FAILED" in out
    assert "branch: rollout/support-chat/staging/abort" in out
    merge(work, remote, "rollout/support-chat/staging/abort")
    spec = yaml.safe_load((work / "models/support-chat.yaml").read_text())
    assert "canaries" not in spec and spec["releases"]["staging"]["modelVersion"] == "7"
    predictor = isvc(work)["spec"]["predictor"]
    assert "canaryTrafficPercent" not in predictor
    assert predictor["model"]["storageUri"] == "s3://models/support-chat/v7/" and predictor["labels"]["app.kubernetes.io/version"] == "7"
    [pull] = [p for p in forge.pulls("github", REPO) if p["head"].endswith("/abort")]
    assert "Live metrics: FAILED" in pull["body"] and "**fail**" in pull["body"]


def test_promote_live_refuses_a_source_that_breaches_during_the_soak(setup, forge, cli, kube):
    work, remote = setup
    bump_dev(work, cli, "9")
    kube()
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging", "--live", *forge_args(forge))
    assert code == 2, explain(out, err)
    assert "live metrics gate failed: support-chat in dev, version 9" in err
    assert "error_rate = 0.3 (must be <= 0.05) FAILED: max_over_time((sum(rate(http_requests_total{" in err
    assert git(remote, "branch", "--list", "promote/*") == ""


def test_no_data_is_not_a_pass(setup, metrics):
    work, _ = setup
    verdict = live_metrics(load_repository(work), "support-chat", "staging", version="404", url=metrics)
    assert verdict is not None and not verdict.passed
    assert "no data" in verdict.reason()


def test_rollout_without_a_canary_is_one_clear_error(setup, cli):
    work, _ = setup
    code, _, err = cli("-C", str(work), "rollout", "support-chat", "--env", "staging", "--no-pr")
    assert code == 2 and "no canary of 'support-chat' is rolling out in 'staging'" in err


def test_chart_canary_in_prod_through_the_gateway_route(setup, forge, cli, monkeypatch):
    work, remote = setup
    code, out, err = cli("-C", str(work), "promote", "churn-scorer", "--to", "prod", *forge_args(forge))
    assert code == 0, out + err
    merge(work, remote, "promote/churn-scorer/prod")
    spec = yaml.safe_load((work / "models/churn-scorer.yaml").read_text())
    assert spec["canaries"]["prod"]["weight"] == 10 and spec["releases"]["prod"]["modelVersion"] == "2026.11.1"
    values = yaml.safe_load((work / "environments/prod/churn-scorer/serving/values.yaml").read_text())
    assert values["canary"] == {"enabled": True, "weight": 10, "image": spec["canaries"]["prod"]["image"],
                                "modelUri": "s3://models/churn-scorer/", "version": "2026.11.3", "gateway": "ml-gateway",
                                "gatewayNamespace": "gateway-system"}
    assert values["model"]["version"] == "2026.11.1"  # the stable Deployment keeps the previous release
    monkeypatch.setenv("MODELOPS_PROMETHEUS_URL", "http://127.0.0.1:9")  # an abort on request needs no gate
    code, out, err = cli("-C", str(work), "rollout", "churn-scorer", "--env", "prod", "--abort", "--dry-run")
    assert code == 0 and "dry run: would change models/churn-scorer.yaml" in out, out + err
    assert git(remote, "branch", "--list", "rollout/*") == ""
    code, out, err = cli("-C", str(work), "rollout", "churn-scorer", "--env", "prod", "--abort", *forge_args(forge))
    assert code == 0, out + err
    assert "abort requested" in out and "branch: rollout/churn-scorer/prod/abort" in out
    merge(work, remote, "rollout/churn-scorer/prod/abort")
    values = yaml.safe_load((work / "environments/prod/churn-scorer/serving/values.yaml").read_text())
    assert values["canary"]["enabled"] is False and values["model"]["version"] == "2026.11.1"
    spec = yaml.safe_load((work / "models/churn-scorer.yaml").read_text())
    assert "canaries" not in spec and spec["releases"]["prod"]["modelVersion"] == "2026.11.1"


def test_prometheus_errors_are_one_line_without_credentials(setup, metrics):
    from generator.errors import ModelopsError
    from generator.gitops.prometheus_gate import PrometheusClient

    with pytest.raises(ModelopsError, match=r"rejected the query 'sum\(rate\(x\[5m\]\)'") as raised:
        PrometheusClient(metrics.replace("http://", "http://alice:s3cret@")).query("sum(rate(x[5m])")
    assert "s3cret" not in str(raised.value) and "***@" in str(raised.value)
    with pytest.raises(ModelopsError, match="cannot query Prometheus at http://127.0.0.1:9"):
        PrometheusClient("http://127.0.0.1:9", timeout=2).query("up")


# A rollout step is a release change of kind "rollout": the promotion machinery's guarantees hold for it.
# `--abort` needs no gate, so these run without waiting on Prometheus.

def _canary_on_main(work: Path, remote: Path, cli, *, push: bool = True) -> None:
    """support-chat's canary in staging at 10%, promoted over the plain git remote (no forge)."""
    code, out, err = cli("-C", str(work), "promote", "support-chat", "--to", "staging")
    assert code == 0, out + err
    git(work, "fetch", "--quiet", "origin", "promote/support-chat/staging")
    git(work, "merge", "--quiet", "--ff-only", "FETCH_HEAD")
    if push:
        git(work, "push", "--quiet", "origin", "main")
    assert canary(work)["weight"] == 10


def test_a_step_over_a_plain_remote_is_a_modelops_commit_touching_only_canary_lines(setup, cli):
    work, remote = setup
    _canary_on_main(work, remote, cli)
    code, out, err = cli("-C", str(work), "rollout", "support-chat", "--env", "staging", "--abort")
    assert code == 0, out + err
    branch = "rollout/support-chat/staging/abort"
    assert f"branch: {branch}" in out and f"git request-pull main {remote.as_uri()} {branch}" in out
    who = git(remote, "log", "-1", "--format=%an <%ae>|%cn <%ce>", branch)
    assert who == "Test User <test@example.com>|modelops <modelops-bot@users.noreply.modelops.dev>"
    message = git(remote, "log", "-1", "--format=%B", branch)
    assert message.startswith("rollout(support-chat): staging abort 10% -> 0% (8)")
    for trailer in ("Modelops-Kind: rollout", "Modelops-Rollout: abort 0", "Modelops-ModelVersion: 7",
                    "Modelops-Promotion: support-chat/staging"):
        assert trailer in message.splitlines(), message
    diff = git(remote, "show", "--format=", "-U0", branch, "--", "models/support-chat.yaml")
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    promoted = git(remote, "show", "--format=", "-U0", "main", "--", "models/support-chat.yaml")
    added = [line[1:] for line in promoted.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert changed == [f"-{line}" for line in added]  # the abort takes out exactly what the promotion put in
    # Re-running finds its own branch and leaves it as it is.
    code, out, err = cli("-C", str(work), "rollout", "support-chat", "--env", "staging", "--abort")
    assert code == 0 and "up to date" in out, out + err


def test_a_step_respects_freeze_windows(setup, cli):
    from tests.test_freeze_rollback import add_windows, now_window

    work, remote = setup
    _canary_on_main(work, remote, cli)
    add_windows(work, "staging", now_window())
    git(work, "commit", "--quiet", "-am", "freeze staging")
    code, out, err = cli("-C", str(work), "rollout", "support-chat", "--env", "staging", "--abort")
    assert code == 1 and "REFUSED: freeze window" in out and "'year-end'" in out, out + err
    assert git(remote, "branch", "--list", "rollout/*") == ""
    code, out, err = cli("-C", str(work), "rollout", "support-chat", "--env", "staging", "--abort",
                         "--override-freeze", "--reason", "canary paging on-call")
    assert code == 0, out + err
    message = git(remote, "log", "-1", "--format=%B", "rollout/support-chat/staging/abort")
    assert "Modelops-Freeze-Override: year-end" in message and "Modelops-Override-Reason: canary paging on-call" in message


def test_a_step_planned_from_a_stale_checkout_is_refused(setup, cli):
    work, remote = setup
    _canary_on_main(work, remote, cli, push=False)  # the canary is in the checkout, not on origin/main
    code, _, err = cli("-C", str(work), "rollout", "support-chat", "--env", "staging", "--abort")
    assert code == 2 and "on origin/main is none, not the 10% (8) of your checkout; pull main" in err, err
    assert git(remote, "branch", "--list", "rollout/*") == ""


def test_a_step_never_overwrites_commits_modelops_did_not_make(setup, cli):
    work, remote = setup
    _canary_on_main(work, remote, cli)
    branch = "rollout/support-chat/staging/abort"
    git(work, "commit", "--quiet", "--allow-empty", "-m", "a reviewer's fixup")
    git(work, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
    git(work, "reset", "--quiet", "--hard", "HEAD~1")
    tip = git(remote, "rev-parse", branch)
    code, _, err = cli("-C", str(work), "rollout", "support-chat", "--env", "staging", "--abort")
    assert code == 2 and "that modelops did not make; refusing to overwrite it" in err, err
    assert git(remote, "rev-parse", branch) == tip


def test_the_pull_request_carries_the_step_in_its_provenance(setup, forge, cli):
    from generator.gitops.provenance import read_provenance

    work, remote = setup
    _canary_on_main(work, remote, cli)
    code, out, err = cli("-C", str(work), "rollout", "support-chat", "--env", "staging", "--abort", *forge_args(forge))
    assert code == 0 and "opened pull request" in out, out + err
    [pull] = [p for p in forge.pulls("github", REPO) if p["head"] == "rollout/support-chat/staging/abort"]
    record = read_provenance(pull["body"])
    assert record is not None and record["kind"] == "rollout" and record["target"] == "staging"
    assert record["rollout"] == {"action": "abort", "weightBefore": 10, "weightAfter": 0, "liveMetrics": None}
    assert record["before"]["modelVersion"] == "8" and record["after"]["modelVersion"] == "7"
    assert pull["title"] == "Abort canary of support-chat 8 in staging (back to 7)"
    assert "_No live metrics gate: abort requested._" in pull["body"]
