"""Variants: override files, applying them without mutation, line-numbered problems, tables."""

import copy
import pickle
import subprocess
import sys

import pandas as pd
import pytest

from helpers import build, tiny_dict
from sim.experiment import run_once
from sim.scenario import load_scenario
from sim.variants import (
    BASE,
    apply,
    calendar_frame,
    chains_frame,
    describe,
    load_variant,
    parse_variant,
    people_frame,
    reach_frame,
    set_path,
    shipped_variants,
    variant_from_dict,
    variant_from_tables,
    variant_to_yaml,
)
from sim.yamlio import InputError, load_text

SEASON = "scenarios/season_2027.yaml"


@pytest.fixture(scope="module")
def season():
    return load_scenario(SEASON)


def problems_of(text: str, base=None, file: str = "v.yaml") -> list[str]:
    """Every problem, as the CLI prints it, from parsing (and applying, given a base)."""
    try:
        v = parse_variant(load_text(text, file), file)
        if base is not None:
            apply(base, v)
    except InputError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_shipped_variants_load_apply_and_leave_the_base_unchanged(season):
    before = pickle.dumps(season)
    snapshot = copy.deepcopy(season)
    paths = shipped_variants()
    assert {p.stem for p in paths} >= {
        "night_duty_officer",
        "separate_emergency_contact",
        "first_report_2h",
        "desk_makes_verbal_reports",
        "second_writer_site_c",
    }
    for path in paths:
        v = load_variant(path)
        assert v.name == path.stem and v.label_zh and v.label_en and not v.is_base
        changed = apply(season, v)
        assert changed != season, path
        assert describe(v, "zh") and describe(v, "en")
    assert pickle.dumps(season) == before and season == snapshot
    assert apply(season, BASE) is season


def test_night_duty_officer_joins_the_duty_desk(season):
    s = apply(season, load_variant("scenarios/variants/night_duty_officer.yaml"))
    p = s.roster.person("duty_night_2")
    assert (
        p.role == "duty_desk"
        and p.state_at(23 * 60) == "on_duty"
        and p.state_at(12 * 60) == "off_duty"
    )
    assert s.roster.chain("duty_desk")[-1] == "duty_night_2"  # chain: end
    assert len(s.roster.people) == len(season.roster.people) + 1


def test_separate_emergency_contact_and_plan_clock(season):
    # as shipped the office director is the emergency contact; the variant calls a dedicated one
    # first, with the director as the backup
    assert "emergency_contact" not in {p.id for p in season.roster.people}
    assert season.roster.chain("emergency_contact")[0] == "office_director"
    s = apply(season, load_variant("scenarios/variants/separate_emergency_contact.yaml"))
    assert s.roster.chain("emergency_contact")[:2] == ("emergency_contact", "office_director")
    assert s.roster.person("emergency_contact").roles == ("emergency_contact",)
    s = apply(season, load_variant("scenarios/variants/first_report_2h.yaml"))
    assert s.plan.rules["first_report_3h"].allowed_minutes == 120
    assert season.plan.rules["first_report_3h"].allowed_minutes == 180


def test_desk_makes_verbal_reports_moves_who_is_busy(season):
    """A step moved to another role (plan.procedure.verbal_report.by: duty_desk): the duty desk
    makes the verbal reports, so the sites' people are less busy and the office's other steps
    (报组长、副组长) pass from the busy desk to the office's other people, on the same incidents
    (same seed and replications).

    The desk's own busy minutes are not compared: it makes the reports but is no longer rung by
    the sites for them, and which of the two weighs more depends on the timing defaults."""
    moved = apply(season, load_variant("scenarios/variants/desk_makes_verbal_reports.yaml"))
    assert season.plan.step("verbal_report").by == "site"
    assert moved.plan.step("verbal_report").by == "duty_desk"
    desk = {p.id for p in season.roster.people if "duty_desk" in p.roles}
    site = {p.id for p in season.roster.people if p.site is not None}
    assert desk and site

    def load(scenario):
        busy = {"desk_informs": 0, "site": 0.0}
        reporters = set()
        for i in range(20):
            run = run_once(scenario, 7, i)
            busy["site"] += sum(run.busy_minutes.get(pid, 0.0) for pid in site)
            busy["desk_informs"] += sum(
                1 for a in run.records if a.action == "office_informs" and a.actor in desk
            )
            reporters |= {a.actor for a in run.records if a.action == "verbal_report"}
        return busy, reporters

    (before, by_before), (after, by_after) = load(season), load(moved)
    assert by_before and by_before <= site  # as shipped: the site's people report
    assert by_after and not by_after & site and by_after & desk  # now the duty desk does
    assert after["site"] < before["site"]
    # the desk is taken up by the reports: the office's other people inform the leaders instead
    assert after["desk_informs"] < before["desk_informs"] / 2
    # the same incidents: only who does the work changed
    for i in range(3):
        assert run_once(season, 7, i).incidents == run_once(moved, 7, i).incidents


