"""The machine-readable record every modelops pull request carries, and fitting bodies
into a forge's size limit.

The record is JSON inside an HTML comment (invisible when the body is rendered), so
`status` and the HTML report can list open promotions from the forge alone. It is put
first in the body: when a body must be cut to fit, the record survives.
"""
from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["BODY_LIMITS", "PROVENANCE_SCHEMA", "fit_body", "provenance_block", "read_provenance"]

PROVENANCE_SCHEMA = "modelops.dev/provenance/v1"
_OPEN, _CLOSE = "<!-- modelops:provenance", "-->"
_BLOCK = re.compile(r"<!-- modelops:provenance\s*\n(?P<json>.*?)\n-->", re.DOTALL)
# Characters a pull-request body may hold: GitHub 65,536; GitLab descriptions 1,048,576;
# Gitea stores a LONGTEXT but its UI and API get slow long before: 65,536 is kept there too.
BODY_LIMITS = {"github": 65_536, "gitlab": 1_048_576, "gitea": 65_536}


def provenance_block(record: dict[str, Any]) -> str:
    """The hidden block; `--` is escaped so no value can close the HTML comment early."""
    text = json.dumps({"schema": PROVENANCE_SCHEMA, **record}, sort_keys=True, separators=(",", ":"))
    safe = text.replace("--", "-\\u002d")
    return f"{_OPEN}\n{safe}\n{_CLOSE}"


def read_provenance(body: str) -> dict[str, Any] | None:
    """The record in a pull-request body, or None when there is none (or it is damaged)."""
    match = _BLOCK.search(body or "")
    if not match:
        return None
    try:
        record = json.loads(match["json"])
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("schema") == PROVENANCE_SCHEMA else None


def fit_body(parts: list[str], forge: str, *, hint: str) -> str:
    """Join `parts` (the first is never cut), truncating the rest to the forge's limit with a note."""
    limit = BODY_LIMITS.get(forge, 65_536)
    body = "\n".join(parts)
    if len(body) <= limit:
        return body
    note = (f"\n\n> **Truncated**: this description was cut to fit the {forge} limit of {limit:,} characters "
            f"({len(body):,} in full). {hint}\n")
    keep = limit - len(note) - len("\n</details>")
    cut = body[:keep]
    # Do not leave a half-open <details> or code fence: cut back to the last full line.
    last_line = cut.rfind("\n")
    cut = cut[:last_line] if last_line > len(parts[0]) else cut
    if cut.count("<details>") > cut.count("</details>"):
        cut += "\n</details>"
    return cut + note
