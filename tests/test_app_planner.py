"""The planner page (Streamlit AppTest): variants → run → charts and verdicts; sizing; sweep."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sim.plan import load_plan

PAGE = str(Path(__file__).resolve().parent.parent / "ui" / "planner.py")
STEM = "season_2027"


def page(lang: str = "en", **state) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["lang"] = lang
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def small_runs(at: AppTest, reps: int = 40) -> AppTest:
    at.number_input(key="plan_reps").set_value(reps)
    at.number_input(key="plan_workers").set_value(1)
    return at


def test_page_loads_without_simulating(monkeypatch):
    import sim.runner

    def boom(*args, **kwargs):
        raise AssertionError("the page simulated at load")

    monkeypatch.setattr(sim.runner, "map_chunks", boom)
    at = page()
    assert not at.exception, at.exception
    assert not at.error
    assert at.title[0].value.startswith("Planner")
    assert len(at.image) == 0
    assert [d.key for d in at.data_editor] == [
        f"plan_{t}_{STEM}" for t in ("people", "calendar", "chains", "reach")
    ]
    assert at.button(key="plan_run_btn").disabled  # nothing to compare yet


def test_shipped_variants_and_a_plan_clock_run_to_charts_and_verdicts():
    at = page()
    at.multiselect(key="plan_files").select("night_duty_officer").select(
        "separate_emergency_contact"
    )
    at.checkbox(key="plan_clock_on").check()
    at.selectbox(key="plan_clock_rule").set_value("first_report_3h")
    # 90 min: a clear effect at 40 replications (at 120 min the first report is late so rarely
    # that the difference is within chance at this size)
    at.number_input(key="plan_clock_minutes").set_value(90.0)
    small_runs(at).run()
    assert not at.button(key="plan_run_btn").disabled
    at = at.button(key="plan_run_btn").click().run()
    assert not at.exception, at.exception
    verdicts = [s.value for s in at.success]
    assert any(v.startswith("+1 night duty officer:") and "→" in v for v in verdicts), verdicts
    rule_en = load_plan().rules["first_report_3h"].label_en  # "First report within 3 hours…"
    clock = next(v for v in verdicts if v.startswith(f"{rule_en}: clock 90 min:"))
    assert f"{rule_en} (clock 90 min)" in clock and "points ±" in clock
    assert len(at.image) >= 4  # shares with error bars, differences, ECDF, load per role
    table = next(d for d in at.dataframe if d.editing_mode == "read_only").value
    assert {"Rule", "Variant", "Share met", "95% interval", "vs base (points)"} <= set(
        table.columns
    )
    assert at.download_button(key="plan_download_csv")
    # the ECDF follows the chosen rule
    at = at.selectbox(key="plan_ecdf_rule").set_value("emergency_contact_III_plus").run()
    assert not at.exception and len(at.image) >= 4
    # why missed, per variant: the 90-minute clock's misses have causes in words
    clock_variant = at.session_state["plan_result"].names[-1]
    at = at.selectbox(key="plan_why_variant").set_value(clock_variant).run()
    assert not at.exception, at.exception
    why = next(d.value for d in at.dataframe if "Cause" in d.value.columns)
    first = why[why["Rule"] == rule_en]
    assert len(first) and "the step's own time" in set(first["Cause"])
    assert {"Share of misses", "Minutes per miss", "Misses"} <= set(why.columns)


def test_edited_roster_and_duty_calendar_become_a_variant():
    added = {
        "id": "duty_x",
        "role": "duty_desk",
        "name_zh": "值班员戊",
        "name_en": "Duty officer E",
        "default_state": "on_call",
        "p_on_duty": 0.97,
        "p_on_call": 0.85,
        "p_off_duty": 0.45,
    }
    at = page(
        "zh",
        **{
            f"plan_people_{STEM}": {
                "edited_rows": {0: {"p_on_call": 0.99}},
                "added_rows": [added],
                "deleted_rows": [],
            },
            f"plan_calendar_{STEM}": {
                "edited_rows": {},
                "added_rows": [
                    {
                        "person": "duty_x",
                        "days": "all",
                        "from": "07:00",
                        "to": "19:00",
                        "state": "on_duty",
                    }
                ],
                "deleted_rows": [],
            },
        },
    )
    assert not at.exception, at.exception
    changes = at.success[0].value
    assert "值班员戊" in changes and "（组长）" in changes and "leader" not in changes
    assert at.download_button(key="plan_edit_download")
    at = small_runs(at, 30).button(key="plan_run_btn").click().run()
    assert not at.exception, at.exception
    verdict = next(s.value for s in at.success if s.value.startswith("编辑后的编制："))
    assert "首报不得超过3小时" in verdict and "→" in verdict
    assert len(at.image) >= 4


def test_bad_table_edit_shows_the_problem_not_a_traceback():
    at = page(
        **{
            f"plan_people_{STEM}": {
                "edited_rows": {2: {"role": "boss"}},
                "added_rows": [],
                "deleted_rows": [],
            }
        }
    )
    assert not at.exception
    assert any("people:3: role: 'boss' is not one of" in e.value for e in at.error)


def test_precision_pilot_then_sizing_and_sweep():
    at = page()
    at.multiselect(key="plan_files").select("night_duty_officer")
    small_runs(at).run()
    at.number_input(key="plan_pilot_reps").set_value(20)
    at = at.button(key="plan_pilot_btn").click().run()
    assert not at.exception, at.exception
    assert any("replications give ±1 points" in i.value for i in at.info)
    assert any("Estimated about" in c.value for c in at.caption)

    at.number_input(key="plan_size_max1").set_value(1)
    at.number_input(key="plan_size_max2").set_value(1)
    at.number_input(key="plan_size_reps").set_value(10)
    at.number_input(key="plan_size_target").set_value(50.0)
    at = at.button(key="FormSubmitter:plan_size_form-Search the smallest staffing").click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Smallest staffing meeting the target:") for s in at.success)

    # the default sweep is a timing lever that acts: the written report's minutes
    assert at.selectbox(key="plan_sweep_param").value == "timing.written_report_minutes"
    at.text_input(key="plan_sweep_values").set_value("30, 150")
    at.number_input(key="plan_sweep_reps").set_value(10)
    at = at.button(key="FormSubmitter:plan_sweep_form-Run the sweep").click().run()
    assert not at.exception, at.exception
    assert len(at.image) >= 2  # sizing grid and sweep
    frame = at.session_state["plan_sweep_result"].frame
    first = frame[frame["rule"] == "first_report_3h"].set_index("value")["share"]
    assert first[150] < first[30]  # a 150-minute report misses the 3-hour clock more often

    at.selectbox(key="plan_sweep_param").set_value("plan.rules.first_report_3h")
    at.text_input(key="plan_sweep_values").set_value("120, 180")
    at = at.button(key="FormSubmitter:plan_sweep_form-Run the sweep").click().run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_both_languages_load(lang):
    at = page(lang)
    assert not at.exception
    assert (at.title[0].value.startswith("编制规划")) == (lang == "zh")
