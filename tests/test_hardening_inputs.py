"""Bounded inputs (issue 11, parts 2 and 5): nothing read from a file or a flag can hang a run,
exhaust memory, slip NaN past a range check or end in a traceback, and ``validate`` checks every
shipped file as what it is. Each bad input gives exit code 2 and ``file:line: field: message``.
"""

from __future__ import annotations

import copy
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.cli import main
from sim.compare import compare
from sim.experiment import MAX_REPS, run_replications
from sim.plan import ENGINE_SETTINGS, GRADER_SETTINGS, load_plan, parse_plan
from sim.scenario import load_scenario
from sim.variants import load_variant
from sim.yamlio import MAX_DEPTH, MAX_FILE_BYTES, InputError, load_file, load_text

ROOT = Path(__file__).resolve().parent.parent
SCEN = ROOT / "scenarios"
LINE = re.compile(r"^[^:\n]+:\d+: [^:\n]+: .+$")
DRILL = (SCEN / "drill_answer_sheet_loss.yaml").read_text(encoding="utf-8")
PLAN_TEXT = (SCEN / "plan.yaml").read_text(encoding="utf-8")
SEASON = str(SCEN / "season_2027.yaml")


def bomb_text() -> str:
    """A 443-byte alias bomb under ``plan.settings``: 6 × 9**8 (258 million) items expanded."""
    lines = ["name: bomb", "plan:", "  settings:", "    a: &a [lol, lol, lol, lol, lol, lol]"]
    names = "abcdefgh"
    for i in range(1, 8):
        lines.append(f"    {names[i]}: &{names[i]} [" + ",".join([f"*{names[i - 1]}"] * 9) + "]")
    lines.append("    immediately_minutes: [" + ",".join(["*h"] * 9) + "]")
    text = "\n".join(lines) + "\n"
    return f"# {'x' * (443 - len(text) - 3)}\n" + text


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    """``text`` as a file beside copies of the shipped plan and roster (scenarios name them)."""
    for extra in ("plan.yaml", "roster_default.yaml"):
        target = tmp_path / extra
        if not target.exists():
            target.write_text((SCEN / extra).read_text(encoding="utf-8"), encoding="utf-8")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run_main(capsys, *argv: str) -> tuple[int, list[str], float]:
    """``drillsim ARGV`` in this process: exit code, stderr lines, seconds taken."""
    t0 = time.perf_counter()
    code = main([str(a) for a in argv])
    took = time.perf_counter() - t0
    err = capsys.readouterr().err
    return code, [x for x in err.splitlines() if x.strip()], took


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    """Without the fix a child would grow by ~100 MB/s until its timeout: cap it at 4 GB."""
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def run_cli(*argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """``python -m sim ARGV`` as a user runs it (a hang fails the test by its timeout)."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, argv)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        preexec_fn=_limit_memory,
    )


@pytest.fixture
def no_engine(monkeypatch):
    """Fail at once if a command gets as far as running replications (a cap did not hold)."""

    def reached(*args, **kwargs):
        raise AssertionError("the command ran replications instead of refusing its flags")

    import sim.bench_planner
    import sim.compare
    import sim.experiment
    import sim.runner

    for module, name in (
        (sim.experiment, "run_replications"),
        (sim.runner, "map_chunks"),
        (sim.compare, "sweep"),
        (sim.compare, "size_grid"),
        (sim.bench_planner, "bench"),
    ):
        monkeypatch.setattr(module, name, reached)


def assert_clean(code: int, lines: list[str], *expected: str) -> None:
    """Exit 2, every line ``file:line: field: message``, each expected text on some line."""
    assert code == 2, lines
    assert lines and all(LINE.match(x) for x in lines), lines
    for text in expected:
        assert any(text in x for x in lines), (text, lines)


# -- YAML aliases, size, depth ---------------------------------------------------------------


def test_alias_bomb_is_refused_at_once(tmp_path, capsys):
    text = bomb_text()
    assert len(text.encode()) == 443
    path = write(tmp_path, text, "bomb.yaml")
    code, lines, took = run_main(capsys, "validate", path)
    assert_clean(code, lines, "YAML aliases (*a) are not allowed")
    assert len(lines) == 1 and lines[0].startswith(f"{path}:6: (yaml): ")
    assert took < 1.0
    # the planner page's upload: load_text, then describe() on every rerun
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="aliases"):
        load_text(text, "upload.yaml")
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize(
    ("text", "line", "code", "words"),
    [
        ("a: 1\nb: !!timestamp x\n", 2, "yaml_bad_date", "'x' is not a valid date or time"),
        ("a: !!bool maybe\n", 1, "yaml_bad_bool", "'maybe' is not true or false"),
        ("a: !!int x\n", 1, "yaml_bad_int", "'x' is not an integer"),
        ("a: !!float x\n", 1, "yaml_bad_float", "'x' is not a number"),
        ("days: 3\nfirst: 2027-13-45\n", 2, "yaml_bad_date", "'2027-13-45' is not a valid"),
        ("a: " + "9" * 5000 + "\n", 1, "number_too_long", "a number too long to read"),
    ],
)
def test_a_typed_value_that_cannot_be_read_is_named_at_its_line(text, line, code, words):
    """``!!timestamp x`` and ``!!bool maybe`` crashed inside PyYAML; ``!!int x`` and a date
    past December were reported as a number too long to read."""
    with pytest.raises(InputError) as got:
        load_text(text, "typed.yaml")
    (problem,) = got.value.problems
    assert (problem.line, problem.code) == (line, code)
    assert words in str(problem)


def test_alias_bomb_on_the_command_line_exits_2_without_a_traceback(tmp_path):
    # run apart: without the fix the bomb expands to gigabytes (the timeout fails the test)
    path = write(tmp_path, bomb_text(), "bomb.yaml")
    out = run_cli("compare", SEASON, "--variant", path, "--reps", "1", "--workers", "1")
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and LINE.match(lines[0]) and "aliases" in lines[0]
    upload = (
        "import sys; from sim.yamlio import InputError, load_text; "
        "from sim.variants import describe, parse_variant\n"
        "try: describe(parse_variant(load_text(open(sys.argv[1]).read(), 'up.yaml'), 'up.yaml'))\n"
        "except InputError as exc: print(exc)"
    )
    out = subprocess.run(
        [sys.executable, "-c", upload, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
        preexec_fn=_limit_memory,
    )
    assert out.returncode == 0 and "aliases" in out.stdout, out.stderr[-2000:]


def test_merge_keys_need_aliases_and_are_refused_too():
    with pytest.raises(InputError, match="aliases"):
        load_text("base: &b {x: 1}\nother:\n  <<: *b\n", "m.yaml")


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:  # sparse: 50 MB that cost no disk
        fh.truncate(50 * 1024 * 1024)
    code, lines, took = run_main(capsys, "validate", path)
    assert_clean(code, lines, "too large", f"{MAX_FILE_BYTES:,} bytes (MAX_FILE_BYTES)")
    assert took < 1.0


def test_oversized_text_is_refused_by_load_text_too():
    text = "people:\n" + "  - {id: p, role: expert}\n" * (MAX_FILE_BYTES // 20)
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="MAX_FILE_BYTES"):
        load_text(text, "upload.yaml")
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 400, 1200, 5000])
def test_deep_nesting_is_a_clean_error(no_engine, tmp_path, capsys, depth):
    nested = "[" * depth + "1" + "]" * depth
    variant = write(tmp_path, f"plan:\n  settings:\n    immediately_minutes: {nested}\n", "v.yaml")
    code, lines, _ = run_main(capsys, "validate", variant)
    assert_clean(code, lines, "(yaml)")
    code, lines, _ = run_main(capsys, "compare", SEASON, "--variant", variant, "--reps", "1")
    assert_clean(code, lines, "(yaml)")
    json_like = write(tmp_path, '{"a": ' + nested + "}", "deep.json")
    code, lines, _ = run_main(capsys, "validate", json_like)
    assert_clean(code, lines, "(yaml): nested more than 32 levels deep (MAX_DEPTH)")


def test_deeply_nested_sweep_values_are_a_clean_error(no_engine, capsys):
    nested = "[" * 1200 + "0.5" + "]" * 1200
    param = "roster.reachability.off_duty.answer_prob"
    code, lines, _ = run_main(capsys, "sweep", SEASON, "--param", param, "--values", nested)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith("drillsim: --values: cannot read") and "MAX_DEPTH" in lines[0]


def test_deep_json_incident_to_grade_is_a_clean_error(capsys):
    code, lines, _ = run_main(capsys, "grade", "[" * 5000 + "]" * 5000)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("drillsim: incident: ")


def test_the_shipped_files_nest_within_the_limit():
    for path in sorted(SCEN.rglob("*.yaml")):
        load_file(path)  # raises if any is too large or too deep


# -- numbers: finite first, then in range --------------------------------------------------------


NAN_SCENARIO = {
    "discovery_delay": ("discovered_after_minutes: 20", "discovered_after_minutes: .nan"),
    "incident_time": ('at: "D0 11:45"', "at: .nan"),
    "timing": ("grading_wrong_prob: 0.05", "grading_wrong_prob: .nan"),
    "timing_duration": ("grading_late_prob: 0.1", "grading_late_prob: 0.1\n  ring_minutes: .nan"),
    "duration_inf": ("grading_late_prob: 0.1", "grading_late_prob: 0.1\n  ring_minutes: .inf"),
    "travel": ("low: 20, mode: 35, high: 70", "low: 20, mode: 35, high: .inf"),
    "rooms_huge": ("rooms: 30", "rooms: 1000000000000000000000"),
}


@pytest.mark.parametrize("case", sorted(NAN_SCENARIO))
def test_nan_and_inf_are_refused_in_scenarios(tmp_path, capsys, case):
    old, new = NAN_SCENARIO[case]
    assert old in DRILL
    code, lines, _ = run_main(capsys, "validate", write(tmp_path, DRILL.replace(old, new, 1)))
    assert_clean(code, lines)
    assert not any(x.endswith(": ok") for x in lines)


def test_a_nan_discovery_delay_no_longer_meets_the_first_report_in_no_time(
    no_engine, tmp_path, capsys
):
    path = write(
        tmp_path, DRILL.replace("discovered_after_minutes: 20", "discovered_after_minutes: .nan")
    )
    code, lines, _ = run_main(capsys, "run", path, "--reps", "2", "--workers", "1", "--json")
    assert_clean(code, lines, "incidents[0].discovered_after_minutes: expected a finite number")
    assert "NaN" not in capsys.readouterr().out


def test_nan_answer_probability_in_a_roster_is_refused(tmp_path, capsys):
    text = (SCEN / "roster_default.yaml").read_text(encoding="utf-8")
    old, new = "on_duty: {answer_prob: 0.97", "on_duty: {answer_prob: .nan"
    path = write(tmp_path, text.replace(old, new), "roster.yaml")
    code, lines, _ = run_main(capsys, "validate", path)
    assert_clean(code, lines, "roster.reachability.on_duty.answer_prob: expected a finite number")


@pytest.mark.parametrize(
    "old,new",
    [
        ("rate: 0.04", "rate: .nan"),
        ("scopes: {room: 0.8, rooms: 0.2}", "scopes: {room: .nan, rooms: 0.2}"),
        ("scopes: {room: 0.8, rooms: 0.2}", "scopes: {room: .inf, rooms: 0.2}"),
        (
            "people: {dist: lognormal, mean: 60, sd: 80}",
            "people: {dist: lognormal, mean: 60, sd: .nan}",
        ),
    ],
)
def test_nan_and_inf_are_refused_in_stochastic_rates(tmp_path, capsys, old, new):
    text = (SCEN / "season_2027.yaml").read_text(encoding="utf-8")
    assert old in text
    code, lines, _ = run_main(capsys, "validate", write(tmp_path, text.replace(old, new, 1)))
    assert_clean(code, lines, "stochastic.answer_sheet_loss")


def plan_raw() -> dict:
    return copy.deepcopy(dict(load_plan().raw))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e12])
def test_plan_clocks_and_settings_must_be_finite_and_bounded(value):
    raw = plan_raw()
    raw["settings"]["immediately_minutes"]["value"] = value
    raw["rules"]["first_report_3h"]["allowed_minutes"] = value
    with pytest.raises(InputError) as err:
        parse_plan(raw, "copy.yaml")
    fields = {p.field for p in err.value.problems}
    assert {"settings.immediately_minutes.value", "rules.first_report_3h.allowed_minutes"} <= fields


@pytest.mark.parametrize(
    "body,field",
    [
        ("plan:\n  rules:\n    first_report_3h: .nan\n", "plan.rules.first_report_3h"),
        (
            "plan:\n  settings:\n    immediately_minutes: .inf\n",
            "plan.settings.immediately_minutes",
        ),
        (
            "plan:\n  settings:\n    immediately_minutes: .nan\n",
            "plan.settings.immediately_minutes",
        ),
        ("timing:\n  discovery_minutes: .nan\n", "timing.discovery_minutes"),
        ("timing:\n  grading_wrong_prob: .nan\n", "timing.grading_wrong_prob"),
        ("roster:\n  reachability:\n    off_duty: {answer_prob: .nan}\n", "answer_prob"),
        ("sites:\n  site_c: {travel_scale: .nan}\n", "sites.site_c.travel_scale"),
    ],
)
def test_nan_and_inf_are_refused_in_variants(no_engine, tmp_path, capsys, body, field):
    path = write(tmp_path, "name: v\n" + body, "v.yaml")
    code, lines, _ = run_main(capsys, "validate", path)
    assert_clean(code, lines, field)
    code, lines, _ = run_main(capsys, "compare", SEASON, "--variant", path, "--reps", "1")
    assert_clean(code, lines, field)


@pytest.mark.parametrize(
    "clock", ["first_report_3h=nan", "first_report_3h=inf", "first_report_3h=1e12"]
)
def test_nan_clock_flag_is_refused(no_engine, capsys, clock):
    code = main(["compare", SEASON, "--clock", clock, "--reps", "1"])
    assert code == 2
    assert "first_report_3h" in capsys.readouterr().err


# -- times inside the exam calendar ------------------------------------------------------------


@pytest.mark.parametrize(
    "at", ['"D9 09:00"', '"D2 00:00"', '"D-400 09:00"', '"D-1 23:00"', "99999999"]
)
def test_incident_times_fall_inside_the_exam_calendar(tmp_path, capsys, at):
    path = write(tmp_path, DRILL.replace('at: "D0 11:45"', f"at: {at}"))
    code, lines, _ = run_main(capsys, "validate", path)
    assert_clean(code, lines, "incidents[0].at: ", "outside the exam calendar", "calendar.days: 2")


def test_a_day_number_of_thousands_of_digits_is_a_clean_error(tmp_path, capsys):
    path = write(tmp_path, DRILL.replace('at: "D0 11:45"', f'at: "D{"9" * 5000} 11:45"'))
    code, lines, _ = run_main(capsys, "validate", path)
    assert_clean(code, lines, "incidents[0].at: expected a time")


def test_contact_changes_lie_within_a_year_of_day_0(tmp_path, capsys):
    text = (SCEN / "roster_default.yaml").read_text(encoding="utf-8")
    old = 'phone: "555-0105", default_state: on_call}'
    assert old in text
    new = old[:-1] + ', contact_change: {notified: "D-400 09:00", effective: "D-390 09:00"}}'
    code, lines, _ = run_main(capsys, "validate", write(tmp_path, text.replace(old, new), "r.yaml"))
    assert_clean(code, lines, "contact_change.notified", "TIME_SPAN_DAYS")


# -- durations have an upper bound -----------------------------------------------------------


@pytest.mark.parametrize(
    "timing",
    [
        "response_minutes: 1.0e+9",
        "response_minutes: 1000000000",
        "response_minutes: {dist: exponential, mean: .inf}",
        "response_minutes: {dist: exponential, mean: 1.0e+9}",
        "response_minutes: {dist: lognormal, mean: 60, sd: 1.0e+300}",
        "response_minutes: {dist: uniform, low: 0, high: 20000}",
        "response_minutes: {dist: lognormal, mean: 1.0e-300, sd: 10000}",  # overflowed in a run
    ],
)
def test_durations_have_a_documented_upper_bound(tmp_path, capsys, timing):
    path = write(tmp_path, DRILL.replace("timing:\n", f"timing:\n  {timing}\n"))
    code, lines, took = run_main(capsys, "validate", path)
    assert_clean(code, lines, "timing.response_minutes")
    bounds = ("MAX_DURATION_MIN", "finite", "LOGNORMAL_MAX_CV")
    assert any(b in x for x in lines for b in bounds), lines
    assert took < 2.0


def test_text_that_looks_like_a_number_gets_a_hint(tmp_path, capsys):
    # YAML 1.1 reads 1e9 (no dot, no sign) as text
    path = write(tmp_path, DRILL.replace("timing:\n", "timing:\n  response_minutes: 1e9\n"))
    code, lines, _ = run_main(capsys, "validate", path)
    assert_clean(code, lines, "YAML reads '1e9' as text: write 1000000000")


def test_variant_durations_are_bounded_too(no_engine, tmp_path, capsys):
    path = write(tmp_path, "name: v\ntiming:\n  response_minutes: 1.0e+9\n", "v.yaml")
    code, lines, _ = run_main(capsys, "compare", SEASON, "--variant", path, "--reps", "1")
    assert_clean(code, lines, "timing.response_minutes", "MAX_DURATION_MIN")
    path = write(tmp_path, "name: v\nsites:\n  site_c: {travel_scale: 100}\n", "v.yaml")
    code, lines, _ = run_main(capsys, "compare", SEASON, "--variant", path, "--reps", "1")
    assert_clean(code, lines, "sites.site_c", "MAX_DURATION_MIN")


# -- flags have caps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv,expected",
    [
        (
            ["run", SEASON, "--reps", str(10**12)],
            "--reps: 1,000,000,000,000 is above the cap of 100,000 (MAX_REPS)",
        ),
        (["compare", SEASON, "--clock", "first_report_3h=120", "--reps", str(10**12)], "MAX_REPS"),
        (
            ["run", SEASON, "--workers", "1000"],
            "--workers: 1,000 is above the cap of 64 (MAX_WORKERS)",
        ),
        (["compare", SEASON, "--clock", "first_report_3h=120", "--workers", "1000"], "MAX_WORKERS"),
        (["run", SEASON, "--seed", "-1"], "--seed: must be at least 0"),
        (
            ["run", SEASON, "--seed", str(10**30)],
            "--seed: 1,000,000,000,000,000,000,000,000,000,000 is above",
        ),
        (
            ["sweep", SEASON, "--param", "plan.rules.first_report_3h", "--range", "0:nan:1"],
            "finite",
        ),
        (
            [
                "sweep",
                SEASON,
                "--param",
                "plan.rules.first_report_3h",
                "--values",
                *map(str, range(201)),
            ],
            "MAX_SWEEP_POINTS",
        ),
        (
            [
                "compare",
                SEASON,
                "--clock",
                "first_report_3h=120",
                "--half-width",
                "0.01",
                "--max-reps",
                str(10**9),
            ],
            "--max-reps",
        ),
        (
            [
                "compare",
                SEASON,
                "--clock",
                "first_report_3h=120",
                "--half-width",
                "0.01",
                "--pilot-reps",
                str(10**9),
            ],
            "--pilot-reps",
        ),
        (
            [
                "size",
                SEASON,
                "--axis",
                "duty_desk=50",
                "--axis",
                "expert=50",
                "--axis",
                "team_it=50",
                "--target",
                "first_report_3h=0.9",
            ],
            "MAX_GRID_CELLS",
        ),
        (["bench-planner", "--reps", str(10**12)], "MAX_REPS"),
    ],
)
def test_flags_have_caps_named_in_the_message(capsys, no_engine, argv, expected):
    code, lines, took = run_main(capsys, *argv)
    assert code == 2
    assert len(lines) == 1 and expected in lines[0], lines
    assert took < 2.0


def test_huge_reps_and_sweeps_exit_at_once_on_the_command_line():
    # without caps these grow memory by ~100 MB/s or never end: the timeout fails the test
    for argv in (
        ["run", SEASON, "--reps", str(10**12), "--workers", "1"],
        ["sweep", SEASON, "--param", "plan.rules.first_report_3h", "--range", "0:1e9:1e-9"],
    ):
        out = run_cli(*argv, timeout=30)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]


def test_the_api_refuses_reps_above_the_cap(no_engine):
    scenario = load_scenario(SCEN / "drill_leak.yaml")
    with pytest.raises(ValueError, match="MAX_REPS"):
        run_replications(scenario, MAX_REPS + 1, 1)
    with pytest.raises(ValueError, match="MAX_REPS"):
        compare(scenario, [], MAX_REPS + 1, 1)


def test_chunks_are_made_as_they_are_needed():
    from sim.runner import chunk_bounds

    bounds = chunk_bounds(10**6, 50)
    assert not isinstance(bounds, list)
    assert next(iter(bounds)) == (0, 50)


# -- the plan holds every setting the engine reads -------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENGINE_SETTINGS))
def test_a_plan_missing_a_setting_the_engine_reads_is_refused(name):
    raw = plan_raw()
    del raw["settings"][name]
    with pytest.raises(InputError) as err:
        parse_plan(raw, "copy.yaml")
    assert f"settings.{name}" in [p.field for p in err.value.problems]


def test_every_setting_the_code_reads_by_name_is_required_or_defaulted():
    read = set()
    for path in [*(ROOT / "sim").glob("*.py"), *(ROOT / "ui").glob("*.py"), ROOT / "app.py"]:
        read |= set(re.findall(r"\.setting\(\"(\w+)\"\)", path.read_text(encoding="utf-8")))
    assert read and read <= set(ENGINE_SETTINGS) | set(GRADER_SETTINGS), read - set(ENGINE_SETTINGS)


def test_the_omission_is_reported_at_the_settings_line(tmp_path, capsys):
    lines = PLAN_TEXT.splitlines(keepends=True)
    start = next(i for i, x in enumerate(lines) if x.startswith("  grading_due_minutes:"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    "))
    text = "".join(lines[:start] + lines[end:])
    path = write(tmp_path, text, "plan_copy.yaml")
    code, out, _ = run_main(capsys, "validate", path)
    settings_line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith("settings:"))
    assert_clean(
        code, out, f"{path}:{settings_line}: settings.grading_due_minutes: required setting"
    )


@pytest.mark.parametrize(
    "name,value",
    [
        ("grading_due_minutes", "sixty"),
        ("grade_is_floor", "yes"),
        ("site_roles", ["chief_examiner", "dean"]),
        ("first_report_addressees", "some"),
    ],
)
def test_settings_the_engine_reads_are_typed_at_load(name, value):
    raw = plan_raw()
    raw["settings"][name]["value"] = value
    raw["settings"][name].pop("choices", None)
    with pytest.raises(InputError) as err:
        parse_plan(raw, "copy.yaml")
    assert f"settings.{name}.value" in {p.field for p in err.value.problems}


def test_a_step_duration_must_be_a_timing_key(tmp_path, capsys):
    # an unknown key used to last 0 minutes: a first report "met" an hour early
    old = "duration: written_report_minutes"
    assert PLAN_TEXT.count(old) == 1
    path = write(tmp_path, PLAN_TEXT.replace(old, "duration: writen_report_minutes"), "p.yaml")
    code, lines, _ = run_main(capsys, "validate", path)
    assert_clean(code, lines, "procedure.written_report.duration: 'writen_report_minutes' is not")


# -- grading thresholds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "people,field",
    [
        ({"min": "ten"}, "min"),
        ({"min": 100, "max": 10}, "max"),
        ({"min": float("nan")}, "min"),
        ({"min": 10, "max": float("inf")}, "max"),
        ({"min": -5}, "min"),
        ({"min": True}, "min"),
    ],
)
def test_grading_thresholds_are_numbers_with_min_below_max(people, field):
    raw = plan_raw()
    raw["grading"]["answer_sheet_loss"]["rules"][0]["when"]["people"] = people
    with pytest.raises(InputError) as err:
        parse_plan(raw, "copy.yaml")
    assert f"grading.answer_sheet_loss.rules[0].when.people.{field}" in {
        p.field for p in err.value.problems
    }


# -- rosters --------------------------------------------------------------------------------


ROSTER = (SCEN / "roster_default.yaml").read_text(encoding="utf-8")


def test_a_roster_file_with_unknown_keys_is_refused(tmp_path, capsys):
    path = write(tmp_path, ROSTER + "colour: red\n", "roster.yaml")
    code, lines, _ = run_main(capsys, "validate", path)
    assert_clean(code, lines, "colour: unknown key")
    # and when a scenario names it
    write(tmp_path, ROSTER + "colour: red\n", "roster_default.yaml")
    code, lines, _ = run_main(capsys, "validate", write(tmp_path, DRILL, "drill.yaml"))
    assert_clean(code, lines, "roster_default.yaml", "colour: unknown key")


@pytest.mark.parametrize(
    "old,new,field",
    [
        ('phone: "555-0101"', "phone: [555, 101]", "phone: expected text"),
        (
            "roles: [office_director, emergency_contact",
            "roles: [office_director, 7, emergency_contact",
            "roles[1]",
        ),
        ('days: all, from: "07:00"', 'days: [0, 100000], from: "07:00"', "MAX_DAYS"),
    ],
)
def test_roster_type_errors_are_raised_at_load(tmp_path, capsys, old, new, field):
    assert old in ROSTER
    path = write(tmp_path, ROSTER.replace(old, new, 1), "roster.yaml")
    code, lines, _ = run_main(capsys, "validate", path)
    assert_clean(code, lines, field)


# -- validate knows its files ----------------------------------------------------------------


def test_readme_validate_command_exits_0():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(x for x in readme.splitlines() if x.startswith("uv run drillsim validate"))
    command = command.split("#")[0].strip()
    assert "variants" in command and "scenarios/*.yaml" in command
    if shutil.which("uv") is None:  # the same command, without uv's set-up
        command = command.replace("uv run drillsim", shlex.quote(sys.executable) + " -m sim", 1)
    out = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    stdout = out.stdout
    assert "evaluation_scales.yaml: ok (evaluation scales" in stdout
    assert "night_duty_officer.yaml: ok (variant" in stdout
    assert "plan.yaml: ok (plan)" in stdout
    assert "roster_default.yaml: ok (roster" in stdout
    assert "season_2027.yaml: ok (season" in stdout


def test_every_shipped_file_validates_as_its_kind(capsys):
    files = sorted(SCEN.glob("*.yaml")) + sorted(SCEN.glob("*/*.yaml"))
    code = main(["validate", *map(str, files)])
    out, err = capsys.readouterr()
    assert code == 0 and not err, err
    assert len([x for x in out.splitlines() if ": ok (" in x]) == len(files)


def test_a_broken_variant_is_reported_as_a_variant(tmp_path, capsys):
    path = write(tmp_path, "name: v\nroster:\n  add:\n    - {id: x, role: dean}\n", "v.yaml")
    code, lines, _ = run_main(capsys, "validate", path)
    assert_clean(code, lines, "roster.add[0].role")
    assert not any("calendar" in x for x in lines)


def test_variant_plan_changes_are_checked_by_validate(tmp_path, capsys):
    path = write(tmp_path, "name: v\nplan:\n  settings:\n    no_such_setting: 3\n", "v.yaml")
    code, lines, _ = run_main(capsys, "validate", path)
    assert_clean(code, lines, "plan.settings.no_such_setting: unknown setting")


@pytest.mark.parametrize(
    "edit,expected",
    [
        (("default: hseep", "default: nope"), "default: 'nope' is not one of the scales"),
        (("- code: S", "- code: P"), "duplicate code 'P'"),
        (("  - id: grading", "  - id: reporting"), "duplicate objective id"),
        (("pass: true", "pass: maybe"), "pass: expected true/false"),
        (("scales:", "colour: red\nscales:"), "colour: unknown key"),
    ],
)
def test_evaluation_scales_are_checked_with_their_own_schema(tmp_path, capsys, edit, expected):
    text = (SCEN / "evaluation_scales.yaml").read_text(encoding="utf-8")
    assert edit[0] in text
    path = write(tmp_path, text.replace(edit[0], edit[1], 1), "scales.yaml")
    code, lines, _ = run_main(capsys, "validate", path)
    assert_clean(code, lines, expected)
    assert not any("roster" in x for x in lines)


def test_validate_names_each_kind(capsys):
    code = main(
        [
            "validate",
            str(SCEN / "evaluation_scales.yaml"),
            str(SCEN / "variants" / "first_report_2h.yaml"),
            str(SCEN / "timelines" / "example_answer_sheet_loss.yaml"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "ok (evaluation scales, 2 scales, 7 objectives)" in out
    assert "ok (variant, 1 changes)" in out
    assert "ok (timeline, 1 incidents" in out


def test_shipped_variants_still_load():
    for path in sorted((SCEN / "variants").glob("*.yaml")):
        assert load_variant(path).name == path.stem
