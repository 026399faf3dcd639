"""Plain-file templates for `modelops init` and `modelops new`, and the one way to fill them.

Templates are ordinary files under this folder with `@@name@@` placeholders: a syntax that
YAML, shell, GitHub's `${{ }}` expressions and Rego never use, so the files read as what
they produce. Values are substituted as text; callers quote user input with `yaml_scalar`
(a JSON string is a valid double-quoted YAML scalar), so a value such as `x"\\nkey: y`
stays one string instead of becoming YAML structure.
"""
from __future__ import annotations

import json
import string
from pathlib import Path

__all__ = ["SCAFFOLD_ROOT", "PLACEHOLDER_REPO_URL", "PLACEHOLDER_DIGEST", "template_text", "fill", "yaml_scalar"]

SCAFFOLD_ROOT = Path(__file__).resolve().parent
# Written where the user has not said yet; `check` flags both (generator/check/placeholders.py).
PLACEHOLDER_REPO_URL = "https://git.example.com/platform/ml-gitops.git"
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64


class _Template(string.Template):
    delimiter = "@@"
    # Only the braced form, `@@name@@`; the other groups string.Template requires never match.
    pattern = r"@@(?:(?P<escaped>(?!))|(?P<named>(?!))|(?P<braced>[a-z][a-z0-9_]*)@@|(?P<invalid>(?!)))"  # type: ignore[assignment]  # a str, compiled by Template


def template_text(relative: str) -> str:
    return (SCAFFOLD_ROOT / relative).read_text(encoding="utf-8")


def fill(relative: str, values: dict[str, str]) -> str:
    """The template with every placeholder replaced; a missing value is a bug (KeyError)."""
    return _Template(template_text(relative)).substitute(values)


def yaml_scalar(value: str | int | bool | None) -> str:
    """`value` as a YAML flow scalar that can only ever be read back as itself."""
    return json.dumps(value, ensure_ascii=True)
