"""The drill programme: drills by year and site, the plan's one-drill-a-year rule, sites' gaps,
each rule's trend across years, and open improvement items offered as next year's injects.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sim.i18n import escape_markdown, label
from sim.plan import load_plan
from sim.programme import (
    longest_without,
    missed_years,
    open_items_as_injects,
    programme_table,
    programme_year,
    rule_trend,
    site_gaps,
)
from sim.store import StoreError
from ui.common import lang, scenario_files, show_error, store, translator

L = lang()

_t = translator(L)


PLAN = load_plan()


@st.cache_data(show_spinner=False)
def _shipped_sites() -> list[tuple[str, str, str]]:
    """Sites named in the shipped scenarios, so a never-drilled site still shows."""
    from sim.scenario import load_scenario

    out: dict[str, tuple[str, str, str]] = {}
    for path in scenario_files("drill"):
        try:
            for site in load_scenario(path).sites:
                out.setdefault(site.id, (site.id, site.name_zh, site.name_en))
        except Exception:  # noqa: BLE001 - a broken file only loses its sites here
            continue
    return list(out.values())


@st.cache_data(show_spinner=False)
def _calendar_year() -> int:
    """The programme's current year: the latest exam calendar among the shipped scenarios
    (the season being prepared), else today's year — the command line's default too."""
    return programme_year(scenario_files())


st.title(_t("prog_page_title"))
st.caption(_t("prog_page_intro"))


def _store_error(exc: Exception) -> None:
    """A failure shown as one message; a store's in the page's language."""
    if isinstance(exc, StoreError):
        st.error(f"{_t('error_prefix')}: {escape_markdown(exc.text(L))}")
    else:
        show_error(exc)


try:
    s = store()
    drills = s.list_drills()
    damaged = s.damaged()
except Exception as exc:  # noqa: BLE001 - a broken store is shown, not raised
    _store_error(exc)
    st.stop()
for _bad in damaged:  # a damaged drill is named; the others still count and show
    st.warning(_t("store_damaged_listed", id=_bad["id"], problem=escape_markdown(_bad["problem"])))

this_year = _calendar_year()
years = [int(d["year"]) for d in drills if d.get("year")]
c1, c2, c3 = st.columns(3)
first = int(
    c1.number_input(
        _t("prog_first_year"),
        1990,
        2200,
        value=min([*years, this_year - 4]),
        step=1,
        key="prog_first",
    )
)
last = int(
    c2.number_input(
        _t("prog_last_year"), 1990, 2200, value=max([*years, this_year]), step=1, key="prog_last"
    )
)
include_reference = c3.toggle(
    _t("prog_include_reference"), value=False, key="prog_include_reference"
)
if last < first:
    st.error(f"{_t('prog_last_year')} < {_t('prog_first_year')}")
    st.stop()

try:
    gaps = site_gaps(
        s, this_year=this_year, sites=_shipped_sites(), include_reference=include_reference
    )
    table = programme_table(
        s, first, last, this_year=this_year, include_reference=include_reference
    )
except Exception as exc:  # noqa: BLE001 - a store that fails mid-page is a message
    _store_error(exc)
    st.stop()
site_name = {r.site: (r.name_zh if L == "zh" else r.name_en) for r in gaps.itertuples()}

# -- drills by year -----------------------------------------------------------------------------
st.subheader(_t("prog_by_year"))
missed = missed_years(table)
if missed:
    st.warning(_t("prog_missed_warning", years=", ".join(map(str, missed))))
else:
    st.success(_t("prog_all_held"))
view = pd.DataFrame(
    {
        _t("prog_year"): table["year"].astype(str),
        _t("prog_status"): [_t(f"prog_status_{x}") for x in table["status"]],
        _t("prog_drills"): table["drills"],
        _t("prog_sites"): [
            "、".join(site_name.get(x, x) for x in sites) for sites in table["sites"]
        ],
        _t("prog_reference"): table["reference"],
        _t("prog_open_review"): [
            f"review?drill={ids[-1]}" if ids else "" for ids in table["drill_ids"]
        ],
    }
)


def _flag(row: pd.Series) -> list[str]:
    bad = row[_t("prog_status")] == _t("prog_status_missed")
    return ["background-color: #fde2e1; color: #8a1c14" if bad else "" for _ in row]


st.dataframe(
    view.style.apply(_flag, axis=1),
    hide_index=True,
    width="stretch",
    column_config={
        _t("prog_open_review"): st.column_config.LinkColumn(
            _t("prog_open_review"), display_text="→"
        )
    },
)

# -- sites longest without a drill ----------------------------------------------------------------
st.subheader(_t("prog_site_gaps"))
longest = longest_without(gaps)
if longest:
    st.info(
        _t("prog_longest", sites="、".join(escape_markdown(site_name.get(x, x)) for x in longest))
    )
st.dataframe(
    pd.DataFrame(
        {
            _t("prog_site"): [site_name.get(x, x) for x in gaps["site"]],
            _t("prog_last_year_drilled"): [
                _t("prog_never") if pd.isna(y) else str(int(y)) for y in gaps["last_year"]
            ],
            _t("prog_years_since"): [
                "—" if pd.isna(y) else str(int(y)) for y in gaps["years_since"]
            ],
        }
    ),
    hide_index=True,
    width="stretch",
)

# -- each rule's trend ----------------------------------------------------------------------------
st.subheader(_t("prog_trend"))
try:
    trend = rule_trend(s, first, last, include_reference=include_reference)
except Exception as exc:  # noqa: BLE001 - one unreadable drill must not hide the page
    _store_error(exc)
    trend = pd.DataFrame()
points = trend.dropna(subset=["met_share"]) if not trend.empty else trend
if points.empty:
    st.info(_t("prog_no_trend"))
else:
    import altair as alt

    st.caption(_t("prog_trend_caption"))
    chart_data = pd.DataFrame(
        {
            "year": points["year"].astype(str),
            "rule": [label(PLAN, "rules", r, L) for r in points["rule"]],
            "share": (points["met_share"] * 100).round(1),
            "n": [f"{m}/{n}" for m, n in zip(points["met"], points["applicable"], strict=True)],
        }
    )
    years_axis = [str(y) for y in range(first, last + 1)]
    chart = (
        alt.Chart(chart_data)
        .mark_line(point=alt.OverlayMarkDef(size=70))
        .encode(
            x=alt.X("year:O", title=_t("prog_year"), scale=alt.Scale(domain=years_axis)),
            y=alt.Y("share:Q", title="%", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color(
                "rule:N",
                title=_t("rule"),
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=360),
            ),
            tooltip=[
                alt.Tooltip("rule:N", title=_t("rule")),
                alt.Tooltip("year:O", title=_t("prog_year")),
                alt.Tooltip("n:N", title=_t("prog_trend_table")),
            ],
        )
        .properties(height=340)
    )
    st.altair_chart(chart, width="stretch")
    cells = trend.assign(
        cell=[
            f"{m}/{n}" if n else "—" for m, n in zip(trend["met"], trend["applicable"], strict=True)
        ]
    )
    wide = cells.pivot(index="rule", columns="year", values="cell")
    wide = wide.loc[[r for r in PLAN.rules if r in wide.index]]
    wide.index = [label(PLAN, "rules", r, L) for r in wide.index]
    wide.columns = [str(c) for c in wide.columns]
    st.caption(_t("prog_trend_table"))
    st.dataframe(wide, width="stretch")

# -- open improvement items as next year's injects ---------------------------------------------
st.subheader(_t("prog_open_items"))
try:
    injects = open_items_as_injects(s, lang=L, plan=PLAN)
except Exception as exc:  # noqa: BLE001 - a store that fails mid-page is a message
    _store_error(exc)
    injects = []
if not injects:
    st.info(_t("prog_no_open_items"))
else:
    st.dataframe(
        pd.DataFrame(
            {
                "#": [i["item_id"] for i in injects],
                _t("rev_item_action"): [i["text"] for i in injects],
                _t("rev_item_owner"): [label(PLAN, "roles", i["owner_role"], L) for i in injects],
                _t("rev_item_due"): [i["due"] or "—" for i in injects],
                _t("rev_item_status"): [_t(f"rev_status_{i['status']}") for i in injects],
                _t("prog_open_review"): [f"review?drill={i['drill_id']}" for i in injects],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={
            _t("prog_open_review"): st.column_config.LinkColumn(
                _t("prog_open_review"), display_text="→"
            )
        },
    )
