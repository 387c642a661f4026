"""Safe YAML reading that remembers where every value came from.

Every problem in a scenario or plan file is reported as ``file:line: field: message`` — one line
per problem, never a traceback. To do that the loader keeps the line of each mapping key and list
item; the parsers in :mod:`sim.plan` and :mod:`sim.scenario` collect :class:`Problem` objects and
raise one :class:`InputError` holding all of them.

A problem's message is a stable code with parameters (``Problem.code``, ``Problem.params``), its
words in the catalogue (``problem_<code>`` in ``sim/strings/problems.yaml``): the English is the
CLI's ``message``, the Chinese what the pages show (:func:`sim.labels.problem_text`), both from
the same code, so they cannot drift. A parameter is a value as written in the file (an id, a
number, typed text, a list of allowed keys), or itself words by a code (:class:`Msg`: what a
value is, a type's name) rendered in the same language.

Inputs are bounded, so no file can hang or exhaust a run: at most :data:`MAX_FILE_BYTES` (checked
before reading), nested at most :data:`MAX_DEPTH` levels, and no YAML aliases (``*name``: an
alias bomb of a few hundred bytes expands to gigabytes once a value is copied or printed). Every
number :meth:`Reader.take` reads is finite before any range check (NaN passes ``<`` and ``>``).
"""

from __future__ import annotations

import dataclasses
import errno
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

from sim.i18n import catalogue

try:  # libyaml's parser (4x faster); the composer stays ours, to refuse aliases and deep nesting
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

#: The largest input file read (a plan is about 40 KB; a roster of 1,000 people about 150 KB).
MAX_FILE_BYTES = 1_000_000
#: The deepest nesting of mappings and lists (the shipped files nest at most 10 levels).
MAX_DEPTH = 32


#: The catalogue's prefix of every problem code (``problem_required`` for ``required``).
PROBLEM_PREFIX = "problem_"

Params = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Msg:
    """Words by their code: a problem's message, or a parameter that is itself words (what a
    value is, a type's name, the reason of a bound), rendered in the reader's language by
    :func:`problem_words`. Hashable, so a :class:`Problem` holding one still is."""

    code: str
    params: Params = ()


class AnyOf(tuple):
    """Alternatives joined by the language's "or" (``an integer or a number`` / ``整数或数值``)."""


def msg(code: str, **params: Any) -> Msg:
    """A :class:`Msg` (a catalogue code ``problem_<code>`` with its parameters)."""
    return Msg(code, _frozen(params))


def _frozen(params: Mapping[str, Any] | Params | None) -> Params:
    """Parameters as hashable (name, value) pairs: lists become tuples."""
    pairs = params.items() if isinstance(params, Mapping) else (params or ())
    return tuple((str(k), _frozen_value(v)) for k, v in pairs)


def _frozen_value(value: Any) -> Any:
    if isinstance(value, AnyOf):
        return AnyOf(_frozen_value(v) for v in value)
    if isinstance(value, list | tuple):
        return tuple(_frozen_value(v) for v in value)
    return value


def problem_words(code: str, params: Mapping[str, Any] | Params = (), lang: str = "en") -> str:
    """The words of a problem code in ``lang`` (its ``en`` when ``lang`` has none), parameters
    that are themselves words rendered in the same language. KeyError for an unknown code."""
    entry = catalogue()[PROBLEM_PREFIX + code]
    text = entry.get(lang) or entry["en"]
    return text.format(**{k: _value_words(v, lang) for k, v in _frozen(params)})


def _value_words(value: Any, lang: str) -> str:
    if isinstance(value, Msg):
        return problem_words(value.code, value.params, lang)
    if isinstance(value, AnyOf):
        return _join_or([_value_words(v, lang) for v in value], problem_words("or", (), lang))
    if isinstance(value, tuple):
        return ", ".join(_value_words(v, lang) for v in value)
    return str(value)


