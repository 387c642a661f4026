"""Form pieces the console and the seats share: a step's heading with the plan's words behind
its tooltip, and the grade choice (which never says which grade is right)."""

from __future__ import annotations

import streamlit as st

from sim.i18n import escape_markdown as md
from sim.i18n import label, t
from sim.plan import GRADES
from ui import drill_view as dl


def step_heading(plan, sid: str, lang: str, extra: str = "") -> None:
    """The step's name in bold (``extra`` after it); the plan's sentence and the items the
    step must carry behind a tooltip, so a long clause never pushes "Do it" down."""
    step = plan.step(sid)
    tips = [t("drill_clause", lang, clause=step.clause_zh)] if step.clause_zh else []
    if step.content:
        items = dl.list_sep(lang).join(dl.content_label(plan, c, lang) for c in step.content)
        tips.append(t("drill_content_hint", lang, items=items))
    head = f"**{md(dl.step_label(plan, sid, lang))}**" + (f" · {extra}" if extra else "")
    st.markdown(head, help="\n\n".join(tips) or None)


def grade_choice(plan, lang: str, key: str) -> None:
    """The grades as the plan writes them, none chosen."""
    st.radio(
        t("drill_level", lang),
        GRADES,
        index=None,
        format_func=lambda g: label(plan, "grades", g, lang),
        horizontal=True,
        key=key,
    )


def addressee_choice(where, live, inc: str, sid: str, lang: str, key: str) -> list[str]:
    """Whom the step goes to (all its addressees chosen to begin with), in ``where`` (the
    page or a column). One widget per language: a multiselect whose options are relabelled
    in place comes back empty in the browser after a language switch."""
    plan = live.scenario.plan
    step = plan.step(sid)
    options = live.addressees(inc, sid)
    return where.multiselect(
        t("drill_send_to" if step.kind in ("dispatch", "travel") else "drill_body", lang),
        options,
        default=options,
        format_func=lambda x: dl.addressee_label(plan, x, lang),
        placeholder=t("choose_options", lang),
        key=f"{key}_{lang}",
    )
