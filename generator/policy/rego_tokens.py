"""Rego source as tokens, and the token-level facts several modules need.

Strings, raw strings and comments are single tokens, so brackets inside them never
confuse a scan; the rewriters built on this edit token texts and keep every newline.
"""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from typing import NamedTuple

__all__ = ["Token", "tokenize", "package_name", "rule_names", "rule_definitions", "TOKEN_RE", "OPENERS", "CLOSERS",
           "TRIVIA"]

TOKEN_RE = re.compile(
    r"""
    (?P<nl>\r?\n)
  | (?P<ws>[ \t\f\r]+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9][0-9.eE+\-]*)
  | (?P<op>:=|==|!=|<=|>=)
  | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {")", "]", "}"}
TRIVIA = {"nl", "ws", "comment"}


class Token(NamedTuple):
    """A tuple, not a dataclass: a thousand policies are tens of thousands of tokens, and
    building a frozen dataclass costs three times as much."""

    kind: str  # nl | ws | comment | string | raw | ident | number | op | punct
    text: str

    @property
    def significant(self) -> bool:
        return self.kind not in TRIVIA

    def ends_term(self) -> bool:
        """True when a `{` right after this token opens a rule body, not a literal."""
        return self.kind in {"ident", "number", "string", "raw"} or self.text in CLOSERS


def tokenize(source: str) -> list[Token]:
    return list(_tokens(source))


@lru_cache(maxsize=512)
def _tokens(source: str) -> tuple[Token, ...]:
    """Tokens of one source, remembered: loading a module asks for them four times."""
    return tuple(Token("string" if (kind := match.lastgroup or "punct") == "raw" else kind, match.group())
                 for match in TOKEN_RE.finditer(source))


def package_name(source: str) -> str:
    """The dotted package of a module (`""` when it has none)."""
    sig = [t for t in tokenize(source) if t.kind not in {"ws", "comment"}]
    for i, token in enumerate(sig):
        if token.kind == "ident" and token.text == "package" and (i == 0 or sig[i - 1].kind == "nl"):
            parts = []
            for nxt in sig[i + 1:]:
                if nxt.kind == "nl":
                    break
                parts.append(nxt.text)
            return "".join(parts)
    return ""


def rule_names(source: str) -> list[str]:
    """Names of the top-level rules and functions, in order of first appearance."""
    return list(rule_definitions(source))


def rule_definitions(source: str) -> Counter[str]:
    """How many times each top-level rule or function is defined (an `else` chain is part
    of its rule; a `default` is a definition of its own, as in OPA's AST)."""
    counts: Counter[str] = Counter()
    depth, line_start, after_default = 0, True, False
    for token in tokenize(source):
        if token.kind == "nl":
            line_start = depth == 0
            continue
        if not token.significant:
            continue
        if token.kind == "punct" and token.text in OPENERS:
            depth += 1
        elif token.kind == "punct" and token.text in CLOSERS:
            depth = max(depth - 1, 0)
        elif depth == 0 and token.kind == "ident" and (line_start or after_default):
            if token.text == "default":
                after_default, line_start = True, False
                continue
            if token.text not in {"package", "import", "else"}:
                counts[token.text] += 1
        line_start, after_default = False, False
    return counts
