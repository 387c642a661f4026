"""Safe YAML reading that remembers where every value came from.

Every problem in a scenario or plan file is reported as ``file:line: field: message`` — one line
per problem, never a traceback. To do that the loader keeps the line of each mapping key and list
item; the parsers in :mod:`sim.plan` and :mod:`sim.scenario` collect :class:`Problem` objects and
raise one :class:`InputError` holding all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


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


class _Loader(yaml.SafeLoader):
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


def load_text(text: str, file: str) -> Any:
    """Parse YAML text safely; syntax errors and unsafe tags become an :class:`InputError`."""
    if "\x00" in text:
        raise InputError([Problem(file, 1, "(file)", "binary content, not a YAML text file")])
    if not text.strip():
        raise InputError([Problem(file, 1, "(file)", "the file is empty")])
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = (exc.problem or exc.context or "invalid YAML").strip()
        if "could not determine a constructor" in what:
            what = (
                "unsafe or unknown YAML tag " + what.split("tag", 1)[-1].strip() + " is not allowed"
            )
        return _raise(file, line, what)
    except yaml.YAMLError as exc:  # pragma: no cover - other parser failures carry no mark
        return _raise(file, 1, str(exc).splitlines()[0])
    except ValueError:  # a number past Python's digit limit (int-from-string)
        long = re.search(r"\d{4000,}", text)
        line = text.count("\n", 0, long.start()) + 1 if long else 1
        return _raise(file, line, "a number too long to read (thousands of digits)")
    except RecursionError:
        return _raise(file, 1, "nested too deeply to read")


def _raise(file: str, line: int, message: str) -> Any:
    raise InputError([Problem(file, line, "(yaml)", message)])


def load_file(path: str | Path) -> Any:
    """Read and parse a YAML file; unreadable, binary or empty files give an :class:`InputError`."""
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(name, 1, "(file)", f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([Problem(name, 1, "(file)", "binary content, not UTF-8 text")]) from None
    return load_text(text, name)


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
    ) -> Any:
        field = _join(prefix, key)
        if key not in node:
            if default is ...:
                self.add(node, None, field, "required field is missing")
                return None
            return default
        value = node[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = " or ".join(_type_name(k) for k in kinds)
            self.add(node, key, field, f"expected {names}, got {_kind(value)}")
            return None if default is ... else default
        if choices is not None and value not in choices:
            self.add(node, key, field, f"{value!r} is not one of {', '.join(map(str, choices))}")
            return None if default is ... else default
        if min_value is not None and value < min_value:
            self.add(node, key, field, f"{value} is below the minimum {min_value:g}")
            return None if default is ... else default
        if max_value is not None and value > max_value:
            self.add(node, key, field, f"{value} is above the maximum {max_value:g}")
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
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value:g}"
    return f"text {str(value)[:40]!r}"
