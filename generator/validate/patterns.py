"""`pattern` as the API server reads it: Go's regexp, RE2 syntax.

python-jsonschema matches patterns with Python's `re`, which refuses inline flags past the
start of a pattern (`^(?i)(abort|warn)?$`, prometheus-operator's PrometheusRule) and
differs from Go in other corners. The API server compiles CRD patterns with Go's regexp,
so the readable validators match them with RE2, Google's library of the same syntax.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import jsonschema
import re2

__all__ = ["CrdValidator", "KubernetesValidator"]


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # an invalid pattern is reported once, as a violation
    return options


_OPTIONS = _options()


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, _OPTIONS)


def _pattern(validator: Any, pattern: str, instance: Any, _schema: Any) -> Iterator[jsonschema.ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    try:
        compiled = _compiled(pattern)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        yield jsonschema.ValidationError(f"the schema's pattern {pattern!r} is not a valid RE2 expression: {reason}")
        return
    if compiled.search(instance) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


CrdValidator = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": _pattern})
KubernetesValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})
