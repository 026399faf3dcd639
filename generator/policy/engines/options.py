"""The command-line options that choose an engine, the same on every command that runs Rego.

`--engine NAME` (else `.modelops.yaml`'s `engine:`, else regorus); `--opa-url URL` means
the `opa-server` engine at that URL, its bearer token from `OPA_TOKEN`; `--allow-network`
lets policies call network built-ins.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from generator.policy import PolicyError
from generator.policy.engines import DEFAULT_ENGINE, ENGINES

__all__ = ["EngineChoice", "add_engine_option", "engine_choice"]


@dataclass(frozen=True)
class EngineChoice:
    name: str = DEFAULT_ENGINE
    options: dict[str, Any] = field(default_factory=dict)
    allow_network: bool = False


def add_engine_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine", choices=list(ENGINES), default=None,
                        help=f"Rego engine (default: .modelops.yaml's engine, else {DEFAULT_ENGINE})")
    parser.add_argument("--opa-url", "--opa", dest="opa_url", metavar="URL",
                        help="evaluate on this OPA server (http(s)://host:port; token from OPA_TOKEN): "
                             "the opa-server engine")
    parser.add_argument("--allow-network", action="store_true", default=None,
                        help="let policies call network built-ins (http.send, net.lookup_ip_addr)")


def _server_options(url: str) -> dict[str, Any]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PolicyError(f"--opa-url {url}: expected http(s)://HOST:PORT")
    return {"host": parts.hostname, "port": parts.port or 8181, "ssl": parts.scheme == "https",
            "token": os.environ.get("OPA_TOKEN") or None}


def engine_choice(args: argparse.Namespace, *, configured: str | None = None,
                  configured_network: bool = False) -> EngineChoice:
    """The engine the command line and configuration ask for."""
    url = getattr(args, "opa_url", None)
    name = getattr(args, "engine", None) or ("opa-server" if url else configured) or DEFAULT_ENGINE
    if name == "opa-server" and not url:
        raise PolicyError("the opa-server engine needs --opa-url URL")
    if url and name != "opa-server":
        raise PolicyError(f"--opa-url evaluates on an OPA server; it cannot be combined with --engine {name}")
    allow = getattr(args, "allow_network", None)
    return EngineChoice(name=name, options=_server_options(url) if url else {},
                        allow_network=configured_network if allow is None else bool(allow))