def _join_or(items: list[str], sep: str) -> str:
    """Items joined by ``sep``, with a space beside a separator without one (Chinese "或")
    where it meets Latin letters or digits ("on_duty 或 on_call", but "整数或数值")."""
    out = items[0] if items else ""
    for item in items[1:]:
        left = " " if not sep.startswith(" ") and out[-1:].isascii() and out[-1:].isalnum() else ""
        right = " " if not sep.endswith(" ") and item[:1].isascii() and item[:1].isalnum() else ""
        out += left + sep + right + item
    return out


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where, and what by its code (``problem_<code>`` in
    ``sim/strings/problems.yaml``) and parameters; ``message`` is its English words (the CLI's).

    ``code`` may also be given as a :class:`Msg` (its code and parameters). A code the catalogue
    does not have is refused, so every problem can be shown in every language.
    """

    file: str
    line: int
    field: str
    code: str
    params: Params = ()
    message: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        code, params = self.code, self.params
        if isinstance(code, Msg):
            code, params = code.code, code.params + _frozen(params)
        if not isinstance(code, str) or PROBLEM_PREFIX + code not in catalogue():
            raise ValueError(
                f"a Problem needs a code of sim/strings/problems.yaml (problem_<code>), "
                f"not {code!r}"
            )
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "params", _frozen(params))
        object.__setattr__(self, "message", problem_words(code, self.params, "en"))

    def words(self, lang: str) -> str:
        """The message in ``lang`` (``en``: :attr:`message`)."""
        return self.message if lang == "en" else problem_words(self.code, self.params, lang)

    def as_line(self, message: str) -> str:
        """``file:line: field: message`` as one line (the format of :meth:`__str__`)."""
        # one line, whatever a key or value typed into the file holds; no colon in the field
        # (a key typed as "rooms:" shows as rooms\x3a), so the line splits at its colons
        field = self.field.replace(":", "\\x3a")
        return f"{self.file}:{self.line}: {field}: {message}".translate(_ONE_LINE)

    def __str__(self) -> str:
        return self.as_line(self.message)


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


class _Refused(ComposerError):
    """A YAML text refused while composing or constructing; ``words`` says why by its code."""

    def __init__(self, words: Msg, mark: Any):
        super().__init__(None, None, problem_words(words.code, words.params), mark)
        self.words = words


class _Bounded:
    """Composer hooks shared by both loaders: no aliases, at most :data:`MAX_DEPTH` levels."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise _Refused(msg("yaml_alias", anchor=event.anchor), event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(_TOO_DEEP, self.peek_event().start_mark)
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
            raise _Refused(msg("yaml_key_not_plain"), key_node.start_mark)
        key = str(key)
        if key in out:
            raise _Refused(msg("yaml_duplicate_key", name=repr(key)), key_node.start_mark)
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


def _typed_scalar(code: str, construct: Any):
    """A typed scalar's constructor (``!!int x``, ``!!bool x``, a date such as ``2027-13-45``)
    that refuses a value it cannot read, at the value's line: PyYAML's own fails inside itself
    (a KeyError, an AttributeError) or with a ValueError that read as a number too long."""

    def constructor(loader: Any, node: yaml.ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError) as exc:
            if isinstance(exc, ValueError) and "digits" in str(exc):  # past Python's limit
                words = msg("number_too_long")
            else:
                words = msg(code, value=repr(str(node.value)[:40]))
            raise _Refused(words, node.start_mark) from None

    return constructor


for _tag, _code, _construct in (
    ("int", "yaml_bad_int", SafeConstructor.construct_yaml_int),
    ("float", "yaml_bad_float", SafeConstructor.construct_yaml_float),
    ("bool", "yaml_bad_bool", SafeConstructor.construct_yaml_bool),
    ("timestamp", "yaml_bad_date", SafeConstructor.construct_yaml_timestamp),
):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _typed_scalar(_code, _construct))


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
        raise InputError([Problem(file, 1, "(file)", "binary_yaml")])
    if not text.strip():
        raise InputError([Problem(file, 1, "(file)", "empty_file")])
    try:
        loader = _Loader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        if isinstance(exc, _Refused):
            return _raise(file, line, exc.words)
        what = (exc.problem or exc.context or "invalid YAML").strip()
        if "nesting depth" in what:  # libyaml's own limit, deeper than ours
            return _raise(file, line, _TOO_DEEP)
        if "could not determine a constructor" in what:
            tag = what.split("tag", 1)[-1].strip()
            return _raise(file, line, msg("yaml_unsafe_tag", tag=tag))
        return _raise(file, line, _parser_words(what))
    except yaml.YAMLError as exc:  # other parser failures carry no mark
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        return _raise(file, 1, _parser_words(first))
    except UnicodeError:  # text that is not UTF-8 (lone surrogates)
        return _raise(file, 1, msg("not_utf8"))
    except ValueError:  # a number past Python's digit limit (int-from-string)
        long = re.search(r"\d{4000,}", text)
        line = text.count("\n", 0, long.start()) + 1 if long else 1
        return _raise(file, line, msg("number_too_long"))
    except RecursionError:  # pragma: no cover - MAX_DEPTH stops nesting long before
        return _raise(file, 1, msg("too_deep_to_read"))


