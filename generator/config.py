"""`.modelops.yaml`: repository-level settings, all optional.

```yaml
policies: [policies]        # folders that extend the built-in library (repo-relative)
builtinPolicies: true       # load the built-in library too
failOn: deny                # default for `check --fail-on`
kubernetesVersion: "1.33"   # default schema version (else each environment's own)
waivers: waivers.yaml
engine: regorus             # Rego engine: regorus (default), opa (in-process), opa-server
allowNetwork: false         # let policies call http.send and other network built-ins
```
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import Problem, SpecError
from generator.spec.validate import schema_problems
from generator.yamlio import load_located

__all__ = ["Config", "config_problem", "load_config", "CONFIG_FILE", "CONFIG_SCHEMA"]

CONFIG_FILE = ".modelops.yaml"
CONFIG_SCHEMA = {
    "$id": "https://modelops.dev/schemas/config-v1.json",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "policies": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "builtinPolicies": {"type": "boolean"},
        "failOn": {"enum": ["warn", "deny"]},
        "kubernetesVersion": {"type": "string", "pattern": r"^1\.[0-9]+$"},
        "waivers": {"type": "string", "minLength": 1},
        "gatekeeper": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "schemaDirs": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "engine": {"enum": ["regorus", "opa", "opa-server"]},
        "allowNetwork": {"type": "boolean"},
    },
}


@dataclass(frozen=True)
class Config:
    policies: tuple[str, ...] = ("policies",)
    builtin_policies: bool = True
    fail_on: str = "deny"
    kubernetes_version: str | None = None
    waivers: str = "waivers.yaml"
    gatekeeper: tuple[str, ...] = ()
    schema_dirs: tuple[str, ...] = field(default_factory=tuple)
    engine: str | None = None
    allow_network: bool = False


def load_config(root: Path) -> Config:
    path = root / CONFIG_FILE
    if not path.is_file():
        return Config()
    documents = [d for d in load_located(path.read_text(encoding="utf-8"), CONFIG_FILE) if d.data is not None]
    if not documents:
        return Config()
    located = documents[0]
    if not isinstance(located.data, dict):
        raise SpecError([Problem(CONFIG_FILE, 1, 1, "", "expected a mapping")])
    problems = schema_problems(located, CONFIG_SCHEMA)
    if problems:
        raise SpecError(problems)
    data = located.data
    return Config(policies=tuple(data.get("policies", ("policies",))), builtin_policies=data.get("builtinPolicies", True),
                  fail_on=data.get("failOn", "deny"), kubernetes_version=data.get("kubernetesVersion"),
                  waivers=data.get("waivers", "waivers.yaml"), gatekeeper=tuple(data.get("gatekeeper", ())),
                  schema_dirs=tuple(data.get("schemaDirs", ())), engine=data.get("engine"),
                  allow_network=bool(data.get("allowNetwork", False)))


def config_problem(root: Path, path: tuple[str | int, ...], message: str) -> Problem:
    """A problem with a value of `.modelops.yaml` that its schema allows (found later, by
    the command that uses it), placed at the value's line."""
    documents = [d for d in load_located((root / CONFIG_FILE).read_text(encoding="utf-8"), CONFIG_FILE)
                 if d.data is not None]
    return documents[0].problem(path, message) if documents else Problem(CONFIG_FILE, 0, 0, "", message)
