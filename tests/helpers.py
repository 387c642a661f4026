"""Tiny scenarios built in code, for exact-trace and extreme-case tests."""

from __future__ import annotations

import copy
from typing import Any

from sim.plan import ROLE_IDS, load_plan
from sim.scenario import Scenario, parse_scenario

PLAN = load_plan()


def tiny_dict(
    *,
    answer_prob: float = 1.0,
    answer_minutes: float = 0.0,
    state: str = "on_duty",
    incidents: list[dict] | None = None,
    timing: dict | None = None,
    extra_people: list[dict] | None = None,
) -> dict[str, Any]:
    """One site, one person per role, everyone in ``state``, fixed durations."""
    people = [
        {
            "id": f"p_{role}",
            "role": role,
            "name_en": role,
            "default_state": state,
            **({"site": "s1"} if role == "chief_examiner" else {}),
        }
        for role in ROLE_IDS
        # the site's other people (副主考, 考务人员) are added by a test that wants them
        if role not in ("deputy_chief_examiner", "site_exam_staff")
    ]
    people += extra_people or []
    reach = {"answer_prob": answer_prob, "answer_minutes": answer_minutes}
    base_timing = {
        "discovery_minutes": 10,
        "on_site_control_minutes": 5,
        "confirm_minutes": 0,
        "grading_minutes": 10,
        "grading_late_minutes": 0,
        "verbal_report_minutes": 2,
        "written_report_minutes": 30,
        "body_receive_minutes": 1,
        "department_relay_minutes": 5,
        "inform_minutes": 2,
        "emergency_state_minutes": 5,
        "dispatch_minutes": 5,
        "response_minutes": 60,
        "follow_up_minutes": 10,
        "final_report_minutes": 120,
        "ring_minutes": 1,
        "retry_minutes": 10,
    }
    base_timing.update(timing or {})
    return {
        "name": "tiny",
        "kind": "drill",
        "calendar": {
            "days": 1,
            "sites": [{"id": "s1", "rooms": 2, "candidates": 60, "travel_minutes": 30}],
            "sessions": [{"day": 0, "start": "09:00", "end": "11:00"}],
        },
        "roster": {
            "reachability": {"on_duty": reach, "on_call": reach, "off_duty": reach},
            "people": people,
        },
        "incidents": incidents
        if incidents is not None
        else [
            {
                "id": "i1",
                "at": "D0 09:30",
                "site": "s1",
                "family": "answer_sheet_loss",
                "people": 120,
            }
        ],
        "timing": base_timing,
    }


def tiny(**kwargs: Any) -> Scenario:
    return parse_scenario(
        copy.deepcopy(tiny_dict(**kwargs)), "tiny.yaml", plan=kwargs.pop("plan", None) or PLAN
    )


def build(data: dict, plan=None) -> Scenario:
    return parse_scenario(copy.deepcopy(data), "tiny.yaml", plan=plan or PLAN)
