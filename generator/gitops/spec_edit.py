"""Edit one entry of a model spec's per-environment sections (`releases.<env>`,
`canaries.<env>`) as text, so every other byte of the file survives.

ruamel's round-trip dump re-indents sequences and re-flows lines it did not change, so
the file is only *read* with ruamel (for positions and quoting) and the lines of the one
entry are rewritten (or removed) in place: keys whose value is unchanged keep their line, changed
keys keep their quoting style and end-of-line comment, flow mappings stay flow mappings.
The result is parsed again and must equal the intended data, or nothing is returned.
"""
from __future__ import annotations

import json
import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from generator.errors import ModelopsError

__all__ = ["ENTRY_KEYS", "RELEASE_KEYS", "format_scalar", "remove_entry", "set_entry", "set_release"]

RELEASE_KEYS = ("image", "trainingImage", "modelUri", "modelVersion", "chartRevision", "source", "metrics")
# The order new keys are written in: a canary's traffic weight first, then its release.
ENTRY_KEYS = ("weight", *RELEASE_KEYS)
_PLAIN = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./@:+=~-]*$")
_KEY = re.compile(r"^( *)[A-Za-z0-9_\"'-][^:#]*:(\s|$)")


def _load(text: str, file: str) -> Any:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        return yaml.load(text)
    except Exception as error:  # noqa: BLE001 - any parse failure is a user-facing error here
        raise ModelopsError(f"{file}: cannot edit: {str(error).splitlines()[0]}") from None


def _resolves_to_string(text: str) -> bool:
    try:
        return YAML(typ="safe", pure=True).load(f"k: {text}\n")["k"] == text
    except Exception:  # noqa: BLE001 - anything the loader rejects needs quotes
        return False


def format_scalar(value: Any, style: str = "plain") -> str:
    """`value` as YAML flow text; `style` ("plain", "'", '"') is kept where it is valid."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{format_scalar(str(k))}: {format_scalar(v)}" for k, v in sorted(value.items())) + "}"
    text = str(value)
    if style == "'" and "\n" not in text:
        return "'" + text.replace("'", "''") + "'"
    if style == "plain" and _PLAIN.match(text) and _resolves_to_string(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _style(value: Any) -> str:
    if isinstance(value, DoubleQuotedScalarString):
        return '"'
    if isinstance(value, SingleQuotedScalarString):
        return "'"
    return "plain"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _span_end(lines: list[str], start: int, column: int) -> int:
    """Index after the last content line of the entry starting at `start` (indented deeper than `column`)."""
    end = start + 1
    for index in range(start + 1, len(lines)):
        if not _is_content(lines[index]):
            continue
        if _indent(lines[index]) <= column or lines[index].lstrip(" ") in ("---\n", "...\n", "---", "..."):
            break
        end = index + 1
    return end


def _flow_end(text: str, offset: int) -> int:
    """Offset just after the flow collection that opens at `offset` (quotes respected)."""
    depth, quote, index = 0, "", offset
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"" and text[offset:index].rstrip()[-1:] in ("{", "[", ",", ":"):
            quote = char  # a quote inside a plain scalar (don't) opens nothing
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise ModelopsError("unterminated flow mapping")


def _line_offsets(lines: list[str]) -> list[int]:
    offsets, total = [], 0
    for line in lines:
        offsets.append(total)
        total += len(line)
    return offsets


def _flow_map(entries: list[tuple[str, Any, str]]) -> str:
    return "{" + ", ".join(f"{format_scalar(k)}: {format_scalar(v, s)}" for k, v, s in entries) + "}"


def _ordered(old: Any, release: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(key, value, quoting) for the new release: old key order kept, new keys appended."""
    old = old if isinstance(old, dict) else {}
    keys = [k for k in old if k in release] + [k for k in _key_order(release) if k not in old]
    return [(k, _plain(release[k]), _style(old[k]) if k in old else "plain") for k in keys]


def _key_order(release: dict[str, Any]) -> list[str]:
    known = [k for k in ENTRY_KEYS if k in release]
    return known + sorted(k for k in release if k not in ENTRY_KEYS)