def test_moving_an_unknown_step_names_file_line_and_field(season, tmp_path):
    path = tmp_path / "nope.yaml"
    path.write_text("name: nope\nplan:\n  procedure:\n    nope: {by: x}\n", encoding="utf-8")
    v = load_variant(path)  # the step is checked against the scenario's plan, when applied
    with pytest.raises(InputError) as exc:
        apply(season, v)
    assert [str(p) for p in exc.value.problems] == [
        f"{path}:4: plan.procedure.nope: unknown step 'nope' (known: "
        + ", ".join(season.plan.steps)
        + ")"
    ]
    # a known step moved to no one known: the `by` field, at its own line
    found = problems_of("plan:\n  procedure:\n    verbal_report:\n      by: boss\n", season)
    assert found and all(
        p.startswith("v.yaml:4: plan.procedure.verbal_report.by: 'boss'") for p in found
    )
    # and on the command line: the same line, exit 2, no traceback
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "compare",
            SEASON,
            "--variant",
            str(path),
            "--reps",
            "2",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"{path}:4: plan.procedure.nope: unknown step 'nope'" in out.stderr


def test_add_after_people_remove_change_and_defaults(season):
    v = variant_from_dict(
        {
            "name": "mix",
            "roster": {
                "add": [
                    {"id": "dd3", "role": "duty_desk", "default_state": "on_call"},
                    {
                        "id": "backup",
                        "role": "general_contact",
                        "chain": {"emergency_contact": "end", "duty_desk": "start"},
                    },
                ],
                "remove": ["deputy_secretary", "team_exam_2"],
                "change": {
                    "leader": {
                        "default_state": "on_duty",
                        "reach": {"on_duty": {"answer_prob": 0.5}},
                    },
                    "duty_day": {
                        "duty": [
                            {"days": [0, 1], "from": "08:00", "to": "20:00", "state": "on_duty"}
                        ]
                    },
                    "office_director": {
                        "add_duty": [
                            {"days": "all", "from": "20:00", "to": "22:00", "state": "on_call"}
                        ]
                    },
                },
                "reachability": {"off_duty": {"answer_prob": 0.6}},
            },
            "sites": {"site_c": {"travel_minutes": 30}, "*": {"travel_scale": 2}},
            "plan": {"settings": {"immediately_minutes": 20}, "rules": {"first_report_3h": 150}},
            "timing": {"max_call_rounds": 5, "ring_minutes": 2, "bodies": {"ministry": 30}},
        }
    )
    s = apply(season, v)
    r = s.roster
    # after_people: after the duty desk's people, before the fall-back to the office director
    assert r.chain("duty_desk") == (
        "backup",
        "duty_day",
        "duty_night",
        "dd3",
        "office_director",
        "general_contact",
    )
    assert r.chain("emergency_contact")[-1] == "backup"
    # the office director is also a deputy leader: the last backup in that chain
    assert "deputy_secretary" not in {p.id for p in r.people} and r.chain("deputy_leader") == (
        "deputy_vice_dean",
        "office_director",
    )
    assert "team_exam_2" not in r.chain("team_exam_affairs")
    leader = r.person("leader")
    assert leader.default_state == "on_duty" and r.reach_of(leader, "on_duty").answer_prob == 0.5
    assert (
        r.reach_of(leader, "on_duty").answer_minutes
        == dict(season.roster.reachability)["on_duty"].answer_minutes
    )
    assert (
        r.person("duty_day").state_at(2 * 1440 + 9 * 60) == "off_duty"
    )  # day 2 not in the new calendar
    assert r.person("office_director").state_at(21 * 60) == "on_call"
    assert dict(r.reachability)["off_duty"].answer_prob == 0.6
    travel = {x.id: x.travel_minutes for x in s.sites}
    assert travel["site_c"].params == (60.0,)  # set to 30, then every site × 2
    assert travel["site_a"].params == tuple(
        2 * p for p in season.site("site_a").travel_minutes.params
    )
    assert (
        s.plan.setting("immediately_minutes") == 20
        and s.plan.rules["office_informs_leaders"].allowed_minutes == 20
    )
    assert s.plan.rules["first_report_3h"].allowed_minutes == 150
    assert s.timing.max_call_rounds == 5 and s.timing["ring_minutes"].params == (2.0,)
    assert s.timing.receive_delay("ministry").params == (30.0,)


