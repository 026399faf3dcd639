"""Rewrite Rego v0 modules to Rego v1, the way `opa fmt --v0-v1` does: a syntax upgrade.

Only an engine that reads v1 alone needs it (OPA 1.x, in-process or as a server), and
only for a module it rejects as v0; regorus reads v0 itself.

The rewrite works on tokens (strings, raw strings and comments are opaque, so braces
inside them cannot confuse it) and only ever edits text inside a line: it never adds or
removes a newline, so line numbers in compiler errors still point at the user's file.
"""
from __future__ import annotations

import re

from generator.policy.rego_tokens import CLOSERS as _CLOSERS
from generator.policy.rego_tokens import OPENERS as _OPENERS
from generator.policy.rego_tokens import Token, package_name, rule_definitions, rule_names, tokenize

# The token-level names stay importable from here, where callers have always found them.
__all__ = ["upgrade_to_v1", "is_v1", "tokenize", "Token", "package_name", "rule_names", "rule_definitions"]


def _imports(tokens: list[Token]) -> list[str]:
    """Dotted paths of every `import` statement (`rego.v1`, `future.keywords.if`, ...)."""
    found = []
    sig = [t for t in tokens if t.kind not in {"ws", "comment"}]
    for i, token in enumerate(sig):
        at_line_start = i == 0 or sig[i - 1].kind == "nl"
        if token.text == "import" and at_line_start:
            parts = []
            for nxt in sig[i + 1:]:
                if nxt.kind == "nl" or nxt.text == "as":
                    break
                parts.append(nxt.text)
            found.append("".join(parts))
    return found


def is_v1(source: str) -> bool:
    """A module is v1 when it imports rego.v1, or uses `if`/`contains` without future imports."""
    tokens = tokenize(source)
    imports = _imports(tokens)
    if "rego.v1" in imports:
        return True
    if any(path.startswith("future.keywords") for path in imports):
        return False
    sig = [t for t in tokens if t.significant]
    for i, token in enumerate(sig):
        if token.kind != "ident":
            continue
        # `contains(s, x)` is also a builtin; only the keyword is followed by a term
        if token.text == "if" or (token.text == "contains" and (i + 1 == len(sig) or sig[i + 1].text != "(")):
            return True
    return False


class _Unbalanced(Exception):
    pass