def _plain(value: Any) -> Any:
    """ruamel's round-trip types as plain Python values, for comparison and output."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    return value


def _block(release: dict[str, Any], column: int, eol: str) -> list[str]:
    return [f"{' ' * column}{format_scalar(k)}: {format_scalar(v)}{eol}" for k, v, _ in _ordered({}, release)]


def _eol(lines: list[str]) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


def _step(data: CommentedMap) -> int:
    """The mapping indentation the file already uses (2 when nothing tells)."""
    for value in data.values():
        if isinstance(value, CommentedMap) and value and not value.fa.flow_style():
            return max(1, value.lc.key(next(iter(value)))[1] - data.lc.key(next(iter(data)))[1])
    return 2


def _quoted_end(text: str) -> int:
    """Index after the quoted scalar at the start of `text` ('' and backslash escapes respected)."""
    quote, index = text[0], 1
    while index < len(text):
        if quote == '"' and text[index] == "\\":
            index += 2
            continue
        if text[index] == quote:
            if quote == "'" and text[index + 1:index + 2] == "'":
                index += 2
                continue
            return index + 1
        index += 1
    return len(text)


def _value_comment(line: str, column: int) -> str:
    """The end-of-line comment after the single-line scalar that starts at `column`."""
    rest = line[column:].rstrip("\r\n")
    if rest[:1] in ("'", '"'):
        rest = rest[_quoted_end(rest):]
    match = re.search(r"\s+#.*$", rest)
    return match.group(0) if match else ""


def _edit_block(lines: list[str], current: CommentedMap, release: dict[str, Any]) -> list[str]:
    """Rewrite only the changed keys of a block-style release mapping."""
    keys = list(current)
    column = current.lc.key(keys[0])[1]
    eol = _eol(lines)
    spans = {k: (current.lc.key(k)[0], _span_end(lines, current.lc.key(k)[0], column)) for k in keys}
    last_end = max(end for _, end in spans.values())
    out = _terminated(lines[:last_end], eol) + lines[last_end:]
    added = [(k, v) for k, v, _ in _ordered(current, release) if k not in current]
    out[last_end:last_end] = [f"{' ' * column}{format_scalar(k)}: {format_scalar(v)}{eol}" for k, v in added]
    for key in sorted(keys, key=lambda k: spans[k][0], reverse=True):
        start, end = spans[key]
        if key not in release:
            del out[start:end]
        elif _plain(current[key]) != _plain(release[key]):
            out[start:end] = [_changed_line(out[start], current, key, release[key], end - start == 1, eol)]
    return out


def _changed_line(line: str, current: CommentedMap, key: str, value: Any, single: bool, eol: str) -> str:
    old = current[key]
    column = current.lc.key(key)[1]
    if single and not isinstance(old, (dict, list)):
        value_column = current.lc.value(key)[1]
        return line[:value_column] + format_scalar(value, _style(old)) + _value_comment(line, value_column) + eol
    return f"{' ' * column}{format_scalar(key)}: {format_scalar(value)}{eol}"


def _replace_flow(text: str, lines: list[str], mapping: CommentedMap, key: str, new: str) -> str:
    line, column = mapping.lc.value(key)
    start = _line_offsets(lines)[line] + column
    return text[:start] + new + text[_flow_end(text, start):]


def _insert_into_flow(text: str, lines: list[str], parent: CommentedMap, key: str, entry: str) -> str:
    """`entry` added as the last item of the flow mapping `parent[key]`."""
    line, column = parent.lc.value(key)
    start = _line_offsets(lines)[line] + column
    end = _flow_end(text, start) - 1
    inner = text[start + 1:end]
    separator = ", " if inner.strip() else ""
    return text[:start + 1] + inner.rstrip() + separator + entry + text[end:]


def _key_line_block(lines: list[str], mapping: CommentedMap, key: str, body: list[str]) -> list[str]:
    """`key:` with no value (null) given a block body on the following lines."""
    line = mapping.lc.key(key)[0]
    return _terminated(lines[:line + 1], _eol(lines)) + body + lines[line + 1:]


def _terminated(lines: list[str], eol: str) -> list[str]:
    """`lines` whose last line ends with a newline (a file may end without one)."""
    if lines and not lines[-1].endswith("\n"):
        return [*lines[:-1], lines[-1] + eol]
    return lines


def _append_block(lines: list[str], body: list[str]) -> list[str]:
    out = list(lines)
    if out and not out[-1].endswith("\n"):
        out[-1] += _eol(lines)
    return out + body


def _edit(text: str, data: CommentedMap, section: str, env: str, release: dict[str, Any]) -> str:
    lines = text.splitlines(keepends=True)
    eol, step = _eol(lines), _step(data)
    top = data.lc.key(next(iter(data)))[1]
    if section not in data:
        body = [f"{' ' * top}{section}:{eol}", f"{' ' * (top + step)}{format_scalar(env)}:{eol}",
                *_block(release, top + 2 * step, eol)]
        return "".join(_append_block(lines, body))
    entries = data[section]
    if entries is None:
        body = [f"{' ' * (top + step)}{format_scalar(env)}:{eol}", *_block(release, top + 2 * step, eol)]
        return "".join(_key_line_block(lines, data, section, body))
    if not isinstance(entries, CommentedMap):
        raise ModelopsError(f"{section}: expected a mapping of environment -> entry")
    return _edit_section(text, lines, data, section, env, release)


def _edit_section(text: str, lines: list[str], data: CommentedMap, section: str, env: str,
                  release: dict[str, Any]) -> str:
    eol, step, entries = _eol(lines), _step(data), data[section]
    flow = _flow_map(_ordered(entries.get(env), release))
    if env not in entries:
        if entries.fa.flow_style() or not entries:
            return _insert_into_flow(text, lines, data, section, f"{format_scalar(env)}: {flow}")
        column = entries.lc.key(next(iter(entries)))[1]
        line, key_column = data.lc.key(section)
        # An alias (`dev: *base`) points elsewhere in the file: its indentation says nothing here.
        inner = next((v.lc.key(next(iter(v)))[1] - column for v in entries.values()
                      if isinstance(v, CommentedMap) and v and not v.fa.flow_style() and v.lc.line > line
                      and v.lc.key(next(iter(v)))[1] > column), step)
        end = _span_end(lines, line, key_column)
        body = [f"{' ' * column}{format_scalar(env)}:{eol}", *_block(release, column + inner, eol)]
        return "".join(_terminated(lines[:end], eol) + body + lines[end:])
    current = entries[env]
    if isinstance(current, CommentedMap) and (current.fa.flow_style() or not current):
        return _replace_flow(text, lines, entries, env, flow)
    if current is None:
        column = entries.lc.key(env)[1]
        return "".join(_key_line_block(lines, entries, env, _block(release, column + step, eol)))
    if not isinstance(current, CommentedMap):
        raise ModelopsError(f"{section}.{env}: expected a mapping")
    return "".join(_edit_block(lines, current, release))


def _verify(new: str, expected: dict[str, Any], what: str, file: str) -> None:
    """The edit must mean exactly the intended data; anything else is refused, not written."""
    if _plain(_load(new, file)) != expected:
        raise ModelopsError(f"{file}: cannot edit {what} in place without changing other content; "
                            "edit it by hand or simplify the YAML around it")


def _mapping(text: str, file: str) -> CommentedMap:
    data = _load(text, file)
    if not isinstance(data, CommentedMap) or not data:
        raise ModelopsError(f"{file}: expected a mapping")
    if data.fa.flow_style():
        raise ModelopsError(f"{file}: cannot edit a spec written as one flow mapping")
    return data


def set_entry(text: str, section: str, env: str, value: dict[str, Any], *, file: str) -> str:
    """`text` with `<section>.<env>` set to `value`; only that entry's lines differ."""
    data = _mapping(text, file)
    value = {k: v for k, v in value.items() if v is not None}
    try:
        new = _edit(text, data, section, env, value)
    except ModelopsError as error:
        raise ModelopsError(f"{file}: {error}") from None
    expected = _plain(data)
    expected[section] = {**(expected.get(section) or {}), env: _plain(value)}
    _verify(new, expected, f"{section}.{env}", file)
    return new


