"""Token rewrites that make regopy 1.5.2 (rego-cpp) read Rego the way OPA does.

Each rewrite keeps OPA's meaning, edits text inside lines only (line numbers in compiler
errors stay right) and targets one rego-cpp defect, all met in the conftest examples and
the Gatekeeper library:

- iteration inside call arguments (`endswith(x.y[_], ":latest")`) or on both sides of a
  comparison (`a[p] == b[_]`) in single-line statements: "Invalid bracket argument", or
  nothing at all for a named variable. The reference is bound first
  (`hoist_wildcard_call_args`, line by line).
- the same inside composite literals (`[x[i]]`), comprehension bodies, statements spanning
  lines and negations (`hoist_iterations`, on the token tree).
- `v = expr` in a comprehension whose `expr` reads a variable of the enclosing body:
  "Unable to unify due to cycle". `v` is fresh there, so `v := expr` means the same.
- `any(xs)` / `all(xs)`: Rego v0 built-ins that rego-cpp does not have.

The rewrites themselves avoid a further defect: a comprehension holding a comparison inside
a literal (`[1 | false in [x == 1]]`), used as an operand of a comparison statement, is
evaluated wrongly while `x` iterates; bound to a variable first, it is right.
"""
from __future__ import annotations

import re

from generator.policy.rego_tokens import CLOSERS, OPENERS, TOKEN_RE, TRIVIA, Token, rule_names, tokenize

__all__ = ["regopy_compat", "hoist_wildcard_call_args", "hoist_iterations", "assign_comprehension_locals",
           "replace_any_all"]

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = set(_OPEN.values())
_TRIVIA = {"nl", "ws", "comment"}
_KEYWORDS = {"not", "some", "every", "in", "with", "as", "if", "contains", "else", "true", "false", "null",
             "default", "import", "package"}
_NO_HOIST = {"some", "every", "with", "import", "package", "default"}
_ANY_ALL = re.compile(r"(?<![\w.])(?:any|all)\s*\(")


