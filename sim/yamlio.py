"""Safe YAML reading that remembers where every value came from.

Every problem in a scenario or plan file is reported as ``file:line: field: message`` — one line
per problem, never a traceback. To do that the loader keeps the line of each mapping key and list
item; the parsers in :mod:`sim.plan` and :mod:`sim.scenario` collect :class:`Problem` objects and
raise one :class:`InputError` holding all of them.

Inputs are bounded, so no file can hang or exhaust a run: at most :data:`MAX_FILE_BYTES` (checked
before reading), nested at most :data:`MAX_DEPTH` levels, and no YAML aliases (``*name``: an
alias bomb of a few hundred bytes expands to gigabytes once a value is copied or printed). Every
number :meth:`Reader.take` reads is finite before any range check (NaN passes ``<`` and ``>``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

try:  # libyaml's parser (4x faster); the composer stays ours, to refuse aliases and deep nesting
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

#: The largest input file read (a plan is about 40 KB; a roster of 1,000 people about 150 KB).
MAX_FILE_BYTES = 1_000_000
#: The deepest nesting of mappings and lists (the shipped files nest at most 10 levels).
MAX_DEPTH = 32


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        # one line, whatever a key or value typed into the file holds; no colon in the field
        # (a key typed as "rooms:" shows as rooms\x3a), so the line splits at its colons
        field = self.field.replace(":", "\\x3a")
        return f"{self.file}:{self.line}: {field}: {self.message}".translate(_ONE_LINE)


#: Every character that ends a line (``str.splitlines``), so a problem prints as one line.
_ONE_LINE = str.maketrans(
    {"\n": "\\n", "\r": "\\r"} | {c: " " for c in "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}
)


class InputError(Exception):
    """A file could not be used; ``problems`` lists every reason, one per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line, p.field, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))


class LineDict(dict):
    """A mapping read from YAML, with the line of itself and of each key (1-based)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.line = 0
        self.key_lines: dict[str, int] = {}


class LineList(list):
    """A list read from YAML, with the line of itself and of each item (1-based)."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.line = 0
        self.item_lines: list[int] = []


class _Bounded:
    """Composer hooks shared by both loaders: no aliases, at most :data:`MAX_DEPTH` levels."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise ComposerError(
                None,
                None,
                f"YAML aliases (*{event.anchor}) are not allowed: write the value out",
                event.start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(
                    None,
                    None,
                    f"nested more than {MAX_DEPTH} levels deep (MAX_DEPTH)",
                    self.peek_event().start_mark,
                )
            return Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1


if _CParser is not None:

    class _Loader(_Bounded, _CParser, Composer, SafeConstructor, Resolver):  # type: ignore[misc]
        """libyaml's parser with PyYAML's composer (bounded) and safe constructor; records lines."""

        def __init__(self, stream: str):
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

        # the C parser composes by itself; these make it go through the bounded composer
        check_node = Composer.check_node
        get_node = Composer.get_node
        get_single_node = Composer.get_single_node
        compose_document = Composer.compose_document

else:  # pragma: no cover

    class _Loader(_Bounded, yaml.SafeLoader):  # type: ignore[no-redef]
        """SafeLoader that records lines; unsafe tags still fail as in SafeLoader."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be plain text", key_node.start_mark
            )
        key = str(key)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