_TOO_DEEP = Msg("yaml_too_deep", (("max", MAX_DEPTH),))

#: The YAML parser's own messages (libyaml's, and PyYAML's where they differ), each by its code;
#: any other is shown as the parser words it (``yaml_error``).
_PARSER_CODES = {
    "invalid YAML": "yaml_invalid",
    "mapping values are not allowed in this context": "yaml_mapping_values",
    "mapping values are not allowed here": "yaml_mapping_values_here",
    "did not find expected '-' indicator": "yaml_no_dash",
    "did not find expected ',' or ']'": "yaml_no_bracket",
    "did not find expected ',' or '}'": "yaml_no_brace",
    "found unexpected end of stream": "yaml_end_of_stream",
    "found character that cannot start any token": "yaml_bad_token",
    "but found another document": "yaml_another_document",
    "found duplicate %YAML directive": "yaml_duplicate_directive",
    "found unknown escape character": "yaml_unknown_escape",
    "did not find expected key": "yaml_no_key",
    "did not find expected node content": "yaml_no_content",
    "found undefined tag handle": "yaml_undefined_tag_handle",
    "did not find expected alphabetic or numeric character": "yaml_no_name",
    "could not find expected ':'": "yaml_no_colon",
    "did not find expected <document start>": "yaml_no_document_start",
    "found a tab character that violates indentation": "yaml_tab_indent",
    "block sequence entries are not allowed in this context": "yaml_block_entry",
    "did not find expected comment or line break": "yaml_no_line_break",
}
_CONTROL_CHAR = re.compile(
    r"unacceptable character (#x[0-9a-fA-F]+): control characters are not allowed"
)


def _parser_words(what: str) -> Msg:
    """The parser's message by its code (its own words when it has none)."""
    code = _PARSER_CODES.get(what)
    if code is not None:
        return msg(code)
    control = _CONTROL_CHAR.fullmatch(what)
    if control:
        return msg("yaml_control_char", char=control[1])
    return msg("yaml_error", detail=what)


def _raise(file: str, line: int, words: Msg) -> Any:
    raise InputError([Problem(file, line, "(yaml)", words)])


def _too_big(file: str, size: int | None) -> Problem:
    this = msg("file_size", size=f"{size:,}") if size is not None else ""
    return Problem(
        file, 1, "(file)", "file_too_big", (("max", f"{MAX_FILE_BYTES:,}"), ("size", this))
    )


#: Reasons a file cannot be read, by their code (when the system words them as the catalogue).
_OS_CODES = {errno.ENOENT: "os_enoent", errno.EACCES: "os_eacces", errno.EISDIR: "os_eisdir"}


