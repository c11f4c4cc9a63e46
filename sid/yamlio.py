"""The one YAML loader: limits, line numbers and schema problems for every YAML format.

Codebooks, origin rule sets, weighting specs and table specs are all read here.
A YAML file is untrusted input, so before anything is built from it the event
stream (PyYAML's parser is an explicit state machine, not recursion) is checked
against hard limits: file size, UTF-8 text, nesting depth, the number of nodes
*after* alias expansion (an 871-byte "billion laughs" file would otherwise
expand to gigabytes), recursive aliases and numbers too long to convert. Only
then is the document composed (for line numbers) and constructed with the safe
loader (no tags execute code). libyaml's parser does this when PyYAML has it and
the text has nothing where libyaml is more lenient (:func:`parse_yaml`); every
error is the pure parser's.

:func:`validate_model` turns pydantic's errors into one ``file:line: path:
message`` line per problem, with a did-you-mean for unknown keys, and raises
them all at once as one :class:`~sid.errors.CodebookError`.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from sid.errors import CodebookError, InputError
from sid.formatting import format_number

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_NUMBER_CHARS",
    "YamlDocument",
    "parse_yaml",
    "read_yaml",
    "schema_problems",
    "validate_model",
]

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_NUMBER_CHARS = 64

_NUMBER = re.compile(r"^[-+]?(\.?[0-9][0-9_,.:eE+-]*|\.inf|\.nan)$", re.IGNORECASE)

Model = TypeVar("Model")


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: its data, its name, and the line of every key path."""

    data: Any
    source: str
    lines: Mapping[tuple[str, ...], int]
    duplicates: tuple[tuple[tuple[str, ...], int], ...] = ()

    def line(self, *path: Any) -> int | None:
        """The line of the deepest known prefix of ``path`` (1-based), or None."""
        key = tuple(normalise_key(p) for p in path)
        for cut in range(len(key), -1, -1):
            if key[:cut] in self.lines:
                return self.lines[key[:cut]]
        return None

    def where(self, *path: Any) -> str:
        """``file:line: a.b.c`` for messages."""
        line = self.line(*path)
        dotted = ".".join(normalise_key(p) for p in path) or "(top)"
        return f"{self.source}:{line}: {dotted}" if line else f"{self.source}: {dotted}"

    def duplicate_problems(self) -> list[str]:
        """One problem per key given twice in one mapping (YAML silently keeps the last)."""
        return [f"{self.source}:{line}: {'.'.join(path)}: key given twice (YAML keeps only "
                "the last). Expected: each key once" for path, line in self.duplicates]


def normalise_key(part: Any) -> str:
    """A path part as text: ``1.0`` and ``"1"`` both read ``1`` so that lookups match."""
    text = format_number(part)
    if text.lstrip("-").endswith(".0") and text.lstrip("-")[:-2].isdigit():
        return text[:-2]
    return text


def read_yaml(path: str | os.PathLike[str], *, what: str = "YAML file") -> YamlDocument:
    """Read a YAML file within the limits; one clear error for anything unreadable."""
    p = Path(path)
    name = str(path)
    if p.is_dir():
        raise InputError(f"is a folder, not a {what}", where=name, fix=f"give the {what} itself")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise CodebookError(f"the {what} is {size:,} bytes, over the limit of {MAX_BYTES:,}",
                                where=name, fix=f"a {what} is a small text file: check the path")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{what} not found", where=name, fix="check the path") from None
    except OSError as exc:
        raise InputError(f"cannot read the {what}: {exc.strerror}", where=name,
                         fix="check the path and its permissions") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"the {what} is not UTF-8 text (byte {exc.start}: {raw[exc.start]:#04x})",
                         where=name, fix="save the file as UTF-8") from None
    return parse_yaml(text, source=name, what=what)


def parse_yaml(text: str, *, source: str = "YAML", what: str = "YAML file") -> YamlDocument:
    """Parse YAML text within the limits (``source`` names it in messages).

    libyaml's parser (``yaml.CSafeLoader``, ~10x faster) reads it when PyYAML has it;
    anything it does not read cleanly (invalid YAML, a limit exceeded, text it refuses)
    is read again by PyYAML's pure-Python parser, so every error and every message is
    the pure parser's, as without libyaml. Both build the data with the same safe
    constructor and resolver.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise CodebookError(f"the {what} is over the limit of {MAX_BYTES:,} bytes", where=source,
                            fix=f"a {what} is a small text file")
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None and not _C_DIFFERS.search(text):
        try:
            return _parse(text, source, what, fast)
        except Exception:  # the pure parser reports it, as it always has
            pass
    return _parse(text, source, what, yaml.SafeLoader)


#: Text libyaml may read where PyYAML's pure parser refuses it (tabs, which PyYAML forbids
#: in more places) or counts lines differently (breaks other than ``\n`` and ``\r\n``):
#: such text goes to the pure parser straight away.
_C_DIFFERS = re.compile("[\t\x85\u2028\u2029]|\r(?!\n)")
#: A block scalar's header (from its first column) as both parsers read it: ``|`` or ``>``,
#: an optional chomping and indentation indicator, then spaces and a comment or nothing.
_BLOCK_HEADER = re.compile(r"[|>]([-+][1-9]?|[1-9][-+]?)?( +#.*)? *\r?$")


class _NotLikePyYAML(Exception):
    """libyaml read a construct where it is more lenient than PyYAML's pure parser."""


