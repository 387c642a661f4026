"""One catalogue of UI and report strings in Chinese and English.

Strings live in ``sim/strings/*.yaml`` (one file per area of the app, merged here), each key
with ``zh`` and ``en``. The plan's own labels (grades, rules, roles, bodies) come from the plan
file, so the plan's terms appear as the plan writes them. A test checks that every key has both.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

LANGS = ("zh", "en")
STRINGS_DIR = Path(__file__).resolve().parent / "strings"


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """All strings: key -> {"zh": ..., "en": ...}; a key defined twice is an error."""
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(STRINGS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, value in data.items():
            if key in merged:
                raise ValueError(f"{path.name}: string key {key!r} is defined twice")
            merged[key] = value
    return merged


def t(key: str, lang: str = "zh", **kwargs: Any) -> str:
    """The string for ``key`` in ``lang``, formatted with ``kwargs``; the key itself if unknown."""
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry.get("en") or key
    return text.format(**kwargs) if kwargs else text


def lang_from_locale(locale: str | None) -> str:
    """``zh`` for a Chinese browser locale (zh, zh-CN, zh-Hans-CN…), else ``en``."""
    return "zh" if (locale or "").lower().startswith("zh") else "en"


def label(plan, kind: str, key: str, lang: str) -> str:
    """A plan term's label: kind is grades, rules, roles, bodies or content (a report's items)."""
    table = {
        "grades": plan.grades,
        "roles": plan.roles,
        "bodies": plan.bodies,
        "content": plan.content,
    }.get(kind)
    if kind == "rules":
        rule = plan.rules.get(key)
        return (rule.label_zh if lang == "zh" else rule.label_en) if rule else key
    if table is None or key not in table:
        return key
    if kind == "grades":
        entry = table[key]
        return (
            f"{entry['roman']} {entry['label_zh']}"
            if lang == "zh"
            else f"Grade {key} ({entry['label_en']})"
        )
    return table[key]["label_zh" if lang == "zh" else "label_en"]


# -- typed text in Markdown ------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*\[\]#|~$])")
_MD_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")  # not between two letters or digits
_MD_LIST = re.compile(r"(?m)^([ \t]*)([-+]|\d{1,9}[.)])(?=[ \t]|$)")  # a list item's marker
_MD_UNDERLINE = re.compile(r"(?m)^([ \t]*)([=-])(?=[=-]*[ \t]*$)")  # a heading's underline
_MD_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(?=://)|(?<=\bwww)(?=\.)|(?=@)")
WORD_JOINER = "\u2060"


def escape_markdown(text: object) -> str:
    """Typed text made inert for Markdown (Streamlit's and the Markdown export's): no link,
    image, HTML, heading, list, table, emphasis, code or maths, and no bare URL or e-mail
    address that a GFM renderer would turn into a link. It still reads as typed.

    Markdown characters are backslash-escaped; ``<``, ``>`` and ``&`` become entities; an
    invisible word joiner goes after ``http``/``www`` and before ``@``, because GFM links bare
    URLs even when their characters were escaped.
    """
    s = _MD_SPECIAL.sub(r"\\\1", str(text))
    s = _MD_UNDERSCORE.sub(r"\\_", s)
    s = _MD_LIST.sub(lambda m: m[1] + m[2][:-1] + "\\" + m[2][-1], s)
    s = _MD_UNDERLINE.sub(r"\1\\\2", s)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_AUTOLINK.sub(WORD_JOINER, s)


def code_span(text: object) -> str:
    """``text`` as one Markdown code span, whatever backticks it holds (typed text shown as
    code, e.g. a file's problems): the fence is longer than any run of backticks inside."""
    s = " ".join(str(text).splitlines())
    run = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (run + 1)
    return f"{fence} {s} {fence}"


def addressee_label(plan, target: str, lang: str) -> str:
    """A step's addressee in the plan's words: a body or a role (else the id as written)."""
    if target in plan.bodies:
        return label(plan, "bodies", target, lang)
    if target in plan.roles:
        return label(plan, "roles", target, lang)
    return target


def step_label(plan, sid: str, lang: str) -> str:
    """A step in the plan's own words (先口头、后书面, 首报, Ⅰ级 …); an unknown id as written."""
    try:
        return plan.step(sid).label(lang)
    except KeyError:
        return sid