def _os_reason(exc: OSError) -> Msg | str:
    """Why a file cannot be read: by its code, else as the system words it."""
    reason = exc.strerror or str(exc)
    code = _OS_CODES.get(exc.errno)  # type: ignore[arg-type]
    return msg(code) if code and problem_words(code) == reason else reason


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
            [Problem(name, 1, "(file)", msg("cannot_read", reason=_os_reason(exc)))]
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise InputError([_too_big(name, None)])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([Problem(name, 1, "(file)", "binary_utf8")]) from None


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

    def add(
        self, node: Any, key: str | int | None, field: str, code: str | Msg, /, **params: Any
    ) -> None:
        """A problem at ``node[key]`` (``node`` itself when ``key`` is None): its code in the
        catalogue (``problem_<code>``, or a :class:`Msg`) and the parameters its words take."""
        self.problems.append(Problem(self.file, line_of(node, key), field, code, _frozen(params)))

    def mapping(self, node: Any, field: str, parent: Any = None, key: Any = None) -> LineDict:
        if isinstance(node, dict):
            return node  # type: ignore[return-value]
        where = parent if parent is not None else node
        self.add(where, key, field, "expected_mapping", got=_kind(node))
        empty = LineDict()
        empty.line = line_of(where, key)
        return empty

    def sequence(self, node: Any, field: str, parent: Any = None, key: Any = None) -> list:
        if isinstance(node, list):
            return node
        where = parent if parent is not None else node
        self.add(where, key, field, "expected_list", got=_kind(node))
        return []

    def unknown(self, node: dict, allowed: set[str] | list[str], prefix: str) -> None:
        for key in node:
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.add(node, key, _join(prefix, key), "unknown_key", allowed=hint)

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
        bound: str | Msg = "",
    ) -> Any:
        """``node[key]`` if of ``kind`` (finite, within the range, one of ``choices``), else
        ``default`` (missing and no default: a problem). ``bound`` names the maximum's reason."""
        field = _join(prefix, key)
        if key not in node:
            if default is ...:
                self.add(node, None, field, "required")
                return None
            return default
        value = node[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value) if abs(value) < 10**300 else math.inf
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            names = AnyOf(_type_name(k) for k in kinds)
            hint = number_hint(value) if float in kinds or int in kinds else ""
            self.add(node, key, field, "expected_type", types=names, got=_kind(value), hint=hint)
            return None if default is ... else default
        if isinstance(value, float) and not math.isfinite(value):
            self.add(node, key, field, "expected_finite", value=f"{value}")
            return None if default is ... else default
        if choices is not None and value not in choices:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "…"
            allowed = ", ".join(map(str, choices))
            self.add(node, key, field, "not_one_of", value=shown, allowed=allowed)
            return None if default is ... else default
        if min_value is not None and value < min_value:
            self.add(node, key, field, "below_min", value=_num(value), min=f"{min_value:g}")
            return None if default is ... else default
        if max_value is not None and value > max_value:
            why = msg("bound", bound=bound) if bound else ""
            self.add(
                node, key, field, "above_max", value=_num(value), max=f"{max_value:g}", why=why
            )
            return None if default is ... else default
        return value

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.problems)


def _join(prefix: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)


_TYPE_CODES = {
    "str": "type_text",
    "int": "type_integer",
    "float": "type_number",
    "bool": "type_bool",
    "list": "type_list",
    "dict": "type_mapping",
    "date": "type_date",
}


def _type_name(kind: type) -> Msg | str:
    code = _TYPE_CODES.get(kind.__name__)
    return msg(code) if code else kind.__name__


def number_hint(value: Any) -> Msg | str:
    """For text that reads as a number elsewhere (``1e9``): how to write it in YAML (a
    :class:`Msg`), else ``""``."""
    if not isinstance(value, str) or len(value) > 40:
        return ""
    try:
        number = float(value)
    except ValueError:
        return ""
    if not math.isfinite(number):
        return ""
    shown = str(int(number)) if number.is_integer() and abs(number) < 1e15 else f"{number:.6e}"
    return msg("hint_number_text", value=repr(value.strip()), shown=shown)


def digits_of(value: int) -> Msg:
    """A huge integer for a message: "a number of about N digits", never the digits."""
    return msg("num_digits", n=int(abs(value).bit_length() * 0.30103) + 1)


def _num(value: float) -> Msg | str:
    """A number for a message: never hundreds of digits."""
    if isinstance(value, int) and abs(value) >= 10**15:
        return digits_of(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def kind_of(value: Any) -> Msg:
    """What a value read from a file is, for a message ("a list", "the integer 5", "text 'x'")."""
    if value is None:
        return msg("kind_nothing")
    if isinstance(value, bool):
        return msg("kind_bool")
    if isinstance(value, dict):
        return msg("kind_mapping")
    if isinstance(value, list):
        return msg("kind_list")
    if isinstance(value, int):
        if abs(value) >= 10**15:  # "the integer a number of about 21 digits"
            return msg("kind_integer_digits", n=digits_of(value).params[0][1])
        return msg("kind_integer", value=_num(value))
    if isinstance(value, float):
        return msg("kind_number", value=f"{value:g}")
    return msg("kind_text", value=repr(str(value)[:40]))


_kind = kind_of
