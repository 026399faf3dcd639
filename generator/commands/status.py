"""`modelops status`: models x environments, the release in each, lagging environments marked."""
from __future__ import annotations

import argparse
import json
import sys

from generator.errors import ModelopsError
from generator.gitops.status import format_matrix, release_matrix
from generator.spec.load import load_repository

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", "-f", choices=["text", "json"], default="text", help="output format (default: text)")
    parser.add_argument("--live", action="store_true",
                        help="add Argo CD sync/health from the cluster (kubeconfig, or in-cluster config)")
    parser.add_argument("--kubeconfig", help="kubeconfig file for --live")
    parser.add_argument("--context", help="kubeconfig context for --live")
    parser.add_argument("--argocd-namespace", default=None, help="namespace of the Application objects "
                        "(default: each environment's argocd.namespace)")


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


def run(args: argparse.Namespace) -> int:
    repo = load_repository(args.repo_root)
    matrix = release_matrix(repo, _live_reader(args, repo) if args.live else None)
    if args.format == "json":
        payload = {"environments": list(matrix.environments), "models": {
            model: {env: {"release": c.release, "label": c.label, "lagging": c.lagging, "source": c.source,
                          **({"live": c.live} if c.live else {})}
                    for env in matrix.environments for c in [matrix.cell(model, env)]}
            for model in matrix.models}}
        sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(format_matrix(matrix))
    return 0
