"""One catalogue of strings: every key in Chinese and English, with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml

from sim.i18n import LANGS, STRINGS_DIR, catalogue, lang_from_locale, t
from sim.plan import FAMILIES, PHASES, SCOPES, load_plan
from sim.rules import DELIVERED
from sim.session import MENU_EXTRA

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(STRINGS_DIR.glob("*.yaml"))
ENTRIES = [
    (path.name, key, value)
    for path in FILES
    for key, value in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items()
]


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_there_are_string_files():
    assert {"common.yaml", "drill.yaml"} <= {p.name for p in FILES}


def test_keys_are_unique_across_files():
    seen: dict[str, str] = {}
    for name, key, _ in ENTRIES:
        assert key not in seen, f"{key!r} in both {seen[key]} and {name}"
        seen[key] = name
    assert set(catalogue()) == set(seen)


def problems(name: str, key: str, value: object) -> list[str]:
    """What is wrong with one catalogue entry (empty when nothing)."""
    if not isinstance(value, dict):
        return [f"{name}: {key} must map languages to text"]
    out = [
        f"{name}: {key}.{lang} missing or empty"
        for lang in LANGS
        if not str(value.get(lang) or "").strip()
    ]
    if out:
        return out
    if fields(value["zh"]) != fields(value["en"]):
        out.append(
            f"{name}: {key} placeholders differ: {fields(value['zh'])} vs {fields(value['en'])}"
        )
    for lang in LANGS:  # formats without error when given its placeholders
        try:
            value[lang].format(**dict.fromkeys(fields(value[lang]), "x"))
        except (IndexError, KeyError, ValueError) as exc:
            out.append(f"{name}: {key}.{lang} does not format: {exc}")
    return out


def test_every_key_has_zh_and_en_with_the_same_placeholders():
    found = [p for name, key, value in ENTRIES for p in problems(name, key, value)]
    assert not found, "\n".join(found)
    assert len(ENTRIES) > 100


def test_drill_keys_are_prefixed():
    own = [k for n, k, _ in ENTRIES if n == "drill.yaml"]
    assert own and all(k.startswith(("drill_", "proj_")) for k in own)


def _used_keys(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return set(re.findall(r"""\b(?:_t|tr|t)\(\s*["']([a-z][a-z0-9_]*)["']""", text))


@pytest.mark.parametrize(
    "page", ["ui/drill.py", "ui/projector.py", "ui/drill_view.py", "sim/session.py"]
)
def test_every_literal_key_the_drill_pages_use_exists(page):
    missing = sorted(_used_keys(ROOT / page) - set(catalogue()))
    assert not missing, f"{page} uses unknown string keys: {missing}"


def test_every_record_the_engine_logs_has_a_label():
    """A record's label is the plan's step label when its action is a step id, else the
    catalogue's (``act_*``): every action the engine logs gets one in both languages."""
    plan = load_plan()
    logged = {"occurred", "call", "team_on_site", "note"}
    for src in ("sim/model.py", "sim/steps.py", "sim/drill.py"):
        text = (ROOT / src).read_text(encoding="utf-8")
        logged |= set(re.findall(r'log\(\s*[^,()]+,\s*[^,()]+,\s*"([a-z_0-9]+)"', text))
    assert {"occurred", "discovered", "call", "graded", "team_on_site", "resolved"} <= logged
    unlabelled = [a for a in logged if a not in plan.steps and f"act_{a}" not in catalogue()]
    assert not unlabelled
    for s in plan.procedure:  # every step reads in both languages, with the plan's clause
        assert s.label_zh.strip() and s.label_en.strip() and s.label_zh != s.id
        assert s.clause_zh.strip() or s.kind == "event"


def test_every_composed_key_the_drill_pages_use_exists():
    outcomes = (*sorted(DELIVERED), "failed", "done", "answered", "unanswered", "busy", "arrived")
    keys = (
        [f"drill_kind_{k}" for k in (*MENU_EXTRA, "advance", "call", "dispatch")]
        + [f"drill_scope_{s}" for s in SCOPES]
        + [f"drill_phase_{p}" for p in PHASES]
        + [f"drill_outcome_{o}" for o in outcomes]
        + [f"drill_reach_{o}" for o in (*sorted(DELIVERED), "failed")]
        + [f"drill_status_{s}" for s in ("running", "ended")]
        + [f"drill_source_{s}" for s in ("scripted", "generated")]
        + [f"family_{f}" for f in FAMILIES]
        + [f"drill_out_{r}" for r in ("answered", "unanswered", "busy")]
        + [
            f"drill_result_{r}"
            for r in ("advanced", "answered", "unanswered", "received", "graded", "closed")
        ]
        + [f"drill_result_{r}" for r in ("done", "noted", "failed")]
        + [f"status_{s}" for s in ("met", "missed", "na", "pending")]
    )
    assert not [k for k in keys if k not in catalogue()]


def test_t_formats_and_falls_back():
    assert t("drill_m", "zh", m=5) == "5分钟" and t("drill_m", "en", m=5) == "5 min"
    assert t("no_such_key_anywhere", "zh") == "no_such_key_anywhere"


@pytest.mark.parametrize(
    "locale,lang",
    [
        ("zh-CN", "zh"),
        ("zh-Hans-CN", "zh"),
        ("zh", "zh"),
        ("en-US", "en"),
        ("de-DE", "en"),
        (None, "en"),
    ],
)
def test_browser_locale_picks_the_language(locale, lang):
    assert lang_from_locale(locale) == lang
