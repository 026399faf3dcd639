"""Edit a model spec in place with ruamel.yaml round-trip, so comments, key order and
formatting survive; only the lines of the changed release differ afterwards."""
from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from generator.errors import ModelopsError

__all__ = ["set_release"]

RELEASE_KEYS = ("image", "trainingImage", "modelUri", "modelVersion", "chartRevision")


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _indent_of(text: str) -> tuple[int, int]:
    """(mapping, sequence offset) the file already uses, so the dump matches its style."""
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if stripped.startswith("- ") and line.startswith(" "):
            return 2, len(line) - len(stripped)
    return 2, 2


def set_release(text: str, env: str, release: dict[str, Any], *, file: str) -> str:
    """`text` with `releases.<env>` set to `release` (keys in RELEASE_KEYS order)."""
    yaml = _yaml()
    mapping, offset = _indent_of(text)
    yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    try:
        data = yaml.load(text)
    except Exception as error:  # noqa: BLE001 - any parse failure is a user-facing error here
        raise ModelopsError(f"{file}: cannot edit: {error}") from None
    if not isinstance(data, CommentedMap):
        raise ModelopsError(f"{file}: expected a mapping")
    releases = data.get("releases")
    if releases is None:
        releases = CommentedMap()
        data["releases"] = releases
    current = releases.get(env)
    if current is None:
        current = CommentedMap()
        releases[env] = current
    for key in RELEASE_KEYS:
        if key in release:
            current[key] = release[key]
        elif key in current:
            del current[key]
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()