def _like_pyyaml(event: yaml.Event, lines: list[str], flow_start: int | None) -> None:
    """Raise :class:`_NotLikePyYAML` for what libyaml accepts and PyYAML's pure parser may
    not (found by fuzzing both, tests/test_yamlio.py): any tag (``!``), a block scalar
    header with more than the indicators and a comment, and a ``?`` inside a flow
    collection (PyYAML ends a plain scalar there: ``[B?I]`` is an error)."""
    if getattr(event, "tag", None) is not None:
        raise _NotLikePyYAML("tag")
    start, end = event.start_mark, event.end_mark
    if start is None or end is None:
        raise _NotLikePyYAML("no place")
    if isinstance(event, yaml.ScalarEvent) and event.style in ("|", ">"):
        line = lines[start.line] if start.line < len(lines) else ""
        if not _BLOCK_HEADER.fullmatch(line, start.column):
            raise _NotLikePyYAML("block scalar header")
    if flow_start is not None and any("?" in line for line in lines[flow_start:end.line + 1]):
        raise _NotLikePyYAML("? in a flow collection")


def _parse(text: str, source: str, what: str, loader_class: Any) -> YamlDocument:
    """:func:`parse_yaml` with one parser (``yaml.SafeLoader`` or ``yaml.CSafeLoader``)."""
    lines: dict[tuple[str, ...], int] = {}
    dups: list[tuple[tuple[str, ...], int]] = []
    try:
        _check_events(text, source, what, loader_class)
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            # Lines first: constructing flattens merge keys (<<) into the node in place.
            if node is not None:
                _line_map(node, (), lines, dups)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise CodebookError(f"not valid YAML: {problem}".replace("\n", " "), where=where,
                            fix="check indentation and quotes around the line shown") from None
    except (ValueError, OverflowError, RecursionError) as exc:
        raise CodebookError(f"cannot read this YAML: {type(exc).__name__}", where=source,
                            fix="simplify the value shown, or save the file again") from None
    return YamlDocument(data=data, source=source, lines=types.MappingProxyType(lines),
                        duplicates=tuple(dups))


def _check_events(text: str, source: str, what: str, loader_class: Any = yaml.SafeLoader) -> None:
    """Depth, expanded size, recursive aliases and number length, from the event stream."""
    sizes: dict[str, int] = {}
    depths: dict[str, int] = {}
    open_anchors: set[str] = set()
    # One frame per open collection: [anchor, nodes so far, deepest child depth].
    stack: list[list[Any]] = []
    total = 0

    def add(count: int, depth: int, line: int) -> None:
        nonlocal total
        if stack:
            stack[-1][1] += count
            stack[-1][2] = max(stack[-1][2], depth)
        else:
            total += count
        if total > MAX_NODES or (stack and stack[-1][1] > MAX_NODES):
            raise CodebookError(
                f"the {what} expands to more than {MAX_NODES:,} values (aliases included)",
                where=f"{source}:{line}", fix="write the values out; do not nest aliases")
        if len(stack) + depth > MAX_DEPTH:
            raise CodebookError(f"the {what} nests deeper than {MAX_DEPTH} levels",
                                where=f"{source}:{line}", fix="flatten the structure")

    strict = loader_class is not yaml.SafeLoader
    text_lines = text.split("\n") if strict else []
    flow_starts: list[int | None] = []
    for event in yaml.parse(text, Loader=loader_class):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if strict:
            _like_pyyaml(event, text_lines, flow_starts[-1] if flow_starts and
                         isinstance(event, yaml.CollectionEndEvent) else None)
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) + 1 > MAX_DEPTH:
                raise CodebookError(f"the {what} nests deeper than {MAX_DEPTH} levels",
                                    where=f"{source}:{line}", fix="flatten the structure")
            if event.anchor:
                open_anchors.add(event.anchor)
            stack.append([event.anchor, 1, 0])
            flow_starts.append(line - 1 if event.flow_style else None)
        elif isinstance(event, yaml.CollectionEndEvent):
            flow_starts.pop()
            anchor, count, depth = stack.pop()
            if anchor:
                sizes[anchor], depths[anchor] = count, depth + 1
                open_anchors.discard(anchor)
            add(count, depth + 1, line)
        elif isinstance(event, yaml.ScalarEvent):
            if (event.style is None and len(event.value) > MAX_NUMBER_CHARS
                    and _NUMBER.match(event.value.strip())):
                raise CodebookError(
                    f"a number of {len(event.value):,} characters", where=f"{source}:{line}",
                    got=event.value[:20] + "…", fix="give numbers of at most "
                    f"{MAX_NUMBER_CHARS} characters (quote it if it is an identifier)")
            if event.anchor:
                sizes[event.anchor], depths[event.anchor] = 1, 1
            add(1, 1, line)
        elif isinstance(event, yaml.AliasEvent) and event.anchor is not None:
            if event.anchor in open_anchors:
                raise CodebookError(f"alias *{event.anchor} refers to itself", where=f"{source}:{line}",
                                    fix="remove the recursive alias")
            add(sizes.get(event.anchor, 1), depths.get(event.anchor, 1), line)