class _Tree:
    """A token list with its matching brackets, comprehension bars and previous tokens,
    computed once: rewrites edit token texts in place and never add or remove tokens."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.close: dict[int, int] = {}
        self.bars: dict[int, int] = {}  # comprehension opener -> its top-level `|`
        self.prev: list[int] = []  # index of the previous significant token, -1 at the start
        stack: list[int] = []
        last, append = -1, self.prev.append
        for i, token in enumerate(tokens):  # hot: every module is rewritten on every load
            append(last)
            if token.kind == "punct":
                text = token.text
                if text in _OPEN:
                    stack.append(i)
                elif text in _CLOSE and stack:
                    self.close[stack.pop()] = i
                elif text == "|" and stack and tokens[stack[-1]].text != "(":
                    self.bars.setdefault(stack[-1], i)
                last = i
            elif token.kind not in _TRIVIA:
                last = i

    def prev_sig(self, i: int) -> Token | None:
        return self.tokens[self.prev[i]] if self.prev[i] >= 0 else None

    def bar(self, open_idx: int) -> int:
        """Index of the top-level `|` of a comprehension opened at `open_idx`, or -1."""
        return self.bars.get(open_idx, -1)

    def is_body(self, open_idx: int) -> bool:
        previous = self.prev_sig(open_idx)
        return self.tokens[open_idx].text == "{" and previous is not None and previous.text in {"if", "else"}


def _bodies(tree: _Tree) -> list[tuple[int, int]]:
    """(first, end) token spans of every rule body and comprehension body."""
    spans = []
    for open_idx, close_idx in tree.close.items():
        if tree.is_body(open_idx):
            spans.append((open_idx + 1, close_idx))
        elif tree.tokens[open_idx].text in "[{" and (bar := tree.bar(open_idx)) != -1:
            spans.append((bar + 1, close_idx))
    return sorted(spans)


def _statements(tree: _Tree, first: int, end: int) -> list[tuple[int, int]]:
    """Statements of a body: split on `;` and line ends outside brackets."""
    found, start, j = [], first, first
    while j < end:
        token = tree.tokens[j]
        if j in tree.close:
            j = tree.close[j] + 1
            continue
        if token.kind == "nl" or (token.kind == "punct" and token.text == ";"):
            found.append((start, j))
            start = j + 1
        j += 1
    found.append((start, end))
    return [(s, e) for s, e in found if any(t.significant for t in tree.tokens[s:e])]


# -- iteration inside calls and literals --------------------------------------------------------

def _ref_end(tree: _Tree, i: int) -> tuple[int, list[str]]:
    """End of the reference starting at identifier i, and the texts of its indexes."""
    tokens, j, indexes = tree.tokens, i + 1, []
    while j < len(tokens):
        if tokens[j].text == "." and j + 1 < len(tokens) and tokens[j + 1].kind == "ident":
            j += 2
        elif tokens[j].kind == "punct" and tokens[j].text == "[" and j in tree.close:
            inner = [t for t in tokens[j + 1:tree.close[j]] if t.significant]
            indexes.append(inner[0].text if len(inner) == 1 and inner[0].kind != "nl" else "\0")
            j = tree.close[j] + 1
        else:
            break
    return j, indexes


def _variables(indexes: list[str]) -> list[str]:
    return [x for x in indexes if (x[:1].isalpha() or x[:1] == "_") and x not in _KEYWORDS]


def _iterates(indexes: list[str]) -> bool:
    """Every index is one term (`_`, a variable, a string or number) and one is a variable."""
    return bool(indexes) and "\0" not in indexes and bool(_variables(indexes))


def _hoistable(tree: _Tree, start: int, end: int) -> list[tuple[int, int, list[str]]]:
    """References with `_` or a variable index inside call arguments or literals."""
    tokens, found, inside = tree.tokens, [], []
    j = start
    while j < end:
        token = tokens[j]
        if inside and j >= inside[-1][1]:
            inside.pop()
            continue
        if token.kind == "punct" and token.text in _OPEN and j in tree.close:
            previous = tree.prev_sig(j)
            is_index = token.text == "[" and previous is not None and previous.ends_term() \
                and previous.text not in _KEYWORDS
            if tree.bar(j) != -1 and token.text in "[{":
                j = tree.close[j] + 1  # a comprehension: its body is a body of its own
                continue
            call = token.text == "(" and previous is not None and previous.kind == "ident"
            inside.append((call or (not is_index and token.text != "("), tree.close[j]))
            j += 1
            continue
        previous = tree.prev_sig(j)
        if token.kind == "ident" and token.text not in _KEYWORDS and (previous is None or previous.text != "."):
            ref_end, indexes = _ref_end(tree, j)
            is_call = ref_end < len(tokens) and tokens[ref_end].text == "("
            if not is_call and any(flag for flag, _ in inside) and _iterates(indexes) \
                    and not any(t.kind == "nl" for t in tokens[j:ref_end]):
                found.append((j, ref_end, indexes))
            j = ref_end
            continue
        j += 1
    return found


def _hoist_statement(tree: _Tree, start: int, end: int, counter: int) -> int:
    tokens = tree.tokens
    first = next(j for j in range(start, end) if tokens[j].significant)
    words = {t.text for t in tokens[start:end] if t.kind == "ident"}
    if tokens[first].text in _NO_HOIST or "with" in words:
        return counter
    negated = tokens[first].text == "not"
    refs = _hoistable(tree, first + 1 if negated else first, end)
    # under `not`, only `_` is local to the negation; a named variable must stay as it is
    if not refs or (negated and any(x != "_" for _, _, indexes in refs for x in _variables(indexes))):
        return counter
    bindings = []
    for ref_start, ref_end, _ in refs:
        name = f"__moh{counter}"
        counter += 1
        bindings.append(f"{name} := {''.join(t.text for t in tokens[ref_start:ref_end])}; ")
        tokens[ref_start] = Token("ident", name)
        for k in range(ref_start + 1, ref_end):
            tokens[k] = Token("ws", "")
    last = max(j for j in range(start, end) if tokens[j].significant)
    if negated:  # `not f(x[_])`: no element makes f true (counted apart: see module docs)
        name = f"__moh{counter}"
        counter += 1
        tokens[first] = Token("ident", f"{name} := count([1 | " + "".join(bindings).rstrip())
        tokens[last] = Token(tokens[last].kind, f"{tokens[last].text}]); {name} == 0")
    else:
        tokens[first] = Token(tokens[first].kind, "".join(bindings) + tokens[first].text)
    return counter


def _hoist(tree: _Tree) -> None:
    counter = 0
    for first, end in _bodies(tree):
        for start, stop in _statements(tree, first, end):
            counter = _hoist_statement(tree, start, stop, counter)


def hoist_iterations(source: str) -> str:
    """`y := lower(x[_])` -> `__moh0 := x[_]; y := lower(__moh0)` in every body statement,
    comprehension bodies and multi-line statements included; `not f(x[_])` becomes
    `count([1 | __moh0 := x[_]; f(__moh0)]) == 0`. Statements with `some`, `every` or
    `with` are left alone."""
    tree = _Tree(list(tokenize(source)))
    _hoist(tree)
    return "".join(t.text for t in tree.tokens)


# -- `v = expr` in comprehensions ---------------------------------------------------------------

def _module_names(source: str, tokens: list[Token]) -> set[str]:
    names = set(rule_names(source)) | {"input", "data", "_"}
    sig = [t for t in tokens if t.kind not in {"ws", "comment"}]
    for i, token in enumerate(sig):
        if token.text == "import" and (i == 0 or sig[i - 1].kind == "nl"):
            words = []
            for nxt in sig[i + 1:]:
                if nxt.kind == "nl":
                    break
                words.append(nxt.text)
            names.update(words[-1:])  # the imported name, or its `as` alias
    return names


def _top_level_spans(tree: _Tree) -> list[tuple[int, int]]:
    """Top-level statements (a whole rule with its body, an import, ...) as token spans."""
    depth, start, spans = 0, 0, []
    for j, token in enumerate(tree.tokens):
        if token.kind == "punct" and token.text in _OPEN:
            depth += 1
        elif token.kind == "punct" and token.text in _OPEN.values():
            depth -= 1
        elif token.kind == "nl" and depth == 0:
            spans.append((start, j))
            start = j + 1
    spans.append((start, len(tree.tokens)))
    return spans


def _unifications(tree: _Tree, first: int, end: int) -> list[tuple[bool, list[int]]]:
    """(reads `name = expr`, its significant tokens) for each statement of a comprehension body."""
    tokens, found = tree.tokens, []
    for start, stop in _statements(tree, first, end):
        sig = [j for j in range(start, stop) if tokens[j].significant]
        found.append((len(sig) > 2 and tokens[sig[0]].kind == "ident" and tokens[sig[1]].kind == "punct"
                      and tokens[sig[1]].text == "=", sig))
    return found


def _assign_locals(tree: _Tree, source: str) -> None:
    tokens = tree.tokens
    rules: list[tuple[int, int]] | None = None
    known: set[str] | None = None
    for open_idx, bar in tree.bars.items():
        close_idx = tree.close.get(open_idx, -1)
        statements = _unifications(tree, bar + 1, close_idx) if close_idx != -1 else []
        if not any(is_unification for is_unification, _ in statements):
            continue
        rules = _top_level_spans(tree) if rules is None else rules
        known = _module_names(source, tokens) if known is None else known
        rule_start, rule_end = next(span for span in rules if span[0] <= open_idx < span[1])
        outside = {t.text for t in tokens[rule_start:open_idx] + tokens[close_idx + 1:rule_end] if t.kind == "ident"}
        seen: set[str] = set()
        for is_unification, sig in statements:
            name = tokens[sig[0]].text
            rest = {tokens[j].text for j in sig[2:] if tokens[j].kind == "ident"}
            if is_unification and name not in known | outside | seen | rest | _KEYWORDS:
                tokens[sig[1]] = Token("op", ":=")
            seen |= {tokens[j].text for j in sig if tokens[j].kind == "ident"}


def assign_comprehension_locals(source: str) -> str:
    """`[g | g = f(c)]` -> `[g | g := f(c)]` where `g` is used nowhere else in the rule."""
    tree = _Tree(list(tokenize(source)))
    _assign_locals(tree, source)
    return "".join(t.text for t in tree.tokens)


# -- any() / all() ------------------------------------------------------------------------------

def _starts_statement(tree: _Tree, i: int) -> bool:
    before = tree.prev[i]
    return before < 0 or tree.tokens[before].text in {"{", ";", "|"} \
        or any(t.kind == "nl" for t in tree.tokens[before + 1:i])


def _plain_term(tree: _Tree, paren: int, close: int) -> bool:
    """Whether a call's only argument is a reference or a comprehension (not a literal such
    as `[a == b]`, whose comparisons rego-cpp misreads inside a comprehension)."""
    inner = [j for j in range(paren + 1, close) if tree.tokens[j].significant]
    if not inner:
        return False
    first = tree.tokens[inner[0]]
    if first.kind == "punct" and first.text in "[{":
        return tree.close.get(inner[0]) == inner[-1] and tree.bar(inner[0]) != -1
    return first.kind == "ident" and _ref_end(tree, inner[0])[0] == inner[-1] + 1

def replace_any_all(source: str) -> str:
    """`any(xs)` -> `true in (xs)`; `all(xs)` -> no member of xs other than `true`."""
    defined = set(rule_names(source))
    tree = _Tree(list(tokenize(source)))
    tokens, counter = tree.tokens, 0
    for i, token in enumerate(tokens):
        if token.kind != "ident" or token.text not in {"any", "all"} or token.text in defined:
            continue
        previous = tree.prev_sig(i)
        paren = next((j for j in range(i + 1, len(tokens)) if tokens[j].significant), -1)
        if (previous is not None and previous.text == ".") or paren not in tree.close or tokens[paren].text != "(":
            continue
        close = tree.close[paren]
        if token.text == "all" and not _plain_term(tree, paren, close):
            continue  # left as it is: regopy reports the unknown function
        # parenthesized as an operand; not at a statement's start, where rego-cpp would read
        # `(` as a call on the line before
        left, right = ("", "") if _starts_statement(tree, i) else ("(", ")")
        if token.text == "any":
            tokens[i], tokens[close] = Token("punct", f"{left}true in "), Token("punct", f"){right}")
        else:
            name = f"__moa{counter}"
            counter += 1
            tokens[i] = Token("punct", f"{left}count([{name} | some {name} in ")
            tokens[paren] = Token("ws", "")
            tokens[close] = Token("punct", f"; {name} != true]) == 0{right}")
    return "".join(t.text for t in tokens)


# ---- single-line statements: iteration in call arguments and comparison operands -------
# The line-based pass runs first; the token-tree passes below handle what it leaves alone
# (comprehension bodies, statements over several lines, negations).

# a reference whose last index is `_` or a variable: `x.y[_]`, `input.a[i]`, `m[k][_]`
_VAR_INDEX_REF = re.compile(r"(?<![\w.\])])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\[\]\n]*\])*\[(?:_|[A-Za-z_]\w*)\]")
_REF = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\[\]\n]*\])*")
_CALL_OPEN = re.compile(r"[A-Za-z_][\w.]*\($")
_COMPARISON = re.compile(r"==|!=|<=|>=|<|>")
_CANDIDATE = re.compile(r"\(|==|!=|<|>")  # a call or a comparison on the line
_LINE_NO_HOIST = re.compile(r"\b(?:not|with|every)\b|\|")  # negation, with, every, comprehensions


def _inside_call(line: str, position: int) -> bool:
    """Whether `position` sits inside the parentheses of a call (`name(`) on this line."""
    depth_stack: list[bool] = []
    for index, char in enumerate(line[:position]):
        if char == "(":
            depth_stack.append(bool(_CALL_OPEN.search(line[:index + 1])))
        elif char == ")" and depth_stack:
            depth_stack.pop()
    return any(depth_stack)


def _body_brace(previous: Token | None) -> bool:
    """A `{` after `if`, `else` or a term (`every x in xs {`) opens a body; after an operator,
    `(`, `[`, `,`, `:`, `in` or `contains` it opens an object or set literal."""
    if previous is None:
        return False
    return previous.text in {"if", "else"} or (previous.ends_term() and previous.text not in {"in", "contains"})


def _line_stacks(source: str) -> list[str]:
    """The brackets open at the start of each line: `B` a body brace, `{([` literals."""
    stacks, stack, previous = [""], [], None
    for token in tokenize(source):
        kind, text = token.kind, token.text
        if kind == "nl" or "\n" in text:  # raw strings may span lines
            stacks += ["".join(stack)] * text.count("\n")
        elif kind == "punct" and text in OPENERS:
            stack.append("B" if text == "{" and _body_brace(previous) else text)
        elif kind == "punct" and text in CLOSERS and stack:
            stack.pop()
        if kind not in TRIVIA:
            previous = token
    return stacks


def _scan(text: str) -> list[Token]:
    """Tokens of one line, not cached (the cache is for whole modules)."""
    return [Token("string" if (kind := m.lastgroup or "punct") == "raw" else kind, m.group())
            for m in TOKEN_RE.finditer(text)]


def _masked(line: str) -> str | None:
    """The line with string contents blanked and comments removed (same length), so brackets
    inside them are not seen; None for raw strings, which may span lines."""
    if "`" in line:
        return None
    parts = []
    for token in _scan(line):
        if token.kind == "string":
            parts.append('"' + "x" * (len(token.text) - 2) + '"')
        elif token.kind == "comment":
            parts.append(" " * len(token.text))
        else:
            parts.append(token.text)
    return "".join(parts)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += char in "([{"
        depth -= char in ")]}"
        if depth < 0:
            return False
    return depth == 0


def _body_start(masked: str) -> int:
    """Column just after the first body brace of a rule head line, or -1."""
    column, depth, previous = 0, 0, None
    for token in _scan(masked):
        column += len(token.text)
        if token.kind == "punct" and token.text == "{" and depth == 0 and _body_brace(previous):
            return column
        depth += token.kind == "punct" and token.text in OPENERS
        depth -= token.kind == "punct" and token.text in CLOSERS
        previous = token if token.significant else previous
    return -1


def _statement_start(line: str, masked: str, stack: str) -> int:
    """Column where a single-line body statement starts on this line, or -1.

    Body lines start inside body braces only; a rule head with its body on the same line
    (`deny[msg] { f(x[_]) }`) starts after the brace and may end with the closing one."""
    if stack and set(stack) == {"B"}:
        start = 0
    elif not stack:
        start = _body_start(masked)
        if start < 0:
            return -1
    else:
        return -1
    region = masked[start:].rstrip()
    if not stack and region.endswith("}"):
        region = region[:-1]
    if not region.strip() or region.lstrip().startswith("}") or _LINE_NO_HOIST.search(region) \
            or not _balanced(region):
        return -1
    return start


def _has_var_index(text: str) -> bool:
    return bool(_VAR_INDEX_REF.search(text))


def _comparison_operand(region: str) -> tuple[int, int] | None:
    """(start, end) of the right operand of `A op B` when both are references with variable
    indexes (`a[p] == b[_]`): rego-cpp rejects or silently drops these, so B is bound first."""
    depth, found = 0, []
    for index, char in enumerate(region):
        depth += char in "([{"
        depth -= char in ")]}"
        if depth == 0 and char in "=!<>:":
            found.append(index)
    match = _COMPARISON.match(region, found[0]) if found else None
    if match is None or any(i >= match.end() for i in found) or ":" in region[:match.start()] \
            or "=" in region[:match.start()].replace("==", ""):
        return None
    left, right = region[:match.start()].strip(), region[match.end():].strip().rstrip(";").strip()
    if not (_REF.fullmatch(left) and _REF.fullmatch(right) and _has_var_index(left) and _has_var_index(right)):
        return None
    begin = region.index(right, match.end())
    return begin, begin + len(right)


def _hoist_line_statement(line: str, masked: str, start: int, counter: int) -> tuple[str, int]:
    """Bind call arguments and comparison operands that iterate to fresh variables first."""
    region, hoisted = masked[start:], []
    spans = [(m.start(), m.end()) for m in _VAR_INDEX_REF.finditer(region) if _inside_call(region, m.start())]
    operand = _comparison_operand(region)
    if operand and not any(s < operand[1] and operand[0] < e for s, e in spans):
        spans.append(operand)
    text = line[start:]
    for begin, end in sorted(spans, reverse=True):
        name = f"__mo{counter + len(hoisted)}"
        hoisted.append(f"{name} := {text[begin:end]}; ")
        text = text[:begin] + name + text[end:]
    if not hoisted:
        return line, counter
    body = text.lstrip()
    lead = line[:start] + ("" if start else text[:len(text) - len(body)])
    return f"{lead}{' ' if start else ''}{''.join(reversed(hoisted))}{body}", counter + len(hoisted)


def hoist_wildcard_call_args(source: str) -> str:
    """`f(a, x.y[_])` -> `__mo0 := x.y[_]; f(a, __mo0)`, and `a[p] == b[_]` -> `__mo0 := b[_];
    a[p] == __mo0`, on single-line body statements.

    OPA iterates a reference with `_` or an unbound variable wherever it appears; rego-cpp
    rejects `[_]` inside call arguments and on the right of a comparison whose left side
    also iterates ("Invalid bracket argument"), and silently yields nothing for a named
    variable there. Binding the reference in a statement of its own first keeps OPA's
    meaning. Strings and comments are opaque; negated statements, `with`, `every` and
    comprehensions, and statements spanning lines are left alone (rego-cpp then fails
    closed or evaluates them itself).
    """
    lines, counter = source.split("\n"), 0
    candidates = [i for i, line in enumerate(lines) if "[" in line and _CANDIDATE.search(line)
                  and _VAR_INDEX_REF.search(line)]
    if not candidates:
        return source
    stacks = _line_stacks(source)
    for i in candidates:
        masked = _masked(lines[i])
        start = _statement_start(lines[i], masked, stacks[i]) if masked is not None else -1
        if start >= 0:
            lines[i], counter = _hoist_line_statement(lines[i], masked, start, counter)
    return "\n".join(lines)


def regopy_compat(source: str, *, v0: bool = False) -> str:
    """All rewrites above; `any`/`all` only for Rego v0 modules, where they are built-ins."""
    source = hoist_wildcard_call_args(source)
    if v0 and _ANY_ALL.search(source):
        source = replace_any_all(source)
    if "[" not in source and "|" not in source:
        return source
    tree = _Tree(list(tokenize(source)))
    _assign_locals(tree, source)  # first: hoisting prepends text to statements' first tokens
    _hoist(tree)
    return "".join(t.text for t in tree.tokens)