def test_yaml_round_trip_gives_the_same_scenario(season):
    for path in shipped_variants():
        v = load_variant(path)
        again = parse_variant(load_text(variant_to_yaml(v), "again.yaml"), "again.yaml")
        assert apply(season, again) == apply(season, v), path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nroster:\n  ad: []\n", "v.yaml:3: roster.ad: unknown key"),
        (
            "roster:\n  add:\n    - {id: a, role: boss}\n",
            "v.yaml:3: roster.add[0].role: 'boss' is not one of",
        ),
        (
            "roster:\n  add:\n    - {id: a, role: leader, duty: [{from: '25:00', to: '07:00', state: on_duty}]}\n",
            "v.yaml:3: roster.add[0].duty[0].from: expected a time of day",
        ),
        (
            "roster:\n  reachability:\n    off_duty: {answer_prob: 1.5}\n",
            "v.yaml:3: roster.reachability.off_duty.answer_prob: 1.5 is above the maximum 1",
        ),
        (
            "plan:\n  rules:\n    first_report_3h: -5\n",
            "v.yaml:3: plan.rules.first_report_3h: expected the rule's allowed minutes",
        ),
        (
            "plan:\n  rules:\n    first_report_4h: 60\n",
            "v.yaml:3: plan.rules.first_report_4h: unknown rule id",
        ),
        (
            "sites:\n  site_a: {travel_minutes: {dist: triangular, low: 5, mode: 1, high: 9}}\n",
            "v.yaml:2: sites.site_a.travel_minutes: triangular needs low ≤ mode ≤ high",
        ),
        (
            "timing:\n  max_call_rounds: 0\n",
            "v.yaml:2: timing.max_call_rounds: 0 is below the minimum 1",
        ),
        ("roster: [1, 2]\n", "v.yaml:1: roster: expected a mapping"),
        ("name: x\n  bad: [\n", "v.yaml:2: (yaml)"),
    ],
)
def test_malformed_override_files_one_line_per_problem(text, expected):
    found = problems_of(text)
    assert any(p.startswith(expected) for p in found), found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "roster:\n  remove: [nobody]\n",
            "v.yaml:2: roster.remove[0]: no person 'nobody' in the roster",
        ),
        (
            "roster:\n  remove: [leader]\n",
            "v.yaml:2: roster: the variant leaves role 'leader' with no one in it",
        ),
        (
            "roster:\n  change:\n    ghost: {default_state: on_duty}\n",
            "v.yaml:3: roster.change.ghost: no person 'ghost'",
        ),
        (
            "roster:\n  add:\n    - {id: leader, role: leader}\n",
            "v.yaml:3: roster.add[0].id: duplicate person id 'leader'",
        ),
        (
            "roster:\n  add:\n    - {id: x, role: chief_examiner, site: site_z}\n",
            "v.yaml:3: roster.add[0].site: unknown site 'site_z'",
        ),
        (
            "roster:\n  call_chains:\n    leader: [leader, nobody]\n",
            "v.yaml:3: roster.call_chains.leader: unknown person 'nobody'",
        ),
        (
            "roster:\n  call_chains:\n    leader: [role:deputy_leader]\n    deputy_leader: [role:leader]\n",
            "call chain loops",
        ),
        ("sites:\n  site_z: {travel_scale: 2}\n", "v.yaml:2: sites.site_z: unknown site 'site_z'"),
        (
            "plan:\n  settings:\n    no_such: 3\n",
            "v.yaml:3: plan.settings.no_such: unknown setting",
        ),
        (
            "plan:\n  settings:\n    immediately_minutes: soon\n",
            "v.yaml:3: plan.settings.immediately_minutes: expected a value like 30",
        ),
        (
            "plan:\n  settings:\n    first_report_is: shouted\n",
            "v.yaml:3: plan.settings.first_report_is: 'shouted' is not one of",
        ),
    ],
)
def test_changes_that_do_not_fit_the_scenario(season, text, expected):
    found = problems_of(text, season)
    assert any(expected in p for p in found), found


