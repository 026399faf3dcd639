"""The built-ins that Rego v0 had and OPA 1.x (and regorus) no longer ship.

The Gatekeeper library and older conftest policies still call them. An engine that lacks
one gets it here, registered as a custom built-in with v0's documented meaning, so those
policies run as written: nothing in their source is changed.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

__all__ = ["V0_BUILTINS"]


def _any(collection: Any) -> bool:
    return any(item is True for item in collection)


def _all(collection: Any) -> bool:
    return all(item is True for item in collection)


def _re_match(pattern: str, value: str) -> bool:
    return re.search(pattern, value) is not None


def _cidr_overlap(cidr: str, address: str) -> bool:
    return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)


def _set_diff(first: Any, second: Any) -> set[Any]:
    return set(first) - set(second)


def _cast_array(value: Any) -> list[Any]:
    return sorted(value) if isinstance(value, (set, frozenset)) else list(value)


def _checked(kind: type | tuple[type, ...], name: str) -> Callable[[Any], Any]:
    def cast(value: Any) -> Any:
        if not isinstance(value, kind):
            raise TypeError(f"{name}: operand 1 must be {name.removeprefix('cast_')}")
        return value
    return cast


# name -> (argument count, implementation), as OPA 0.x documented them
V0_BUILTINS: dict[str, tuple[int, Callable[..., Any]]] = {
    "any": (1, _any),
    "all": (1, _all),
    "re_match": (2, _re_match),
    "net.cidr_overlap": (2, _cidr_overlap),
    "set_diff": (2, _set_diff),
    "cast_array": (1, _cast_array),
    "cast_set": (1, lambda value: set(value)),
    "cast_string": (1, _checked(str, "cast_string")),
    "cast_boolean": (1, _checked(bool, "cast_boolean")),
    "cast_null": (1, _checked(type(None), "cast_null")),
    "cast_object": (1, _checked(dict, "cast_object")),
}