class _NoAliases(yaml.SafeDumper):
    """A safe dumper that writes a value twice rather than as an alias (which loaders refuse)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any, width: int = 120) -> str:
    """YAML text that :func:`load_text` reads back: safe types, never an alias."""
    return yaml.dump(data, Dumper=_NoAliases, allow_unicode=True, sort_keys=False, width=width)


def load_text(text: str, file: str) -> Any:
    """Parse YAML text safely; syntax errors, unsafe tags, aliases, deep nesting and oversized
    text become an :class:`InputError`."""
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise InputError([_too_big(file, len(text.encode("utf-8", "replace")))])
    if "\x00" in text:
        raise InputError([Problem(file, 1, "(file)", "binary content, not a YAML text file")])
    if not text.strip():
        raise InputError([Problem(file, 1, "(file)", "the file is empty")])
    try:
        loader = _Loader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = (exc.problem or exc.context or "invalid YAML").strip()
        if "nesting depth" in what:  # libyaml's own limit, deeper than ours
            what = f"nested more than {MAX_DEPTH} levels deep (MAX_DEPTH)"
        if "could not determine a constructor" in what:
            what = (
                "unsafe or unknown YAML tag " + what.split("tag", 1)[-1].strip() + " is not allowed"
            )
        return _raise(file, line, what)
    except yaml.YAMLError as exc:  # other parser failures carry no mark
        return _raise(file, 1, str(exc).splitlines()[0] if str(exc) else "invalid YAML")
    except UnicodeError:  # text that is not UTF-8 (lone surrogates)
        return _raise(file, 1, "not UTF-8 text")
    except ValueError:  # a number past Python's digit limit (int-from-string)
        long = re.search(r"\d{4000,}", text)
        line = text.count("\n", 0, long.start()) + 1 if long else 1
        return _raise(file, line, "a number too long to read (thousands of digits)")
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops nesting long before
        return _raise(file, 1, "nested too deeply to read")


def _raise(file: str, line: int, message: str) -> Any:
    raise InputError([Problem(file, line, "(yaml)", message)])


def _too_big(file: str, size: int | None) -> Problem:
    this = f" (this one: {size:,} bytes)" if size is not None else ""
    return Problem(
        file,
        1,
        "(file)",
        f"too large: input files hold at most {MAX_FILE_BYTES:,} bytes (MAX_FILE_BYTES){this}",
    )


def read_text(path: str | Path) -> str:
    """A file's UTF-8 text, refused unread when larger than :data:`MAX_FILE_BYTES`."""
    path = Path(path)
    name = str(path)
    try:
        with path.open("rb") as fh:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise InputError([_too_big(name, size)])
            raw = fh.read(MAX_FILE_BYTES + 1)  # a device or pipe may say 0 and never end
    except OSError as exc:
        raise InputError(
            [Problem(name, 1, "(file)", f"cannot read: {exc.strerror or exc}")]
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError([_too_big(name, None)])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([Problem(name, 1, "(file)", "binary content, not UTF-8 text")]) from None


def load_file(path: str | Path) -> Any:
    """Read and parse a YAML file; unreadable, oversized, binary or empty files give an
    :class:`InputError`."""
    return load_text(read_text(path), str(path))


def line_of(node: Any, key: str | int | None = None, default: int = 1) -> int:
    """The line of ``node`` itself, or of one of its keys or items."""
    if key is not None:
        if isinstance(node, LineDict) and isinstance(key, str) and key in node.key_lines:
            return node.key_lines[key]
        if isinstance(node, LineList) and isinstance(key, int) and 0 <= key < len(node.item_lines):
            return node.item_lines[key]
    return getattr(node, "line", default) or default


class Reader:
    """Collects problems while a parser walks a YAML tree.

    ``take`` reads one field with a type check and an optional range check; unknown keys are
    reported by ``unknown``. The parser keeps going after a problem so that a user sees every
    problem of a file at once.
    """

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        #: field -> where its number comes from (a ``source:`` written beside it)
        self.sources: dict[str, str] = {}

    def add(self, node: Any, key: str | int | None, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, line_of(node, key), field, message))

    def mapping(self, node: Any, field: str, parent: Any = None, key: Any = None) -> LineDict:
        if isinstance(node, dict):
            return node  # type: ignore[return-value]
        where = parent if parent is not None else node
        self.add(where, key, field, f"expected a mapping, got {_kind(node)}")
        empty = LineDict()
        empty.line = line_of(where, key)
        return empty

    def sequence(self, node: Any, field: str, parent: Any = None, key: Any = None) -> list:
        if isinstance(node, list):
            return node
        self.add(
            parent if parent is not None else node,
            key,
            field,
            f"expected a list, got {_kind(node)}",
        )
        return []

    def unknown(self, node: dict, allowed: set[str] | list[str], prefix: str) -> None:
        for key in node:
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.add(node, key, _join(prefix, key), f"unknown key (allowed: {hint})")

    def take(
        self,
        node: dict,
        key: str,
        prefix: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
        *,
        min_value: float | None = None,
        max_value: float | None = None,
        choices: list | tuple | set | None = None,
        bound: str = "",
    ) -> Any:
        """``node[key]`` if of ``kind`` (finite, within the range, one of ``choices``), else
        ``default`` (missing and no default: a problem). ``bound`` names the maximum's reason."""
        field = _join(prefix, key)
        if key not in node:
            if default is ...:
                self.add(node, None, field, "required field is missing")
                return None
            return default
        value = node[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value) if abs(value) < 10**300 else math.inf
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = " or ".join(_type_name(k) for k in kinds)
            hint = number_hint(value) if float in kinds or int in kinds else ""
            self.add(node, key, field, f"expected {names}, got {_kind(value)}{hint}")
            return None if default is ... else default
        if isinstance(value, float) and not math.isfinite(value):
            self.add(node, key, field, f"expected a finite number, got {value}")
            return None if default is ... else default
        if choices is not None and value not in choices:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "…"
            self.add(node, key, field, f"{shown} is not one of {', '.join(map(str, choices))}")
            return None if default is ... else default
        if min_value is not None and value < min_value:
            self.add(node, key, field, f"{_num(value)} is below the minimum {min_value:g}")
            return None if default is ... else default
        if max_value is not None and value > max_value:
            why = f" ({bound})" if bound else ""
            self.add(node, key, field, f"{_num(value)} is above the maximum {max_value:g}{why}")
            return None if default is ... else default
        return value

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)


def _join(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)


def _type_name(kind: type) -> str:
    return {
        str: "text",
        int: "an integer",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a mapping",
    }.get(kind, kind.__name__)


def number_hint(value: Any) -> str:
    """For text that reads as a number elsewhere (``1e9``): how to write it in YAML."""
    if not isinstance(value, str) or len(value) > 40:
        return ""
    try:
        number = float(value)
    except ValueError:
        return ""
    if not math.isfinite(number):
        return ""
    shown = str(int(number)) if number.is_integer() and abs(number) < 1e15 else f"{number:.6e}"
    return f" (YAML reads {value.strip()!r} as text: write {shown})"


def _num(value: float) -> str:
    """A number for a message: never hundreds of digits."""
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"a number of about {int(abs(value).bit_length() * 0.30103) + 1} digits"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        return f"the integer {_num(value)}"
    if isinstance(value, float):
        return f"the number {value:g}"
    return f"text {str(value)[:40]!r}"
