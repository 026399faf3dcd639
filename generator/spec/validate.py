"""Schema errors rendered for people: `file:line:col: field.path: message`, one per problem.

jsonschema's own messages dump whole instances; ours name the field, what was expected
and, for unknown keys, the closest known one.
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

from generator.errors import Problem
from generator.spec.schema import ANY_LABEL_VALUE, DNS_LABEL, DURATION, LABEL_KEY, LABEL_VALUE, URI
from generator.yamlio import Located

__all__ = ["schema_problems", "did_you_mean"]

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
               "object": "a mapping", "array": "a list", "null": "null"}
_LABEL_VALUE_HINT = ("a label value (letters, digits, '.', '_' and '-', starting and ending with a letter or digit, "
                     "at most 63 characters)")
_PATTERN_HINTS = {
    DNS_LABEL: "a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit, "
               "at most 63 characters)",
    LABEL_VALUE: _LABEL_VALUE_HINT,
    ANY_LABEL_VALUE: _LABEL_VALUE_HINT,
    LABEL_KEY: "a label key (an optional DNS subdomain and '/', then a name of letters, digits, '.', '_' and '-' "
               "starting and ending with a letter or digit, at most 63 characters)",
    DURATION: "a duration such as 12h, 90m or 1h30m",
    URI: "a URI such as s3://bucket/path",
}


def _similarity(word: str, choice: str) -> float:
    """difflib's ratio, plus credit for a shared start and more for a name that begins with
    all of `word`: `nvidia-h100` is closer to `nvidia-h100-80gb` than to `nvidia-a10g`,
    which shares as many characters."""
    word, choice = word.lower(), choice.lower()
    prefix = len(os.path.commonprefix([word, choice]))
    completes = 0.5 if choice.startswith(word) else 0.0
    return difflib.SequenceMatcher(None, word, choice).ratio() + 0.5 * prefix / max(len(word), 1) + completes


def rank_similar(word: str, choices: list[str], cutoff: float = 0.6) -> list[str]:
    """`choices` close to `word`, most similar first (ties by name)."""
    scored = [(_similarity(word, c), c) for c in choices]
    return [c for score, c in sorted(scored, key=lambda sc: (-sc[0], sc[1]))
            if score >= cutoff + 0.25 or difflib.SequenceMatcher(None, word, c).ratio() >= cutoff]


def did_you_mean(word: str, choices: list[str]) -> str:
    match = rank_similar(word, choices)
    return f" (did you mean '{match[0]}'?)" if match else ""


@lru_cache(maxsize=8)
def _validator(schema_id: str, schema_json: str) -> jsonschema.Draft7Validator:
    import json

    import jsonschema  # on first use: a check answered from the spec cache never needs it

    return jsonschema.Draft7Validator(json.loads(schema_json))


@lru_cache(maxsize=8)
def _compiled(schema_id: str, schema_json: str) -> Any:
    """The same schema compiled by jsonschema-rs: a valid spec (nearly all of them) is
    answered without python-jsonschema's walk, about 2.5 ms a spec; formats stay
    annotations, as they are for `_validator`."""
    import json

    import jsonschema_rs

    return jsonschema_rs.Draft7Validator(json.loads(schema_json), validate_formats=False)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _messages(error: jsonschema.ValidationError) -> Iterator[tuple[tuple, str, bool]]:
    """(path, message, at_key) for one jsonschema error."""
    path = tuple(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = sorted(error.schema.get("properties", {}))
        for key in sorted(set(error.instance) - set(known)):
            hint = did_you_mean(key, known) or (f"; known fields: {', '.join(known)}" if known else "")
            yield path + (key,), f"unknown field '{key}'{hint}", True
    elif kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield path, f"missing required field '{missing}'", False
    elif kind == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        wanted = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in expected)
        yield path, f"expected {wanted}, got {_describe(error.instance)}", False
    elif kind in ("enum", "const"):
        options = error.validator_value if kind == "enum" else [error.validator_value]
        hint = did_you_mean(str(error.instance), [str(o) for o in options])
        yield path, f"must be one of {', '.join(map(str, options))}, got {_describe(error.instance)}{hint}", False
    elif kind == "pattern":
        hint = _PATTERN_HINTS.get(error.validator_value, f"matching {error.validator_value}")
        yield path, f"{_describe(error.instance)} is not {hint}", False
    elif kind in ("minimum", "maximum"):
        relation = ">=" if kind == "minimum" else "<="
        noun = "a positive integer" if kind == "minimum" and error.validator_value == 1 else f"{relation} {error.validator_value}"
        yield path, f"must be {noun}, got {_describe(error.instance)}", False
    elif kind == "minLength":
        yield path, "must not be empty", False
    elif kind == "maxLength":
        yield path, f"must be at most {error.validator_value} characters", False
    elif kind == "propertyNames":
        yield path, f"{error.message}", False
    else:
        yield path, error.message, False


_SCHEMA_TEXTS: dict[int, tuple[dict[str, Any], str]] = {}


def _schema_text(schema: dict[str, Any]) -> str:
    """The schema as canonical JSON, the compiled validators' cache key; computed once per
    schema object (the schemas are module constants; the entry keeps the object alive, so
    its id is never reused)."""
    import json

    entry = _SCHEMA_TEXTS.get(id(schema))
    if entry is None or entry[0] is not schema:
        entry = _SCHEMA_TEXTS[id(schema)] = (schema, json.dumps(schema, sort_keys=True))
    return entry[1]


def schema_problems(located: Located, schema: dict[str, Any]) -> list[Problem]:
    schema_json = _schema_text(schema)
    if _compiled(schema.get("$id", ""), schema_json).is_valid(located.data):
        return []
    validator = _validator(schema.get("$id", ""), schema_json)  # its errors carry the paths and wording we show
    problems = []
    for error in validator.iter_errors(located.data):
        if error.validator == "propertyNames" and error.context:
            # Report the bad key itself, at the key's position.
            for sub in error.context:
                bad = sub.instance
                problems.append(located.problem(tuple(error.absolute_path) + (bad,),
                                                f"'{bad}' is not {_PATTERN_HINTS.get(sub.validator_value, 'a valid name')}",
                                                at_key=True))
            continue
        for path, message, at_key in _messages(error):
            problems.append(located.problem(path, message, at_key=at_key))
    return problems
