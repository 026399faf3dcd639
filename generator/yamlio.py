"""The one YAML module: position-aware safe loading, and one dumper with fixed options.

Loading reads line/column of every key and value from ruamel.yaml's node tree (YAML 1.2:
`yes`, `no`, `on` stay strings), composed by its C parser, and converts the nodes to plain
Python with a node budget, so an alias/anchor bomb is an error instead of an out-of-memory.
What that fast path does not handle itself (merge keys, duplicate keys, syntax and value
errors) goes through ruamel's round-trip loader, which gives the errors their wording.
Dumping always goes through `dump_documents`, so every rendered file has the same style.
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from generator.errors import Problem, SpecError

__all__ = ["Located", "load_located", "load_all_plain", "load_all_fast", "dump_documents", "MAX_NODES"]

try:
    import _ruamel_yaml  # noqa: F401 - ruamel.yaml.clib: the C parser and emitter
    HAVE_CLIB = True
except ImportError:  # pragma: no cover - the pure-Python parser is correct, only slower
    HAVE_CLIB = False

# A legitimate spec is a few hundred nodes; this bounds alias expansion far above that.
MAX_NODES = 100_000
# Nesting deeper than this is refused at load. The deepest vendored CRD schema nests 34
# levels; libyaml allows 1,000, and a document near that ended in a RecursionError
# traceback in whatever walked it first (Python's own limit is 1,000 frames).
MAX_DEPTH = 128

PathTuple = tuple[str | int, ...]


class Located:
    """A loaded document as plain data, plus the (line, column) of every path in it (1-based)."""

    def __init__(self, file: str, data: Any, positions: dict[PathTuple, tuple[int, int]] | None = None,
                 key_positions: dict[PathTuple, tuple[int, int]] | None = None):
        self.file = file
        self.data = data
        self._positions = positions if positions is not None else {}
        self._key_positions = key_positions if key_positions is not None else {}
        self._encoded: str | None = None

    @classmethod
    def from_encoded(cls, file: str, data: Any, encoded: str) -> Located:
        """A document whose positions stay JSON text (`encode_positions`) until first asked for.

        A large repository's cached specs are loaded on every run, but positions are read
        only for the few that have findings."""
        located = cls(file, data)
        located._encoded = encoded
        return located

    def encode_positions(self) -> str:
        if self._encoded is not None:
            return self._encoded
        return json.dumps([[[list(k), *v] for k, v in self._positions.items()],
                           [[list(k), *v] for k, v in self._key_positions.items()]], separators=(",", ":"))

    def _decode(self) -> None:
        if self._encoded is not None:
            values, keys = json.loads(self._encoded)
            self._positions = {tuple(k): (line, col) for k, line, col in values}
            self._key_positions = {tuple(k): (line, col) for k, line, col in keys}
            self._encoded = None

    @property
    def positions(self) -> dict[PathTuple, tuple[int, int]]:
        self._decode()
        return self._positions

    @property
    def key_positions(self) -> dict[PathTuple, tuple[int, int]]:
        self._decode()
        return self._key_positions

    def __repr__(self) -> str:
        return f"Located(file={self.file!r}, data={self.data!r})"

    def where(self, path: Iterable[str | int]) -> tuple[int, int]:
        """The closest known position for `path`: the value, its key, or an ancestor."""
        path = tuple(path)
        while True:
            if path in self.positions:
                return self.positions[path]
            if path in self.key_positions:
                return self.key_positions[path]
            if not path:
                return (1, 1)
            path = path[:-1]

    def problem(self, path: Iterable[str | int], message: str, *, at_key: bool = False) -> Problem:
        path = tuple(path)
        line, column = (self.key_positions.get(path) if at_key else None) or self.where(path)
        return Problem(self.file, line, column, format_path(path), message)


def format_path(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _yaml_rt() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    return yaml


class _Budgeted:
    """A conversion that counts the nodes it builds: past MAX_NODES the document is an
    alias/anchor bomb, refused before it fills memory."""

    def __init__(self, located: Located):
        self.located = located
        self.count = 0

    def spend(self, path: PathTuple = ()) -> None:
        self.count += 1
        if len(path) > MAX_DEPTH:
            line, column = self.located.where(path)
            raise SpecError([Problem(self.located.file, line, column, format_path(path[:2]) + "...",
                                     f"nested deeper than {MAX_DEPTH} levels; refusing to load")])
        if self.count > MAX_NODES:
            raise SpecError([Problem(self.located.file, 1, 1, "", f"document expands to more than {MAX_NODES} "
                                     "nodes (YAML alias/anchor bomb?); refusing to load")])


class _Converter(_Budgeted):
    """Round-trip nodes to plain dict/list/scalars, recording positions, within a node budget."""

    def convert(self, node: Any, path: PathTuple) -> Any:
        self.spend(path)
        if isinstance(node, CommentedMap):
            return self._mapping(node, path)
        if isinstance(node, CommentedSeq):
            out = []
            for index, item in enumerate(node):
                try:
                    line, col = node.lc.item(index)
                    self.located.positions[path + (index,)] = (line + 1, col + 1)
                except (KeyError, TypeError, AttributeError):
                    pass
                out.append(self.convert(item, path + (index,)))
            return out
        return _plain_scalar(node)

    def _mapping(self, node: CommentedMap, path: PathTuple) -> dict:
        out: dict = {}
        for key in node:
            plain_key = _plain_scalar(key)
            if not isinstance(plain_key, str):
                line, col = node.lc.key(key)
                raise SpecError([Problem(self.located.file, line + 1, col + 1, format_path(path),
                                         f"mapping keys must be strings, got {type(plain_key).__name__} {plain_key!r}")])
            child = path + (plain_key,)
            try:
                kline, kcol = node.lc.key(key)
                self.located.key_positions[child] = (kline + 1, kcol + 1)
                vline, vcol = node.lc.value(key)
                self.located.positions[child] = (vline + 1, vcol + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            out[plain_key] = self.convert(node[key], child)
        return out


def _plain_scalar(value: Any) -> Any:
    # ruamel gives str subclasses (ScalarString), ScalarFloat, ScalarBoolean...; normalise
    # so equality, JSON encoding and jsonschema type checks behave as for plain values.
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return bool(value) if type(value).__name__ == "ScalarBoolean" else int(value)
    if isinstance(value, float):
        return float(value)
    # Timestamps and other tagged scalars: keep their source text; specs want strings.
    return str(value)


# Parser messages a person cannot act on -> (what to tell them, report at the context mark:
# where the construct began rather than where the parser gave up, often the next line).
_PLAIN_WORDS: tuple[tuple[str, str, bool], ...] = (
    ("could not find expected ':'", "missing ':' after a key (write `key: value`)", True),
    ("mapping values are not allowed here",
     "unexpected ':': this line is indented deeper than the key above it (or quote a value that holds ': ')", False),
    ("but found '<block mapping start>'", "indentation does not line up with the keys above this line", False),
    ("but found '<block sequence start>'", "indentation does not line up with the list items above", False),
    ("found character '\\t' that cannot start any token", "a tab where YAML needs spaces; indent with spaces", False),
)


def _plain(error: MarkedYAMLError, detail: str) -> tuple[str, Any]:
    """A message in the spec author's terms and the mark to report it at."""
    for raw, plain, at_context in _PLAIN_WORDS:
        if raw in detail:
            mark = error.context_mark if at_context and error.context_mark is not None else error.problem_mark
            return plain, mark
    return detail, error.problem_mark or error.context_mark


