"""The planner: "if we add a night duty officer, or the plan's clock becomes 2 hours — how often do
we still meet every deadline?"

Choose a base scenario, define variants (shipped or uploaded override files, the roster and duty
calendar edited in tables, a plan clock), see how many replications a stated precision needs,
run the comparison with common random numbers (all local cores or a Dask cluster), and read the
verdicts, charts with error bars, time distributions and load per role. Below: the smallest
staffing on a grid that meets a target, and a one-parameter sensitivity sweep. Nothing is
simulated until a button is pressed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from sim.causes import why_missed_rows
from sim.compare import ALL_MET, RULES, compare, precision_from, rule_name
from sim.figures import (
    diff_figure,
    ecdf_figure,
    load_figure,
    share_figure,
    sizing_figure,
    sweep_figure,
)
from sim.i18n import code_span, label
from sim.i18n import escape_markdown as md
from sim.labels import (
    param_label,
    planner_role_table,
    planner_rule_table,
    precision_table,
    problem_lines,
    sizing_table,
    sweep_table,
)
from sim.plan import ROLE_IDS, RULE_IDS
from sim.runner import default_workers
from sim.scenario import STATES, load_scenario
from sim.search import Axis, size_grid, sweep
from sim.variants import (
    CALENDAR_COLUMNS,
    PEOPLE_COLUMNS,
    Variant,
    calendar_frame,
    chains_frame,
    describe,
    load_variant,
    parse_variant,
    people_frame,
    plan_clock_variant,
    reach_frame,
    shipped_variants,
    variant_from_tables,
    variant_to_yaml,
)
from sim.yamlio import InputError, load_text
from ui.common import lang, scenario_files, show_error, translator

L = lang()

_t = translator(L)


@st.cache_resource(show_spinner=False)
def _scenario(path: str, mtime: float):
    """A scenario, read once per file version (immutable, shared by sessions)."""
    return load_scenario(path)


@st.cache_data(show_spinner=False)
def _scenario_title(path: str, lang_: str) -> str:
    """A scenario file by its name in ``lang_`` (its file name when it has none)."""
    from sim.session import scenario_names

    zh, en = scenario_names(path)
    return zh if lang_ == "zh" else en


@st.cache_resource(show_spinner=False)
def _variant_file(path: str, mtime: float) -> Variant:
    return load_variant(path)


def _problems(exc: InputError) -> None:
    """A file's problems in the page's language, each as code: they quote the file, which is
    typed or uploaded text."""
    lines = problem_lines(exc, L)
    st.error(_t("plan_problems") + "\n\n" + "\n".join(f"- {code_span(x)}" for x in lines))


def _progress_bar(text: str):
    bar = st.progress(0.0, text=text)

    def update(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(1, total)), text=f"{text} {done}/{total}")

    return bar, update


def _run_settings() -> tuple[int | None, str | None]:
    workers = st.session_state.get("plan_workers", default_workers())
    scheduler = (st.session_state.get("plan_scheduler") or "").strip() or None
    return int(workers), scheduler


st.title(_t("plan_page_title"))
st.caption(_t("plan_page_intro"))

# -- base scenario ---------------------------------------------------------------------------
seasons = scenario_files("season")
files = seasons + [p for p in scenario_files() if p not in seasons]
if not files:
    st.warning(_t("plan_no_scenarios"))
    st.stop()
base_path = st.selectbox(
    _t("plan_base"), files, format_func=lambda p: _scenario_title(str(p), L), key="plan_base"
)
try:
    base = _scenario(str(base_path), Path(base_path).stat().st_mtime)
except InputError as exc:
    _problems(exc)
    st.stop()
stem = Path(base_path).stem
st.caption(
    _t(
        "plan_base_summary",
        name=md(base.name_zh if L == "zh" else base.name_en),
        sites=len(base.sites),
        sessions=len(base.sessions),
        people=len(base.roster.people),
    )
)

# -- variants --------------------------------------------------------------------------------
st.header(_t("plan_variants"))
variants: list[Variant] = []
tab_files, tab_edit, tab_clock = st.tabs(
    [_t("plan_tab_files"), _t("plan_tab_edit"), _t("plan_tab_clock")]
)

with tab_files:
    shipped = {p.stem: p for p in shipped_variants()}

    def _file_label(name: str) -> str:
        p = shipped[name]
        try:
            return _variant_file(str(p), p.stat().st_mtime).label(L)
        except InputError:
            return name

    chosen = st.multiselect(
        _t("plan_shipped"),
        list(shipped),
        format_func=_file_label,
        placeholder=_t("choose_options"),
        key="plan_files",
    )
    for name in chosen:
        p = shipped[name]
        try:
            variants.append(_variant_file(str(p), p.stat().st_mtime))
        except InputError as exc:
            _problems(exc)
    uploads = st.file_uploader(
        _t("plan_upload"), type=["yaml", "yml"], accept_multiple_files=True, key="plan_upload"
    )
    for up in uploads or []:
        try:
            variants.append(
                parse_variant(load_text(up.getvalue().decode("utf-8", "replace"), up.name), up.name)
            )
        except InputError as exc:
            _problems(exc)
    st.caption(_t("plan_files_help"))

with tab_edit:
    st.caption(_t("plan_edit_help"))
    roster = base.roster
    site_opts = [""] + [s.id for s in base.sites]
    site_names = {s.id: (s.name_zh if L == "zh" else s.name_en) or s.id for s in base.sites}

    def _role(r: str) -> str:
        return label(base.plan, "roles", r, L)

    def _state(x: str) -> str:
        return _t(f"rev_state_{x}")

    def _site(x: str) -> str:
        return site_names.get(x, x) if x else "—"

    people = st.data_editor(
        people_frame(roster),
        key=f"plan_people_{stem}",
        num_rows="dynamic",
        hide_index=True,
        column_order=PEOPLE_COLUMNS,
        column_config={
            "id": st.column_config.TextColumn(_t("plan_col_id"), required=True),
            "role": st.column_config.SelectboxColumn(
                _t("plan_col_role"), options=list(ROLE_IDS), required=True, format_func=_role
            ),
            "name_zh": st.column_config.TextColumn(_t("plan_col_name_zh")),
            "name_en": st.column_config.TextColumn(_t("plan_col_name_en")),
            "site": st.column_config.SelectboxColumn(
                _t("plan_col_site"), options=site_opts, format_func=_site
            ),
            "default_state": st.column_config.SelectboxColumn(
                _t("plan_col_state"), options=list(STATES), format_func=_state
            ),
            **{
                f"p_{s}": st.column_config.NumberColumn(
                    _t(f"plan_col_p_{s}"), min_value=0.0, max_value=1.0, step=0.01, format="%.2f"
                )
                for s in STATES
            },
        },
    )
    ids = [str(x) for x in people["id"].dropna() if str(x).strip()]
    person_names = {
        str(r["id"]): str((r["name_zh"] if L == "zh" else r["name_en"]) or r["id"])
        for _, r in people.iterrows()
        if str(r["id"] or "").strip()
    }
    st.subheader(_t("plan_calendar"))
    all_days = _t("plan_days_all")  # the editor shows "全部" / "all" for every exam day
    calendar = st.data_editor(
        calendar_frame(roster).replace({"days": {"all": all_days}}),
        key=f"plan_calendar_{stem}",
        num_rows="dynamic",
        hide_index=True,
        column_order=CALENDAR_COLUMNS,
        column_config={
            "person": st.column_config.SelectboxColumn(
                _t("plan_col_person"),
                options=ids,
                required=True,
                format_func=lambda x: person_names.get(x, x),
            ),
            "days": st.column_config.TextColumn(_t("plan_col_days"), help=_t("plan_col_days_help")),
            "from": st.column_config.TextColumn(_t("plan_col_from"), help="HH:MM"),
            "to": st.column_config.TextColumn(_t("plan_col_to"), help="HH:MM"),
            "state": st.column_config.SelectboxColumn(
                _t("plan_col_state"), options=list(STATES), format_func=_state
            ),
        },
    )
    c1, c2 = st.columns(2)
    with c1:
        st.subheader(_t("plan_chains"))
        chains = st.data_editor(
            chains_frame(roster),
            key=f"plan_chains_{stem}",
            num_rows="dynamic",
            hide_index=True,
            column_config={
                "role": st.column_config.SelectboxColumn(
                    _t("plan_col_role"), options=list(ROLE_IDS), format_func=_role
                ),
                "chain": st.column_config.TextColumn(
                    _t("plan_col_chain"), help=_t("plan_col_chain_help")
                ),
            },
        )
    with c2:
        st.subheader(_t("plan_reach"))
        reach = st.data_editor(
            reach_frame(roster),
            key=f"plan_reach_{stem}",
            hide_index=True,
            disabled=["state"],
            column_config={
                "state": st.column_config.SelectboxColumn(
                    _t("plan_col_state"), options=list(STATES), format_func=_state
                ),
                "answer_prob": st.column_config.NumberColumn(
                    _t("plan_col_answer_prob"),
                    min_value=0.0,
                    max_value=1.0,
                    step=0.01,
                    format="%.2f",
                ),
            },
        )
    c1, c2 = st.columns(2)
    label_zh = c1.text_input(
        _t("plan_edit_label_zh"), value="编辑后的编制", key="plan_edit_label_zh"
    )
    label_en = c2.text_input(
        _t("plan_edit_label_en"), value="Edited roster", key="plan_edit_label_en"
    )
    try:
        edited = variant_from_tables(
            base,
            "edited",
            people=people,
            calendar=calendar.replace({"days": {all_days: "all"}}),
            chains=chains,
            reach=reach,
            label_zh=label_zh,
            label_en=label_en,
        )
    except InputError as exc:
        edited = None
        _problems(exc)
    if edited is not None and not edited.is_base:
        variants.append(edited)
        st.success(
            _t("plan_edit_changes")
            + "\n\n"
            + "\n".join(f"- {md(line)}" for line in describe(edited, L, base))
        )
        st.download_button(
            _t("plan_edit_download"),
            variant_to_yaml(edited),
            file_name="edited_variant.yaml",
            mime="application/x-yaml",
            key="plan_edit_download",
        )
    elif edited is not None:
        st.caption(_t("plan_edit_none"))

with tab_clock:
    timed = [r for r in RULE_IDS if base.plan.rules[r].allowed_minutes is not None]
    on = st.checkbox(_t("plan_clock_on"), key="plan_clock_on")
    rule = st.selectbox(
        _t("plan_clock_rule"),
        timed,
        format_func=lambda r: label(base.plan, "rules", r, L),
        key="plan_clock_rule",
    )
    minutes = st.number_input(
        _t("plan_clock_minutes"),
        min_value=0.0,
        max_value=10000.0,
        value=float(base.plan.rules[rule].allowed_minutes or 0) * 2 / 3,
        step=10.0,
        key="plan_clock_minutes",
    )
    if on:
        variants.append(
            plan_clock_variant(rule, float(minutes), name=f"clock_{rule}", plan=base.plan)
        )

names = [v.name for v in variants]
dupes = {n for n in names if names.count(n) > 1}
if dupes:
    st.error(_t("plan_dupe_names", names=", ".join(md(n) for n in sorted(dupes))))
    variants = list({v.name: v for v in variants}.values())

if variants:
    st.markdown("**" + _t("plan_compared") + "**")
    for v in variants:
        sep = "；" if L == "zh" else "; "
        st.markdown(f"- **{md(v.label(L))}** — " + sep.join(md(x) for x in describe(v, L, base)))
else:
    st.info(_t("plan_no_variants"))

# -- run settings, precision, run ------------------------------------------------------------
st.header(_t("plan_run"))
c1, c2, c3, c4 = st.columns(4)
reps = c1.number_input(
    _t("plan_reps"), min_value=10, max_value=200_000, value=500, step=100, key="plan_reps"
)
seed = c2.number_input(
    _t("plan_seed"), min_value=0, max_value=2**31 - 1, value=1, step=1, key="plan_seed"
)
c3.number_input(
    _t("plan_workers"),
    min_value=1,
    max_value=256,
    value=default_workers(),
    step=1,
    key="plan_workers",
)
c4.text_input(_t("plan_scheduler"), value="", placeholder="tcp://host:8786", key="plan_scheduler")

with st.expander(_t("plan_precision"), expanded=False):
    st.caption(_t("plan_precision_help"))
    p1, p2 = st.columns(2)
    half = p1.number_input(
        _t("plan_half_width"),
        min_value=0.1,
        max_value=20.0,
        value=1.0,
        step=0.1,
        key="plan_half_width",
    )
    pilot_reps = p2.number_input(
        _t("plan_pilot_reps"),
        min_value=20,
        max_value=5000,
        value=100,
        step=20,
        key="plan_pilot_reps",
    )
    if st.button(_t("plan_pilot_btn"), key="plan_pilot_btn", disabled=not variants):
        workers, scheduler = _run_settings()
        bar, update = _progress_bar(_t("plan_pilot_running"))
        try:
            pilot = compare(
                base,
                variants,
                int(pilot_reps),
                int(seed),
                workers=workers,
                scheduler=scheduler,
                progress=update,
            )
            st.session_state["plan_precision"] = precision_from(pilot, half_width=half / 100)
            st.session_state["plan_precision_variants"] = pilot.variants
            st.session_state["plan_seconds_per_rep_variant"] = pilot.elapsed_s / (
                pilot.reps * len(pilot.variants)
            )
        except InputError as exc:
            _problems(exc)
        except Exception as exc:  # noqa: BLE001 - a failed pilot is shown, not raised
            show_error(exc)
        bar.empty()
    prec = st.session_state.get("plan_precision")
    if prec is not None:
        st.dataframe(
            precision_table(
                prec, st.session_state.get("plan_precision_variants", []), base.plan, L
            ),
            hide_index=True,
        )
        st.info(
            _t(
                "plan_precision_result",
                reps=prec.reps,
                half=f"{100 * prec.half_width:g}",
                seconds=f"{prec.seconds():.0f}",
            )
        )

speed = st.session_state.get("plan_seconds_per_rep_variant")
if speed and variants:
    st.caption(_t("plan_time_estimate", seconds=f"{speed * reps * (len(variants) + 1):.0f}"))

if st.button(_t("plan_run_btn"), type="primary", key="plan_run_btn", disabled=not variants):
    workers, scheduler = _run_settings()
    bar, update = _progress_bar(_t("plan_running"))
    try:
        comp = compare(
            base,
            variants,
            int(reps),
            int(seed),
            workers=workers,
            scheduler=scheduler,
            progress=update,
        )
        st.session_state["plan_result"] = comp
        st.session_state["plan_seconds_per_rep_variant"] = comp.elapsed_s / (
            comp.reps * len(comp.variants)
        )
    except InputError as exc:
        _problems(exc)
    except Exception as exc:  # noqa: BLE001 - e.g. a Dask scheduler that cannot be reached
        show_error(exc)
    bar.empty()

comp = st.session_state.get("plan_result")
if comp is not None and comp.scenario == base.name:
    st.subheader(
        _t("plan_results", reps=comp.reps, seed=comp.seed, seconds=f"{comp.elapsed_s:.1f}")
    )
    if comp.crn_mismatched_reps:
        st.warning(_t("plan_crn_warning", n=comp.crn_mismatched_reps))
    for text in comp.verdicts(L).values():
        st.success(md(text))  # it names the variant by its (typed) label
    for line in comp.warning_lines(L):  # a lever that did nothing, or was never pulled
        st.warning(md(line))
    rows = []
    for rule in comp.key_rules():
        for v in comp.variants:
            r = comp.result(v.name, rule)
            if r.share is None:
                continue
            rows.append(
                {
                    _t("rule"): rule_name(base, rule, L),
                    _t("plan_col_variant"): v.label(L),
                    _t("plan_col_share"): f"{100 * r.share:.1f}%",
                    _t("plan_col_ci"): f"{100 * r.ci_lo:.1f}–{100 * r.ci_hi:.1f}%",
                    _t("plan_col_diff"): ""
                    if v.name == "base" or r.diff is None
                    else f"{100 * r.diff:+.1f} [{100 * r.diff_lo:+.1f}, {100 * r.diff_hi:+.1f}]",
                    _t("plan_col_n"): r.applicable,
                }
            )
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    always = [r for r in comp.applicable_rules() if r not in comp.key_rules()]
    if always:
        st.caption(
            _t(
                "plan_always_met",
                rules="、".join(rule_name(base, r, L) for r in always)
                if L == "zh"
                else ", ".join(rule_name(base, r, L) for r in always),
            )
        )
    with st.expander(_t("plan_why_missed"), expanded=False):
        why_variant = st.selectbox(
            _t("plan_col_variant"),
            comp.names,
            format_func=lambda n: comp.variants[comp.names.index(n)].label(L),
            key="plan_why_variant",
        )
        why_rows = why_missed_rows(comp, why_variant, L)
        if why_rows:
            # the rule's long name must not push the minutes off a laptop screen
            st.dataframe(
                pd.DataFrame(why_rows),
                hide_index=True,
                column_config={_t("why_col_rule"): st.column_config.TextColumn(width="medium")},
            )
            st.caption(_t("plan_why_help"))
        else:
            st.caption(_t("plan_why_none"))
    g1, g2 = st.tabs([_t("plan_chart_shares"), _t("plan_chart_diffs")])
    with g1:
        st.pyplot(share_figure(comp, L), clear_figure=True)
    with g2:
        st.pyplot(diff_figure(comp, L), clear_figure=True)
    timed_rules = [r for r in comp.applicable_rules() if r != ALL_MET]
    ecdf_rule = st.selectbox(
        _t("plan_ecdf_rule"),
        timed_rules,
        format_func=lambda r: rule_name(base, r, L),
        key="plan_ecdf_rule",
    )
    st.pyplot(ecdf_figure(comp, ecdf_rule, L), clear_figure=True)
    st.pyplot(load_figure(comp, L), clear_figure=True)
    with st.expander(_t("plan_full_table")):
        # in words; the CSV below keeps the frame's column keys and raw numbers
        st.caption(_t("plan_tbl_rules_title"))
        st.dataframe(planner_rule_table(comp, L), hide_index=True)
        st.caption(_t("plan_tbl_roles_title"))
        st.dataframe(planner_role_table(comp, L), hide_index=True)
    st.download_button(
        _t("plan_download_csv"),
        comp.rule_frame().to_csv(index=False).encode("utf-8-sig"),
        file_name=f"compare_{stem}.csv",
        mime="text/csv",
        key="plan_download_csv",
    )

# -- sizing ----------------------------------------------------------------------------------
st.header(_t("plan_sizing"))
st.caption(_t("plan_sizing_help"))


def _axis_inputs(n: int, role: str, state_index: int) -> tuple[str, int, str]:
    """One grid dimension of the sizing search: which role to add, how many at most, in what state."""
    c1, c2, c3 = st.columns(3)
    chosen = c1.selectbox(
        _t("plan_size_role", n=n),
        ROLE_IDS,
        index=ROLE_IDS.index(role),
        format_func=lambda r: label(base.plan, "roles", r, L),
        key=f"plan_size_role{n}",
    )
    most = c2.number_input(
        _t("plan_size_max"), min_value=0, max_value=10, value=2, key=f"plan_size_max{n}"
    )
    state = c3.selectbox(
        _t("plan_col_state"),
        STATES,
        index=state_index,
        format_func=lambda x: _t(f"rev_state_{x}"),
        key=f"plan_size_state{n}",
    )
    return chosen, most, state


with st.form("plan_size_form"):
    role1, max1, state1 = _axis_inputs(1, "duty_desk", 0)
    two = st.checkbox(_t("plan_size_two"), value=True, key="plan_size_two")
    role2, max2, state2 = _axis_inputs(2, "emergency_contact", 1)
    t1, t2, t3, t4 = st.columns(4)
    size_rule = t1.selectbox(
        _t("plan_size_target_rule"),
        RULES,
        index=RULES.index("emergency_contact_III_plus"),
        format_func=lambda r: rule_name(base, r, L),
        key="plan_size_rule",
    )
    target = t2.number_input(
        _t("plan_size_target"),
        min_value=1.0,
        max_value=100.0,
        value=90.0,
        step=1.0,
        key="plan_size_target",
    )
    size_reps = t3.number_input(
        _t("plan_reps"), min_value=10, max_value=100_000, value=300, step=50, key="plan_size_reps"
    )
    criterion = t4.selectbox(
        _t("plan_size_criterion"),
        ["estimate", "lower"],
        format_func=lambda c: _t(f"plan_size_criterion_{c}"),
        key="plan_size_criterion",
    )
    size_go = st.form_submit_button(_t("plan_size_btn"))
if size_go:
    axes = [
        Axis(
            f"extra_{role1}",
            role1,
            tuple(range(int(max1) + 1)),
            default_state=state1,
            label_zh=label(base.plan, "roles", role1, "zh"),
            label_en=label(base.plan, "roles", role1, "en"),
        )
    ]
    if two and role2 != role1:
        axes.append(
            Axis(
                f"extra_{role2}",
                role2,
                tuple(range(int(max2) + 1)),
                default_state=state2,
                label_zh=label(base.plan, "roles", role2, "zh"),
                label_en=label(base.plan, "roles", role2, "en"),
            )
        )
    workers, scheduler = _run_settings()
    bar, update = _progress_bar(_t("plan_running"))
    try:
        st.session_state["plan_size_result"] = size_grid(
            base,
            axes,
            {size_rule: target / 100},
            int(size_reps),
            int(seed),
            workers=workers,
            scheduler=scheduler,
            progress=update,
            criterion=criterion,
            exhaustive=True,
        )
    except InputError as exc:
        _problems(exc)
    except Exception as exc:  # noqa: BLE001
        show_error(exc)
    bar.empty()
sz = st.session_state.get("plan_size_result")
if sz is not None:
    if sz.best is None:
        st.warning(_t("plan_size_none"))
        for line in sz.blocked_lines(base.plan, L):  # what staffing cannot fix
            st.warning(md(line))
    else:
        st.success(
            _t(
                "plan_size_best",
                cells="，".join(f"{a.label(L)} +{sz.best[a.name]}" for a in sz.axes)
                if L == "zh"
                else ", ".join(f"{a.label(L)} +{sz.best[a.name]}" for a in sz.axes),
            )
        )
    st.pyplot(sizing_figure(sz, None, L), clear_figure=True)
    st.dataframe(sizing_table(sz, base.plan, L), hide_index=True)

# -- sweep -----------------------------------------------------------------------------------
st.header(_t("plan_sweep"))
# the first is the default: a lever that acts on the plan's main clock (a sweep of a lever
# nobody pulls draws flat lines, and compare then says so)
PARAMS = {
    "timing.written_report_minutes": "30, 45, 60, 90, 120",
    "timing.grading_late_prob": "0, 0.1, 0.2, 0.4",
    "timing.grading_wrong_prob": "0, 0.05, 0.1, 0.2",
    "timing.verbal_report_minutes": "2, 5, 10, 20",
    "roster.reachability.off_duty.answer_prob": "0.2, 0.35, 0.45, 0.6, 0.8",
    "roster.reachability.on_call.answer_prob": "0.6, 0.75, 0.85, 0.95",
    "plan.rules.first_report_3h": "90, 120, 150, 180, 240",
    "plan.settings.immediately_minutes": "10, 20, 30, 45, 60",
    "timing.max_call_rounds": "1, 2, 3, 4, 5",
    "sites.*.travel_scale": "0.5, 0.75, 1, 1.5, 2",
}
with st.form("plan_sweep_form"):
    param = st.selectbox(
        _t("plan_sweep_param"),
        list(PARAMS),
        format_func=lambda p: param_label(p, L),
        key="plan_sweep_param",
    )
    values_text = st.text_input(
        _t("plan_sweep_values"), value="", placeholder=PARAMS[param], key="plan_sweep_values"
    )
    sweep_reps = st.number_input(
        _t("plan_reps"), min_value=10, max_value=100_000, value=300, step=50, key="plan_sweep_reps"
    )
    sweep_go = st.form_submit_button(_t("plan_sweep_btn"))
if sweep_go:
    text = values_text.strip() or PARAMS[param]
    try:  # each value read like a file: no aliases, bounded
        values = [
            load_text(x.strip(), "sweep value")
            for x in text.replace("，", ",").split(",")
            if x.strip()
        ]
    except InputError:
        values = []
    if not values:
        st.error(_t("plan_sweep_bad_values"))
    else:
        workers, scheduler = _run_settings()
        bar, update = _progress_bar(_t("plan_running"))
        try:
            st.session_state["plan_sweep_result"] = sweep(
                base,
                param,
                values,
                int(sweep_reps),
                int(seed),
                workers=workers,
                scheduler=scheduler,
                progress=update,
            )
        except InputError as exc:
            _problems(exc)
        except Exception as exc:  # noqa: BLE001
            show_error(exc)
        bar.empty()
sw = st.session_state.get("plan_sweep_result")
if sw is not None:
    st.pyplot(sweep_figure(sw, L, sw.comparison.key_rules()), clear_figure=True)
    st.dataframe(sweep_table(sw, L), hide_index=True)