def test_bad_variant_file_on_the_command_line_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nroster:\n  remove: [nobody]\n  add:\n    - {id: x, role: boss}\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "compare",
            SEASON,
            "--variant",
            str(bad),
            "--reps",
            "5",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert f"{bad}:5: roster.add[0].role: 'boss' is not one of" in out.stderr


def test_tables_unchanged_give_no_change(season):
    r = season.roster
    v = variant_from_tables(
        season,
        "same",
        people=people_frame(r),
        calendar=calendar_frame(r),
        chains=chains_frame(r),
        reach=reach_frame(r),
    )
    assert v.is_base
    assert apply(season, v) == season


def test_edited_tables_become_a_variant(season):
    r = season.roster
    people = people_frame(r)
    cal = calendar_frame(r)
    new = {
        "id": "duty_x",
        "role": "duty_desk",
        "name_zh": "值班员戊",
        "name_en": "Duty officer E",
        "site": "",
        "default_state": "on_call",
        "p_on_duty": 0.97,
        "p_on_call": 0.85,
        "p_off_duty": 0.45,
    }
    people = pd.concat([people, pd.DataFrame([new])], ignore_index=True)
    people = people[people["id"] != "team_exam_2"].reset_index(drop=True)
    people.loc[people["id"] == "leader", "p_on_call"] = 0.99
    cal = pd.concat(
        [
            cal,
            pd.DataFrame(
                [
                    {
                        "person": "duty_x",
                        "days": "0,1",
                        "from": "19:00",
                        "to": "07:00",
                        "state": "on_duty",
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    reach = reach_frame(r)
    reach.loc[reach["state"] == "off_duty", "answer_prob"] = 0.3
    v = variant_from_tables(
        season, "edited", people=people, calendar=cal, reach=reach, label_en="Edited"
    )
    s = apply(season, v)
    assert s.roster.person("duty_x").state_at(1 * 1440 + 23 * 60) == "on_duty"
    assert s.roster.chain("duty_desk").index("duty_x") < s.roster.chain("duty_desk").index(
        "office_director"
    )
    assert "team_exam_2" not in {p.id for p in s.roster.people}
    assert s.roster.reach_of(s.roster.person("leader"), "on_call").answer_prob == 0.99
    assert dict(s.roster.reachability)["off_duty"].answer_prob == 0.3
    assert v.label("en") == "Edited"
    # and back to a file the CLI can use
    again = parse_variant(load_text(variant_to_yaml(v), "e.yaml"), "e.yaml")
    assert apply(season, again) == s


def test_table_problems_name_table_row_and_column(season):
    r = season.roster
    people = people_frame(r)
    people.loc[2, "role"] = "boss"
    people.loc[3, "p_off_duty"] = 3.0
    cal = calendar_frame(r)
    cal.loc[0, "from"] = "7 o'clock"
    chains = chains_frame(r)
    chains.loc[0, "chain"] = "nobody, role:leader"
    with pytest.raises(InputError) as exc:
        variant_from_tables(season, "bad", people=people, calendar=cal, chains=chains)
    text = str(exc.value)
    assert "people:3: role: 'boss' is not one of" in text
    assert "people:4: p_off_duty: expected a probability between 0 and 1" in text
    assert "calendar:1: from: expected a time of day HH:MM" in text
    assert "call_chains:1: chain: unknown person 'nobody'" in text


def test_chain_edit_in_the_table(season):
    chains = chains_frame(season.roster)
    assert season.roster.chain("emergency_contact") == ("office_director", "general_contact")
    chains.loc[chains["role"] == "emergency_contact", "chain"] = "general_contact, office_director"
    s = apply(season, variant_from_tables(season, "c", chains=chains))
    assert s.roster.chain("emergency_contact") == ("general_contact", "office_director")


def test_changing_a_role_changes_the_roles_the_engine_uses(season):
    """``change: {id: {role: x}}`` replaces the person's (first) role in ``roles`` too — the
    engine reads ``roles`` — and keeps the other roles a person holds."""
    v = variant_from_dict(
        {
            "name": "roles",
            "roster": {
                "add": [{"id": "od2", "role": "office_director", "chain": "start"}],
                "change": {
                    "deputy_secretary": {"role": "leader"},
                    "office_director": {"role": "expert"},
                },
            },
        }
    )
    s = apply(season, v)
    p = s.roster.person("deputy_secretary")
    assert (p.role, p.roles) == ("leader", ("leader",))
    d = s.roster.person("office_director")
    assert d.role == "expert"
    assert d.roles == ("expert", "emergency_contact", "deputy_leader")
    assert s.roster.chain("office_director")[0] == "od2"
    # no change of role: the roles stay as they were
    same = apply(
        season,
        variant_from_dict(
            {"roster": {"change": {"office_director": {"role": "office_director"}}}}, "same"
        ),
    )
    assert (
        same.roster.person("office_director").roles == season.roster.person("office_director").roles
    )


def test_new_person_joins_a_role_chain_held_by_someone_with_several_roles():
    """A role without a written chain is its people in roster order — everyone holding it, a
    person with several roles included; a new person placed at its start comes before them."""
    data = tiny_dict(
        extra_people=[
            {"id": "it_expert", "roles": ["team_it", "expert"], "name_en": "IT and expert"}
        ]
    )
    base = build(data)
    assert base.roster.chain("expert") == ("p_expert", "it_expert")
    s = apply(
        base,
        variant_from_dict(
            {"roster": {"add": [{"id": "e2", "role": "expert", "chain": "start"}]}}, "e2"
        ),
    )
    assert s.roster.chain("expert") == ("e2", "p_expert", "it_expert")
    assert s.roster.chain("team_it") == ("p_team_it", "it_expert")


def test_deleted_chain_row_falls_back_to_everyone_holding_the_role(season):
    chains = chains_frame(season.roster)
    chains = chains[chains["role"] != "emergency_contact"].reset_index(drop=True)
    s = apply(season, variant_from_tables(season, "c", chains=chains))
    # the office director holds emergency_contact among other roles: still its chain
    assert dict(s.roster.call_chains)["emergency_contact"] == ("office_director",)
    assert s.roster.chain("emergency_contact") == ("office_director",)


def test_set_path():
    assert set_path("roster.reachability.off_duty.answer_prob", 0.3) == {
        "roster": {"reachability": {"off_duty": {"answer_prob": 0.3}}}
    }
    with pytest.raises(ValueError):
        set_path("", 1)


def test_a_variant_changes_incident_rates_and_call_order(season):
    """Rates: ×3 for every family gives about three times the incidents; call order: each chain
    as written. Both round-trip through the variant file format and are described."""
    busier = variant_from_dict({"name": "busier", "stochastic": {"*": {"rate_scale": 3}}}, "b")
    online = variant_from_dict({"name": "online", "stochastic": {"online_info": {"rate": 0.5}}})
    written = variant_from_dict({"name": "written", "timing": {"call_order": "written"}}, "w")
    many = apply(season, busier)
    assert all(
        a.rate == pytest.approx(3 * b.rate) for a, b in zip(many.rates, season.rates, strict=True)
    )
    n_base = sum(len(run_once(season, 5, i).incidents) for i in range(30))
    n_many = sum(len(run_once(many, 5, i).incidents) for i in range(30))
    assert 2.2 * n_base < n_many < 3.8 * n_base
    rates = {fr.family: fr.rate for fr in apply(season, online).rates}
    assert (
        rates["online_info"] == 0.5
        and rates["leak"] == dict((fr.family, fr.rate) for fr in season.rates)["leak"]
    )
    assert apply(season, written).timing.call_order == "written"
    for v in (busier, online, written):
        again = parse_variant(load_text(variant_to_yaml(v), "v.yaml"), "v.yaml")
        assert [(x.family, x.rate, x.rate_scale) for x in again.rates] == [
            (x.family, x.rate, x.rate_scale) for x in v.rates
        ]
        assert [(x.key, x.value) for x in again.timing] == [(x.key, x.value) for x in v.timing]
    assert any("incident rate every family × 3" in line for line in describe(busier, "en"))
    with pytest.raises(InputError, match="stochastic.nope: unknown family"):
        variant_from_dict({"name": "x", "stochastic": {"nope": {"rate": 1}}})
    with pytest.raises(InputError, match="give exactly one of rate, rate_scale"):
        variant_from_dict({"name": "x", "stochastic": {"leak": {"rate": 1, "rate_scale": 2}}})
