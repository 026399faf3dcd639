"""Rego engines behind one small protocol, chosen by name (`--engine`, `.modelops.yaml`).

A plain registry, the way forges and report formats are: name -> module and class. An
engine module is imported only when chosen, so an optional engine that is not installed
costs nothing until it is asked for, and then says how to install it.
"""
from __future__ import annotations

import importlib
from typing import Any

from generator.policy import PolicyError
from generator.policy.engines.base import Engine, Outcome

__all__ = ["ENGINES", "DEFAULT_ENGINE", "Engine", "Outcome", "create_engine", "installed_engines",
           "engine_label"]

DEFAULT_ENGINE = "regorus"

# name -> (module, class, how to install it when missing)
ENGINES: dict[str, tuple[str, str, str]] = {
    "regorus": ("generator.policy.engines.regorus_engine", "RegorusEngine",
                "pip install gordon-to-regorus (a dependency of modelops: reinstall modelops)"),
    "opa": ("generator.policy.engines.opa_engine", "OpaInProcessEngine",
            ("pip install 'modelops-gitops[opa]' on Python >= 3.14, or "
            "pip install --ignore-requires-python opa-golib-python-bindings on 3.11-3.13")),
    "opa-server": ("generator.policy.engines.opa_server", "OpaServerEngine",
                   "give the server with --opa-url URL"),
}


def engine_class(name: str) -> type[Any]:
    """The class of engine `name`; a clear PolicyError when unknown or not installed."""
    if name not in ENGINES:
        raise PolicyError(f"unknown policy engine {name!r}; choose one of {', '.join(ENGINES)}")
    module_name, class_name, install = ENGINES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise PolicyError(f"policy engine {name!r} is not installed ({error}); {install}") from error
    return getattr(module, class_name)  # type: ignore[no-any-return]


def create_engine(name: str = DEFAULT_ENGINE, **options: Any) -> Engine:
    """A new, empty engine of kind `name` (options: `url`, `token`, `timeout` for opa-server)."""
    engine: Engine = engine_class(name)(**options)
    return engine


def engine_label(name: str, options: dict[str, Any] | None = None) -> str:
    """`name version` of an engine, without starting it (`name (not installed)` when it
    cannot be imported); a server is named by its address, never its token."""
    if name == "opa-server":
        options = options or {}
        scheme = "https" if options.get("ssl") else "http"
        return f"opa-server at {scheme}://{options.get('host', 'localhost')}:{options.get('port', 8181)}"
    try:
        return f"{name} {engine_class(name)().version()}"
    except PolicyError:
        return f"{name} (not installed)"


def installed_engines(*, include_remote: bool = False) -> list[str]:
    """Names of the engines that can run here (opa-server only with `include_remote`)."""
    found = []
    for name in ENGINES:
        if name == "opa-server" and not include_remote:
            continue
        try:
            engine_class(name)
        except PolicyError:
            continue
        found.append(name)
    return found