def _syntax_problem(file: str, error: YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if isinstance(error, MarkedYAMLError):
        detail = " ".join(" ".join(part for part in (error.context, error.problem) if part).split()) or str(error)
        detail, mark = _plain(error, detail)
    else:
        detail = " ".join(str(error).splitlines()[0].split())
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Problem(file, line, col, "", f"YAML syntax error: {detail}")


_STR, _NULL, _MERGE = "tag:yaml.org,2002:str", "tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"


class _NotPlain(Exception):
    """A construct the node walk leaves to the round-trip loader (merge or duplicate keys, errors)."""


class _NodeConverter(_Budgeted):
    """Composed nodes to plain data, positions from the nodes' marks, within a node budget.

    Scalars other than strings and nulls are built by ruamel's round-trip constructor, so
    every value (timestamps, `0o17`, tagged scalars) comes out exactly as the round-trip
    loader gives it."""

    def __init__(self, located: Located, constructor: Any):
        super().__init__(located)
        self.constructor = constructor

    def convert(self, node: Node, path: PathTuple) -> Any:
        self.spend(path)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            out = []
            for index, item in enumerate(node.value):
                self.located.positions[path + (index,)] = (item.start_mark.line + 1, item.start_mark.column + 1)
                out.append(self.convert(item, path + (index,)))
            return out
        return self._scalar(node)

    def _mapping(self, node: MappingNode, path: PathTuple) -> dict:
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE:
                raise _NotPlain
            key = self._scalar(key_node)
            if not isinstance(key, str) or key in out:
                raise _NotPlain
            child = path + (key,)
            self.located.key_positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            self.located.positions[child] = (value_node.start_mark.line + 1, value_node.start_mark.column + 1)
            out[key] = self.convert(value_node, child)
        return out

    def _scalar(self, node: Node) -> Any:
        if not isinstance(node, ScalarNode):
            raise _NotPlain
        if node.tag == _STR:
            return node.value
        if node.tag == _NULL:
            return None
        try:
            return _plain_scalar(self.constructor.construct_object(node, deep=True))
        except (YAMLError, ValueError, TypeError) as error:
            raise _NotPlain from error


def _load_from_nodes(text: str, file: str) -> list[Located] | None:
    """The documents through the C parser's node tree; None when the round-trip loader
    must decide (see `_NotPlain`)."""
    try:
        nodes = list(_yaml_composer().compose_all(text))
    except YAMLError:
        return None
    constructor = _yaml_rt().constructor
    documents = []
    try:
        for node in nodes:
            located = Located(file=file, data=None)
            located.data = _NodeConverter(located, constructor).convert(node, ()) if node is not None else None
            documents.append(located)
    except _NotPlain:
        return None
    return documents


def _yaml_composer() -> YAML:
    # typ "safe" with ruamel.yaml.clib: libyaml composes, ruamel's YAML 1.2 resolver tags
    return YAML(typ="safe", pure=not HAVE_CLIB)


def load_located(text: str, file: str) -> list[Located]:
    """Every document in `text`, as plain data with positions. Raises SpecError on bad YAML."""
    documents = _load_from_nodes(text, file)
    if documents is not None:
        return documents
    return _load_round_trip(text, file)


def _load_round_trip(text: str, file: str) -> list[Located]:
    try:
        raw_documents = list(_yaml_rt().load_all(text))
    except YAMLError as error:
        raise SpecError([_syntax_problem(file, error)]) from None
    except (ValueError, TypeError) as error:  # e.g. an impossible timestamp such as 2027-02-30
        raise SpecError([Problem(file, 1, 1, "", f"YAML value error: {error}")]) from None
    except RecursionError:  # ruamel's constructor recurses; the converter below refuses at MAX_DEPTH anyway
        raise SpecError([Problem(file, 1, 1, "", f"nested deeper than {MAX_DEPTH} levels; refusing to load")]) from None
    documents = []
    for raw in raw_documents:
        located = Located(file=file, data=None)
        located.data = _Converter(located).convert(raw, ())
        documents.append(located)
    return documents


def load_all_plain(text: str, file: str) -> list[Any]:
    """Plain data of every document, without positions (for manifests and CRDs we only read)."""
    return [doc.data for doc in load_located(text, file) if doc.data is not None]


_YAML11_NON_STRINGS = re.compile(
    r"""^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
    |~|null|Null|NULL|
    [-+]?(?:0b[01_]+|0[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+|[0-9][0-9_]*)
    |[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*(?:[eE][-+]?[0-9]+)
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    |[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?)$""",
    re.VERBOSE,
)


def _represent_str(representer: Any, value: str) -> Any:
    # Consumers differ (Helm and Argo read YAML 1.1, where `yes`/`on`/`0755` are not
    # strings): quote anything either YAML version could read as another type.
    if "\n" in value:
        # Literal blocks keep embedded manifests readable; the emitter falls back to
        # quoting when a block cannot represent the text exactly (e.g. trailing spaces).
        return representer.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    if value == "" or _YAML11_NON_STRINGS.match(value):
        return representer.represent_scalar("tag:yaml.org,2002:str", value, style="'")
    return representer.represent_str(value)


class _Dumper(getattr(pyyaml, "CSafeDumper", pyyaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter with the house representation: strings any YAML version could
    read as another type are quoted, never anchors or aliases. Floats keep PyYAML's form
    (`1.0e-05`, a float in YAML 1.1 too, where `1e-05` is a string)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(str, _represent_str)
_DUMP_OPTIONS: dict[str, Any] = {
    "Dumper": _Dumper,
    "default_flow_style": False,
    "width": 4096,  # never fold long strings: keeps diffs line-stable
    "indent": 2,  # sequences flush with their key, kubectl's style
    "sort_keys": False,  # the blueprint's key order is for people
    "allow_unicode": True,
}


class _FastLoader(getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser with YAML 1.2 scalars: only true/false are booleans, no dates."""

    def resolve(self, kind: Any, value: Any, implicit: tuple[bool, bool]) -> str:
        """PyYAML's `Resolver.resolve` for a loader without path resolvers, with each first
        character's resolvers listed once: libyaml calls it for every node, and PyYAML's
        own, which joins two lists per call, was a fifth of loading rendered files."""
        if kind is pyyaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in _SCALAR_RESOLVERS.get(value[:1], _ANY_FIRST):
                    if regexp.match(value):
                        return tag
            return _STR
        return _SEQ if kind is pyyaml.SequenceNode else _MAP


_FastLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in pyyaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first, _resolvers in list(_FastLoader.yaml_implicit_resolvers.items()):
    _FastLoader.yaml_implicit_resolvers[_first] = [
        (tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$") if tag == "tag:yaml.org,2002:bool" else regexp)
        for tag, regexp in _resolvers]
_PLAIN_SCALARS = {f"tag:yaml.org,2002:{name}": _FastLoader.yaml_constructors[f"tag:yaml.org,2002:{name}"]
                  for name in ("int", "float", "bool")}
assert not _FastLoader.yaml_path_resolvers, "the fast resolve above assumes no path resolvers"
# first character -> its resolvers, then those for any first character (PyYAML's order)
_ANY_FIRST: list[tuple[str, Any]] = list(_FastLoader.yaml_implicit_resolvers.get(None, []))
_SCALAR_RESOLVERS = {first: [*resolvers, *_ANY_FIRST]
                     for first, resolvers in _FastLoader.yaml_implicit_resolvers.items() if first is not None}


def _plain_documents(text: str) -> list[Any] | None:
    """PyYAML's result for `text`, built from libyaml's nodes without the constructor's
    generator machinery (a fifth of the parse for Helm's and the blueprints' output).
    Strings and nulls are read off the nodes; other scalars go through the constructor.
    An alias gives the same object, as PyYAML's does. None for merge keys, recursive
    aliases and keys that are not scalars: the constructor handles those."""
    loader = _FastLoader(text)
    try:
        documents = []
        while loader.check_node():
            root = loader.get_node()  # holds its nodes, so their ids stay unique while it is built
            builder = _NodeBuilder(loader)  # anchors do not reach past their document
            documents.append(builder.build(root))
            if builder.aliased:
                _refuse_alias_bombs(documents[-1:])
        return documents
    except _NotPlain:
        return None
    finally:
        loader.dispose()


class _NodeBuilder:
    """One document's values from its nodes. A class, not a recursive closure: a closure
    that calls itself is a reference cycle, which kept every loader, node and mark of
    every file alive until the cyclic collector ran (with the collector off, a cold
    `check` worker's memory more than doubled)."""

    def __init__(self, loader: Any):
        self.loader = loader
        self.built: dict[int, Any] = {}
        self.in_progress: set[int] = set()
        self.aliased = False

    def build(self, node: Any, depth: int = 0) -> Any:
        tag = node.tag
        if tag == _STR and node.__class__ is pyyaml.ScalarNode:
            return node.value
        if tag == _NULL and node.__class__ is pyyaml.ScalarNode:
            return None
        if node.__class__ is pyyaml.ScalarNode:
            plain = _PLAIN_SCALARS.get(tag)  # numbers and booleans: their constructor, without its bookkeeping
            return plain(self.loader, node) if plain is not None else self.loader.construct_object(node, deep=True)
        key = id(node)
        if key in self.built:
            self.aliased = True
            return self.built[key]
        if key in self.in_progress:
            raise _NotPlain
        if depth >= MAX_DEPTH:
            raise _TooDeep(node.start_mark.line + 1, node.start_mark.column + 1)
        self.in_progress.add(key)
        value: Any
        scalar = pyyaml.ScalarNode
        if node.__class__ is pyyaml.MappingNode and tag == _MAP:
            value = {}
            for key_node, value_node in node.value:
                if key_node.__class__ is not scalar or key_node.tag == _MERGE:
                    raise _NotPlain
                key_text = key_node.value if key_node.tag == _STR else self.build(key_node)
                # a string value is most of a manifest: read off the node, not a call each
                value[key_text] = value_node.value if value_node.__class__ is scalar and value_node.tag == _STR \
                    else self.build(value_node, depth + 1)
        elif node.__class__ is pyyaml.SequenceNode and tag == _SEQ:
            value = [item.value if item.__class__ is scalar and item.tag == _STR else self.build(item, depth + 1)
                     for item in node.value]
        else:
            raise _NotPlain  # a tagged collection (!!set, !!omap, a local tag): the constructor decides
        self.in_progress.discard(key)
        self.built[key] = value
        return value


_MAP, _SEQ = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
MAX_EXPANDED = 1_000_000  # values an aliased document may expand to, at ten times its own size or more


class _TooDeep(Exception):
    def __init__(self, line: int, column: int):
        super().__init__(line, column)
        self.line, self.column = line, column


class _AliasBomb(Exception):
    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


def _refuse_alias_bombs(documents: list[Any]) -> None:
    """An alias shares one object, so building a billion-laughs document is cheap, but
    everything that walks it afterwards (schemas, CEL, policies) expands it. Refused, as
    go-yaml (kubectl, kubeconform) refuses "excessive aliasing", when its expanded size is
    past MAX_EXPANDED and ten times the values it actually holds."""
    sizes: dict[int, int] = {}

    def size(value: Any) -> int:
        if not isinstance(value, (dict, list)):
            return 1
        key = id(value)
        if key not in sizes:
            sizes[key] = 0  # a cycle (recursive alias) counts once
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            sizes[key] = 1 + sum(size(item) for item in items)
        return sizes[key]

    for document in documents:
        sizes.clear()
        expanded = size(document)
        if expanded > MAX_EXPANDED and expanded > 10 * _held_values(document):
            raise _AliasBomb(expanded)


def _held_values(document: Any) -> int:
    """The values a document holds, each shared container counted once."""
    seen: set[int] = set()
    count, stack = 0, [document]
    while stack:
        value = stack.pop()
        count += 1
        if isinstance(value, (dict, list)) and id(value) not in seen:
            seen.add(id(value))
            stack.extend([*value.keys(), *value.values()] if isinstance(value, dict) else value)
    return count


def load_one_fast(text: str) -> Any:
    """One document through libyaml with YAML 1.2 scalars; raises yaml.YAMLError.

    For small embedded YAML read on every run (policy METADATA comments)."""
    return pyyaml.load(text, Loader=_FastLoader)


def load_all_fast(text: str, file: str) -> list[Any]:
    """Plain data of every document, without positions, through libyaml.

    For YAML modelops produced itself (blueprint output, Helm output, embedded manifests);
    specs, with their positions and error locations, go through `load_located`.
    """
    try:
        documents = _plain_documents(text)
        if documents is None:  # what the node walk leaves to PyYAML's constructor
            documents = list(pyyaml.load_all(text, Loader=_FastLoader))
            _refuse_alias_bombs(documents)
        return [doc for doc in documents if doc is not None]
    except _AliasBomb as bomb:
        raise SpecError([Problem(file, 1, 1, "", f"a document expands its aliases to {bomb.size:,} values, over "
                                 f"ten times its own size (YAML alias/anchor bomb?); refusing to load")]) from None
    except _TooDeep as deep:
        raise SpecError([Problem(file, deep.line, deep.column, "", f"nested deeper than {MAX_DEPTH} levels; "
                                 "refusing to load")]) from None
    except RecursionError:  # PyYAML's constructor, for what the node walk leaves to it
        raise SpecError([Problem(file, 1, 1, "", f"nested deeper than {MAX_DEPTH} levels; refusing to load")]) from None
    except pyyaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError([Problem(file, line, col, "", f"YAML syntax error: {problem}")]) from None


def dump_documents(documents: list[Any], header: str = "") -> str:
    """Serialise documents with the house style: block style, no folding, `---` between docs."""
    stream = io.StringIO()
    if header:
        stream.write(header)
    for index, document in enumerate(documents):
        if index:
            stream.write("---\n")
        pyyaml.dump(document, stream, **_DUMP_OPTIONS)
    return stream.getvalue()
