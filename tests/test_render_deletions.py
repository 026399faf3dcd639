"""Issue 15, item 11: removing a model where Argo CD does not prune says what is left to do."""
from __future__ import annotations

from pathlib import Path


def test_removed_model_in_a_non_pruning_environment(example_repo: Path, cli) -> None:
    (example_repo / "models/churn-scorer.yaml").unlink()
    code, out, err = cli("-q", "-C", str(example_repo), "render")
    assert code == 0 and out == ""
    notes = err.splitlines()
    assert notes == [(f"modelops: note: prod does not prune: Argo CD keeps Application prod-churn-scorer-{app} "
                      f"(from environments/prod/churn-scorer/app-{app}.yaml) and everything it deployed running "
                      "after this render; to finish removing it, run "
                      f"`argocd app delete prod-churn-scorer-{app} --cascade`") for app in ("monitoring", "serving")]
    assert not (example_repo / "environments/prod/churn-scorer").exists()


def test_pruning_environments_need_no_note(example_repo: Path, cli) -> None:
    prod = example_repo / "environments/prod/environment.yaml"
    prod.write_text(prod.read_text().replace("  prune: false", "  prune: true"))
    assert cli("-q", "-C", str(example_repo), "render")[0] == 0
    (example_repo / "models/churn-scorer.yaml").unlink()
    assert cli("-q", "-C", str(example_repo), "render") == (0, "", "")


def test_readme_explains_deletion() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Removing a model"):]
    assert "prune" in section and "argocd app delete" in section and "--cascade" in section
