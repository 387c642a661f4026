"""What every page shares: the language, the drill store, the scenarios, error display."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

import streamlit as st

from sim.i18n import LANGS, code_span, lang_from_locale, t

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "scenarios"


def lang() -> str:
    """The page language: the user's switch, else the browser's language (``st.context.locale``)."""
    if "lang" not in st.session_state:
        try:
            locale = st.context.locale
        except Exception:  # noqa: BLE001 - no browser context (e.g. bare mode)
            locale = None
        st.session_state["lang"] = lang_from_locale(locale)
    return st.session_state["lang"]


def tr(key: str, **kwargs) -> str:
    return t(key, lang(), **kwargs)


def translator(code: str) -> Callable[..., str]:
    """``_t(key, **kwargs)`` bound to one language for a page run, so that functions Streamlit
    calls outside the script (``format_func``) stay pure."""
    return partial(t, lang=code)


def language_switch() -> None:
    """The sidebar switch between 中文 and English (kept for the session)."""
    current = lang()
    choice = st.sidebar.radio(
        t("language", current),
        LANGS,
        index=LANGS.index(current),
        format_func=lambda code: t(f"lang_{code}", current),
        horizontal=True,
        key="lang_switch",
    )
    if choice != current:
        st.session_state["lang"] = choice
        st.rerun()


def db_path() -> Path:
    """The drill store's path: ``DRILLSIM_DB`` or the user's data folder (a setting, not code)."""
    from sim.store import default_db_path

    return Path(os.environ["DRILLSIM_DB"]) if os.environ.get("DRILLSIM_DB") else default_db_path()


@st.cache_resource
def _store(path: str):
    from sim.store import DrillStore

    return DrillStore(path)


def store():
    return _store(str(db_path()))


def scenario_files(kind: str | None = None) -> list[Path]:
    """Shipped scenarios (files with incidents or rates), optionally of one kind (drill/season)."""
    from sim.yamlio import InputError, load_file

    out = []
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        try:
            data = load_file(path)
        except InputError:
            continue
        if (
            isinstance(data, dict)
            and "calendar" in data
            and (kind is None or data.get("kind", "drill") == kind)
        ):
            out.append(path)
    return out


def show_error(exc: Exception) -> None:
    """A failing action shows a message, never a traceback. The message may quote what was
    typed or uploaded, so it is escaped: it can never render as a link or an image. A file's
    problems (an InputError) show one per line in the page's language, each as code."""
    from sim.labels import error_text, problem_lines
    from sim.yamlio import InputError

    if isinstance(exc, InputError):
        lines = problem_lines(exc, lang())
        st.error(f"{tr('error_prefix')}:\n\n" + "\n".join(f"- {code_span(x)}" for x in lines))
        return
    st.error(f"{tr('error_prefix')}: {error_text(exc, lang())}")
