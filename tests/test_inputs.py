"""Bad input: one line per problem, ``file:line: field: message``, exit code 2, never a traceback."""

import base64
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main

LINE = re.compile(r"^[^:\n]+:\d+: [^:\n]+: .+$")
SCENARIOS = sorted(Path("scenarios").glob("drill_*.yaml")) + sorted(
    Path("scenarios").glob("season_*.yaml")
)
GOOD = Path("scenarios/drill_answer_sheet_loss.yaml").read_text(encoding="utf-8")


def write(tmp_path, text: str | bytes, name: str = "bad.yaml") -> Path:
    p = tmp_path / name
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    for extra in ("plan.yaml", "roster_default.yaml"):
        (tmp_path / extra).write_text(
            Path("scenarios", extra).read_text(encoding="utf-8"), encoding="utf-8"
        )
    return p


def validate(capsys, path):
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.strip()]


CASES = {
    "yaml_error": (GOOD.replace("days: 2", "days: [2"), "(yaml)"),
    "unknown_key": (GOOD.replace("kind: drill", "kind: drill\ncolour: red"), "colour: unknown key"),
    "wrong_type": (GOOD.replace("days: 2", "days: two"), "calendar.days: expected an integer"),
    "out_of_range": (
        GOOD.replace("grading_wrong_prob: 0.05", "grading_wrong_prob: 1.5"),
        "timing.grading_wrong_prob: 1.5 is above the maximum 1",
    ),
    "unsafe_tag": (
        GOOD.replace(
            "name: drill_answer_sheet_loss", 'name: !!python/object/apply:os.system ["echo pwned"]'
        ),
        "unsafe or unknown YAML tag",
    ),
    "empty": ("", "the file is empty"),
    "unknown_family": (
        GOOD.replace("family: answer_sheet_loss", "family: volcano"),
        "incidents[0].family",
    ),
    "bad_time": (GOOD.replace('at: "D0 11:45"', 'at: "noon"'), "incidents[0].at"),
    "bad_dist": (
        GOOD.replace(
            "travel_minutes: {dist: triangular, low: 20, mode: 35, high: 70}",
            "travel_minutes: {dist: triangular, low: 80, mode: 35, high: 70}",
        ),
        "triangular needs low ≤ mode ≤ high",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_scenarios(tmp_path, capsys, case):
    text, expected = CASES[case]
    path = write(tmp_path, text)
    code, lines = validate(capsys, path)
    assert code == 2
    assert lines and all(LINE.match(line) for line in lines), lines
    assert any(expected in line for line in lines), lines
    assert all(line.startswith(str(path)) for line in lines)


def test_line_numbers_point_at_the_problem(tmp_path, capsys):
    path = write(tmp_path, GOOD.replace("days: 2", "days: two"))
    _, lines = validate(capsys, path)
    lineno = next(i for i, text in enumerate(GOOD.splitlines(), 1) if "days: 2" in text)
    assert lines == [f"{path}:{lineno}: calendar.days: expected an integer, got text 'two'"]


def test_binary_file(tmp_path, capsys):
    code, lines = validate(capsys, write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    assert code == 2 and "binary" in lines[0]


def test_several_problems_one_line_each(tmp_path, capsys):
    text = (
        GOOD.replace("days: 2", "days: two")
        .replace("kind: drill", "kind: drill\ncolour: red")
        .replace("people: 130", "people: -4")
    )
    code, lines = validate(capsys, write(tmp_path, text))
    assert code == 2 and len(lines) == 3


def roster_text(**changes):
    text = Path("scenarios/roster_default.yaml").read_text(encoding="utf-8")
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


def test_role_with_no_one_in_it(tmp_path, capsys):
    roster = roster_text(**{"role: team_it,": "role: team_logistics,"})
    write(tmp_path, GOOD)
    (tmp_path / "roster_default.yaml").write_text(roster, encoding="utf-8")
    code, lines = validate(capsys, tmp_path / "bad.yaml")
    assert code == 2 and any(
        "roster.team_it: a role with no one in it" in line for line in lines
    ), lines


def test_call_chain_that_loops(tmp_path, capsys):
    roster = roster_text(
        **{
            "    leader: [leader, role:deputy_leader]": "    leader: [role:deputy_leader]",
            "    deputy_leader: [deputy_vice_dean, deputy_secretary, office_director]": (
                "    deputy_leader: [role:leader]"
            ),
        }
    )
    write(tmp_path, GOOD)
    (tmp_path / "roster_default.yaml").write_text(roster, encoding="utf-8")
    code, lines = validate(capsys, tmp_path / "bad.yaml")
    assert code == 2 and any(
        "call chain loops" in line and "roster_default.yaml" in line for line in lines
    ), lines


def test_broken_plan_file(tmp_path, capsys):
    plan = (
        Path("scenarios/plan.yaml")
        .read_text(encoding="utf-8")
        .replace("    allowed_minutes: 180", "    allowed_minutes: -5")
    )
    path = tmp_path / "plan.yaml"
    path.write_text(plan, encoding="utf-8")
    code, lines = validate(capsys, path)
    assert code == 2 and any("rules.first_report_3h.allowed_minutes" in line for line in lines)


def test_unknown_setting_reference(tmp_path, capsys):
    plan = (
        Path("scenarios/plan.yaml")
        .read_text(encoding="utf-8")
        .replace("allowed_minutes: $deputy_on_site_minutes", "allowed_minutes: $deputy_minutes")
    )
    path = tmp_path / "plan.yaml"
    path.write_text(plan, encoding="utf-8")
    code, lines = validate(capsys, path)
    assert code == 2 and any("unknown setting $deputy_minutes" in line for line in lines)


def test_roster_warnings_duty_gap_and_late_contact_change(tmp_path, capsys):
    roster = roster_text(
        **{
            'duty: [{days: all, from: "19:00", to: "07:00", state: on_duty}]': 'duty: [{days: all, from: "19:00", to: "23:00", state: on_duty}]',
            "{id: general_contact, role: general_contact,": '{id: general_contact, contact_change: {notified: "D-3 09:00", effective: "D0 09:00"}, role: general_contact,',
        }
    )
    write(tmp_path, GOOD)
    (tmp_path / "roster_default.yaml").write_text(roster, encoding="utf-8")
    code = main(["validate", str(tmp_path / "bad.yaml")])
    out = capsys.readouterr().out
    assert code == 0
    assert "roster.duty_desk: warning: no one on_duty for 960 min" in out
    assert "contact_change: warning" in out


def test_no_traceback_from_the_command_line(tmp_path):
    path = write(tmp_path, GOOD.replace("days: 2", "days: [2"))
    out = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(path), "--reps", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr and LINE.match(out.stderr.strip())


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_validates_and_runs(path, capsys):
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--reps", "3", "--seed", "1", "--workers", "1", "--json"]) == 0
    assert '"rules"' in capsys.readouterr().out


def test_one_drill_per_family_shipped():
    from sim.plan import FAMILIES
    from sim.scenario import load_scenario

    families = {inc.family for p in SCENARIOS for inc in load_scenario(p).incidents}
    assert families == set(FAMILIES)


def test_shipped_files_hold_no_real_names_or_numbers():
    banned = re.compile(
        base64.b64decode(
            "5YiY5bu65piOfOW6t+WbveiLsXznqIvlu7rlhpt855Sw5pil6Z2SfOadjuengOiLsXzpn6nmspvmnb58546L56OK"
        ).decode()
        + r"|(^|[^0-9])1[3-9][0-9]{9}([^0-9]|$)|0478-?[0-9]{7,}"
    )
    # the scenarios, and the code, tests and notebooks beside them (a test's invented roster
    # builds its mobile-shaped numbers at run time)
    files = [*Path("scenarios").rglob("*.yaml"), *Path("sim").rglob("*.py")]
    files += [*Path("ui").rglob("*.py"), *Path("tests").rglob("*.py")]
    files += [*Path("notebooks").rglob("*.ipynb"), Path("README.md"), Path("app.py")]
    for p in files:
        assert not banned.search(p.read_text(encoding="utf-8")), p