def set_release(text: str, env: str, release: dict[str, Any], *, file: str) -> str:
    """`text` with `releases.<env>` set to `release`; only that release's lines differ."""
    return set_entry(text, "releases", env, release, file=file)


def remove_entry(text: str, section: str, env: str, *, file: str) -> str:
    """`text` without `<section>.<env>` (and without `<section>` once it is empty); only those lines differ."""
    data = _mapping(text, file)
    entries = data.get(section)
    if not isinstance(entries, CommentedMap) or env not in entries:
        return text
    lines = text.splitlines(keepends=True)
    try:
        if len(entries) == 1:
            new = _without_block_key(lines, data, section)
        elif entries.fa.flow_style():
            new = _without_flow_key(text, lines, data, section, env)
        else:
            new = _without_block_key(lines, entries, env)
    except ModelopsError as error:
        raise ModelopsError(f"{file}: {error}") from None
    expected = _plain(data)
    del expected[section][env]
    if not expected[section]:
        del expected[section]
    _verify(new, expected, f"{section}.{env}", file)
    return new


def _without_block_key(lines: list[str], mapping: CommentedMap, key: str) -> str:
    """The lines of block mapping key `key` (its value included) removed; comments after it stay."""
    line, column = mapping.lc.key(key)
    if lines[line][:column].strip():
        raise ModelopsError(f"{key}: expected a key at the start of its line")
    return "".join(lines[:line] + lines[_span_end(lines, line, column):])


def _without_flow_key(text: str, lines: list[str], data: CommentedMap, section: str, env: str) -> str:
    """`env: value` cut out of the flow mapping `data[section]` with one of its separating commas."""
    entries, offsets = data[section], _line_offsets(lines)
    keys = list(entries)
    line, column = entries.lc.key(env)
    start = offsets[line] + column
    if keys.index(env) + 1 < len(keys):
        next_line, next_column = entries.lc.key(keys[keys.index(env) + 1])
        return text[:start] + text[offsets[next_line] + next_column:]
    open_line, open_column = data.lc.value(section)
    close = _flow_end(text, offsets[open_line] + open_column) - 1
    comma = text.rfind(",", 0, start)
    return text[:comma] + text[len(text[:close].rstrip()):]
