"""`modelops status`: models x environments, the release in each, lagging environments marked;
with `--pull-requests`, the open releases, promotions and rollbacks read from the forge."""
from __future__ import annotations

import argparse
import json
import os
import sys

from generator.errors import ModelopsError
from generator.gitops.open_pulls import OpenChange, forge_for_status, open_changes
from generator.gitops.status import format_matrix, release_matrix
from generator.spec.load import Repository, load_repository

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", "-f", choices=["text", "json"], default="text", help="output format (default: text)")
    parser.add_argument("--live", action="store_true",
                        help="add Argo CD sync/health from the cluster (kubeconfig, or in-cluster config)")
    parser.add_argument("--kubeconfig", help="kubeconfig file for --live")
    parser.add_argument("--context", help="kubeconfig context for --live")
    parser.add_argument("--argocd-namespace", default=None, help="namespace of the Application objects "
                        "(default: each environment's argocd.namespace)")
    parser.add_argument("--pull-requests", action="store_true",
                        help="list open modelops pull requests (read from their provenance blocks on the forge)")
    parser.add_argument("--remote", default="origin", help="git remote whose forge holds the pull requests")
    parser.add_argument("--forge", choices=["github", "gitlab", "gitea"], help="forge type (default: from the remote)")
    parser.add_argument("--forge-url", default=os.environ.get("MODELOPS_FORGE_URL"),
                        help="forge web or API address (MODELOPS_FORGE_URL)")
    parser.add_argument("--repo", dest="repo_slug", metavar="OWNER/NAME", help="repository on the forge")


def _live_reader(args: argparse.Namespace, repo):
    from generator.cluster import application_status

    def read(model: str, env: str) -> dict[str, str]:
        environment = repo.environments[env]
        namespace = args.argocd_namespace or environment.data["argocd"].get("namespace", "argocd")
        name = f"{env}-{model}-serving" if repo.models[model].data.get("serving") else f"{env}-{model}-training"
        try:
            status = application_status(name, namespace=namespace, kubeconfig=args.kubeconfig, context=args.context)
        except ModelopsError as error:
            if "not found" not in str(error):
                raise  # unreachable cluster, no credentials: an error, not a blank matrix
            return {"sync": "Missing", "health": "Missing"}
        return {"sync": status.sync_status or "Unknown", "health": status.health_status or "Unknown",
                "revision": status.revision or ""}

    return read


def _pull_requests(args: argparse.Namespace) -> list[OpenChange]:
    if not args.pull_requests:
        return []
    forge = forge_for_status(args.repo_root, args.remote, args.forge, args.forge_url, args.repo_slug)
    return open_changes(forge)


def _format_open(changes: list[OpenChange]) -> str:
    if not changes:
        return "\nNo open modelops pull requests.\n"
    lines = ["", "Open pull requests:"]
    for c in changes:
        origin = f"from {c.source}" if c.kind == "promote" else c.kind
        policy = {True: "policy passed", False: "policy FAILED", None: "policy unknown"}[c.policy_passed]
        lines.append(f"  #{c.number} {c.model} {c.target}: {c.before} -> {c.after} ({origin}; {policy}) {c.url}")
    return "\n".join(lines) + "\n"


def _frozen(repo: Repository) -> dict[str, str]:
    """Environments inside a freeze window right now -> the window."""
    from datetime import UTC, datetime

    from generator.gitops.freeze import active_window, freeze_windows

    now = datetime.now(UTC)
    out = {}
    for name, environment in sorted(repo.environments.items()):
        window = active_window(freeze_windows(environment), now)
        if window is not None:
            out[name] = window.describe()
    return out


def run(args: argparse.Namespace) -> int:
    repo = load_repository(args.repo_root)
    matrix = release_matrix(repo, _live_reader(args, repo) if args.live else None)
    changes = _pull_requests(args)
    frozen = _frozen(repo)
    if args.format == "json":
        payload: dict[str, object] = {"environments": list(matrix.environments), "models": {
            model: {env: {"release": c.release, "label": c.label, "lagging": c.lagging, "source": c.source,
                          **({"live": c.live} if c.live else {})}
                    for env in matrix.environments for c in [matrix.cell(model, env)]}
            for model in matrix.models}}
        payload["frozen"] = frozen
        if args.pull_requests:
            payload["pullRequests"] = [{"number": c.number, "url": c.url, **c.record} for c in changes]
        sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(format_matrix(matrix) + "".join(f"{env}: frozen, window {window}\n"
                                                         for env, window in frozen.items())
                         + (_format_open(changes) if args.pull_requests else ""))
    return 0