def _line_map(node: yaml.Node, path: tuple[str, ...], out: dict[tuple[str, ...], int],
              dups: list[tuple[tuple[str, ...], int]]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = _key_text(key)
            if name in seen:
                dups.append(((*path, name), key.start_mark.line + 1))
            seen.add(name)
            _line_map(value, (*path, name), out, dups)
            out[(*path, name)] = key.start_mark.line + 1  # the key's line, not its value's
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, str(i)), out, dups)


def _key_text(key: yaml.Node) -> str:
    value = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
    if isinstance(key, yaml.ScalarNode) and key.tag.endswith((":int", ":float")):
        try:
            return format_number(float(value))
        except (ValueError, OverflowError):
            return value
    return value


# --------------------------------------------------------------------------- schema problems

_WRAPPERS = ("function-", "list[", "dict[", "tuple[", "union[", "tagged-union[")
_TYPE_PARTS = {"str", "float", "int", "bool", "constrained-str", "constrained-float",
               "constrained-int", "literal", "none", "is-instance", "json-or-python"}


def schema_problems(doc: YamlDocument, errors: Sequence[Mapping[str, Any]],
                    model: type | None = None, prefix: Sequence[str] = ()) -> list[str]:
    """Pydantic error dicts as ``file:line: path: message (got ...)`` lines.

    ``model`` (the validated class) lets unknown keys get a did-you-mean from the
    fields allowed at that level; ``prefix`` is the document path the data came from.
    """
    out: list[str] = []
    for err in errors:
        loc = tuple(str(p) for p in err["loc"]
                    if not str(p).startswith(_WRAPPERS) and str(p) not in _TYPE_PARTS)
        path = (*prefix, *loc)
        got = err.get("input")
        if err["type"] == "extra_forbidden":
            allowed = _fields_at(model, loc[:-1]) if model is not None else []
            close = _did_you_mean(loc[-1], allowed) if loc else []
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listed = f" (allowed: {', '.join(allowed)})" if allowed else ""
            out.append(f"{doc.where(*path)}: unknown key{hint}{listed}")
            continue
        got_text = ("" if isinstance(got, dict | list) or err["type"] == "missing"
                    else f" (got {_short(got)})")
        out.append(f"{doc.where(*path)}: {err['msg']}{got_text}")
    return list(dict.fromkeys(out))


def _did_you_mean(key: str, allowed: Sequence[str]) -> list[str]:
    """The allowed key the user most likely meant: a prefix match first, then a close spelling."""
    prefixed = [a for a in allowed if a.startswith(key) or key.startswith(a)]
    return prefixed[:1] or difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fields_at(model: type, loc: Sequence[str]) -> list[str]:
    """Field names (aliases) of the pydantic model found by following ``loc``; [] if unknown.

    The annotation is walked one path part at a time: a model's field, a list's
    item (an index part), a dict's value (a key part), through Optional/Union/
    Annotated; the fields are those of the model reached at the end.
    """
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    found = _model_in(current)
    fields = getattr(found, "model_fields", None) if found is not None else None
    if not fields:
        return []
    return [f.alias or name for name, f in fields.items()]


def _step(annotation: Any, part: str) -> Any:
    """The annotation one path part further down, or None when it cannot be followed."""
    fields = getattr(annotation, "model_fields", None)
    if fields is not None:
        for name, f in fields.items():
            if part in (name, f.alias):
                return f.annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (list, tuple, set, frozenset, Sequence) and args:
        return args[0]
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    for arg in args:  # Optional, Union, Annotated: the first branch that can be followed
        if arg is type(None):
            continue
        found = _step(arg, part)
        if found is not None:
            return found
    return None


def _model_in(annotation: Any) -> Any:
    """The first pydantic model inside an annotation (Optional, Union, Annotated)."""
    if getattr(annotation, "model_fields", None) is not None:
        return annotation
    if typing.get_origin(annotation) in (list, tuple, set, dict, Mapping, Sequence):
        return None
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def validate_model(doc: YamlDocument, model: type[Model], *, what: str, fix: str,
                   data: Any = None, extra_problems: Sequence[str] = ()) -> Model:
    """Validate ``doc.data`` (or ``data``) against a pydantic model; every problem at once.

    Duplicate keys and ``extra_problems`` (semantic checks the caller already ran)
    are reported in the same error.
    """
    from pydantic import ValidationError

    problems = doc.duplicate_problems() + list(extra_problems)
    result: Any = None
    try:
        result = model.model_validate(doc.data if data is None else data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        problems += schema_problems(doc, exc.errors(), model)
    if problems:
        raise CodebookError(f"the {what} has {len(problems)} problem(s)", where=doc.source,
                            problems=tuple(dict.fromkeys(problems)), fix=fix)
    return typing.cast(Model, result)