class _Rewriter:
    """Walks the top-level statements of a v0 module and edits rule heads in place."""

    def __init__(self, tokens: list[Token]):
        self.t = tokens
        self.i = 0

    # -- cursor helpers -------------------------------------------------------------
    def _next_sig(self, start: int, *, cross_lines: bool = True) -> int:
        j = start
        while j < len(self.t) and not self.t[j].significant:
            if self.t[j].kind == "nl" and not cross_lines:
                return -1
            j += 1
        return j if j < len(self.t) else -1

    def _skip_balanced(self, j: int) -> int:
        """From an opening bracket at j, return the index just past its partner."""
        depth = 0
        while j < len(self.t):
            text = self.t[j].text if self.t[j].kind == "punct" else ""
            if text in _OPENERS:
                depth += 1
            elif text in _CLOSERS:
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
        raise _Unbalanced()

    def _skip_to_line_end(self, j: int) -> int:
        while j < len(self.t) and self.t[j].kind != "nl":
            if self.t[j].kind == "punct" and self.t[j].text in _OPENERS:
                j = self._skip_balanced(j)
                continue
            j += 1
        return j

    def _is(self, j: int, text: str) -> bool:
        return 0 <= j < len(self.t) and self.t[j].text == text and self.t[j].kind != "string"

    # -- statements -----------------------------------------------------------------
    def run(self) -> str:
        j = self._next_sig(0)
        while j != -1:
            word = self.t[j].text
            if word in {"package", "import", "default"} and self.t[j].kind == "ident":
                j = self._skip_to_line_end(j)
            elif self.t[j].kind == "ident":
                j = self._rule(j)
            else:
                j = self._skip_to_line_end(j)
            j = self._next_sig(j)
        return "".join(t.text for t in self.t)

    def _rule(self, j: int) -> int:
        """Rewrite one rule starting at the name token j; return the index after it."""
        last_bracket: tuple[int, int] | None = None  # (open, close) of a trailing `[key]`
        is_function = has_contains = has_value = has_if = False
        # the reference (name, .field, [key]) and function arguments
        j += 1
        while j < len(self.t):
            tok = self.t[j]
            if tok.kind == "punct" and tok.text == "[":
                end = self._skip_balanced(j)
                last_bracket = (j, end - 1)
                j = end
            elif tok.kind == "punct" and tok.text == "(":
                j = self._skip_balanced(j)
                is_function = True
                last_bracket = None
            elif tok.kind == "punct" and tok.text == "." and j + 1 < len(self.t) and self.t[j + 1].kind == "ident":
                j += 2
                last_bracket = None
            else:
                break
        j_next = self._next_sig(j, cross_lines=False)
        if j_next != -1 and self._is(j_next, "contains"):
            has_contains = True
            j = self._value_end(j_next + 1)
            j_next = self._next_sig(j, cross_lines=False)
        if j_next != -1 and self.t[j_next].text in {"=", ":="} and self.t[j_next].kind in {"punct", "op"}:
            has_value = True
            if self.t[j_next].text == "=":
                self.t[j_next] = Token("op", ":=")
            j = self._value_end(j_next + 1)
            j_next = self._next_sig(j, cross_lines=False)
        if last_bracket and not has_value and not has_contains and not is_function:
            self._to_contains(*last_bracket)
        if j_next != -1 and self._is(j_next, "if"):
            has_if = True
            j = j_next + 1
            j_next = self._next_sig(j)
            if j_next != -1 and not self._is(j_next, "{"):
                return self._skip_to_line_end(j_next)  # `p if expr` single-expression body
        return self._bodies(j, has_if)

    def _value_end(self, j: int) -> int:
        """Index just past a head term (value or `contains` term) starting after j."""
        prev: Token | None = None
        while j < len(self.t):
            tok = self.t[j]
            if tok.kind == "nl":
                return j
            if tok.kind == "ident" and tok.text == "if" and prev is not None:
                return j
            if tok.kind == "punct" and tok.text == "{" and prev is not None and prev.ends_term():
                return j
            if tok.kind == "punct" and tok.text in _OPENERS:
                prev = Token("punct", _OPENERS[tok.text])
                j = self._skip_balanced(j)
                continue
            if tok.significant:
                prev = tok
            j += 1
        return j

    def _to_contains(self, open_idx: int, close_idx: int) -> None:
        self.t[open_idx] = Token("punct", " contains ")
        self.t[close_idx] = Token("punct", "")

    def _bodies(self, j: int, has_if: bool) -> int:
        """Handle `{ body }` repeated, then `else [= v] [{ body }]` chains."""
        first = True
        while True:
            k = self._next_sig(j)
            if k == -1:
                return len(self.t)
            if self._is(k, "{") and self.t[k].kind == "punct":
                if first and not has_if:
                    glue = [] if k > 0 and self.t[k - 1].kind in {"ws", "nl"} else [Token("ws", " ")]
                    self.t[k:k] = [*glue, Token("ident", "if"), Token("ws", " ")]
                    k += len(glue) + 2
                first = False
                j = self._skip_balanced(k)
                continue
            if self.t[k].kind == "ident" and self.t[k].text == "else" and not first:
                j, has_if, first = self._else(k), False, True
                if self._is(self._next_sig(j, cross_lines=False), "if"):
                    has_if = True
                    j = self._next_sig(j, cross_lines=False) + 1
                continue
            return j

    def _else(self, k: int) -> int:
        j = k + 1
        j_next = self._next_sig(j, cross_lines=False)
        if j_next != -1 and self.t[j_next].text == "=" and self.t[j_next].kind == "punct":
            self.t[j_next] = Token("op", ":=")
        if j_next != -1 and self.t[j_next].text in {"=", ":="}:
            return self._value_end(j_next + 1)
        return j


# Built-ins OPA deprecated and v1 no longer knows, with same-meaning successors.
_DEPRECATED = {"re_match": "regex.match", "net.cidr_overlap": "net.cidr_contains"}


def _replace_deprecated(source: str) -> str:
    tokens = tokenize(source)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for old, new in _DEPRECATED.items():
            parts = re.split(r"(\.)", old)  # "net.cidr_overlap" -> ["net", ".", "cidr_overlap"]
            window = tokens[i:i + len(parts) + 1]
            preceded_by_dot = i > 0 and tokens[i - 1].text == "."
            if not preceded_by_dot and [t.text for t in window] == [*parts, "("]:
                out.append(new)
                i += len(parts)
                break
        else:
            out.append(tokens[i].text)
            i += 1
    return "".join(out)


def upgrade_to_v1(source: str) -> str:
    """Return `source` as Rego v1; modules that already are v1 come back unchanged.

    Edits: `p[x] { }` -> `p contains x if { }`; `p[k] = v { }` -> `p[k] := v if { }`;
    `p = v { }` / `p { }` / `f(x) = y { }` -> `:=` and `if`; `else = v { }` -> `else := v if { }`;
    deprecated built-ins with exact successors (`re_match` -> `regex.match`) are renamed.
    `default` rules, constants and imports are left as they are.
    """
    if is_v1(source):
        return source
    try:
        return _replace_deprecated(_Rewriter(tokenize(source)).run())
    except _Unbalanced:
        return source  # a syntax error: let the compiler report it at the user's position
