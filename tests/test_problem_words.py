"""The input checker's problems in the reader's language: every problem is a code with parameters
(``Problem.code``, ``Problem.params``); its words come from the catalogue (``problem_<code>`` in
sim/strings/problems.yaml), the English for the CLI (unchanged), the Chinese for the pages."""

from __future__ import annotations

import ast
import dataclasses
import re
import string
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sim.grading import check_incident
from sim.i18n import LANGS, catalogue
from sim.judge import parse_timeline
from sim.labels import problem_lines, problem_text
from sim.plan import load_plan, parse_plan
from sim.scenario import load_scenario, parse_scenario, roster_warnings
from sim.variants import (
    apply,
    calendar_frame,
    chains_frame,
    parse_variant,
    people_frame,
    reach_frame,
    variant_from_tables,
)
from sim.yamlio import (
    MAX_FILE_BYTES,
    PROBLEM_PREFIX,
    AnyOf,
    InputError,
    Msg,
    Problem,
    Reader,
    load_text,
    problem_words,
    read_text,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
PLAN = load_plan()
SEASON = load_scenario(SCENARIOS / "season_2027.yaml")
PAGE = str(ROOT / "ui" / "planner.py")


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


# -- the catalogue -------------------------------------------------------------------------------


def test_every_problem_key_has_zh_and_en_with_the_same_placeholders():
    keys = [k for k in catalogue() if k.startswith(PROBLEM_PREFIX)]
    assert len(keys) > 150
    bad = []
    for key in keys:
        entry = catalogue()[key]
        if not all(str(entry.get(lang) or "").strip() for lang in LANGS):
            bad.append(f"{key}: zh or en missing")
            continue
        if _fields(entry["zh"]) != _fields(entry["en"]):
            bad.append(f"{key}: {_fields(entry['zh'])} vs {_fields(entry['en'])}")
        for lang in LANGS:  # one line, and formats (a literal brace is doubled)
            assert "\n" not in entry[lang], key
            entry[lang].format(**dict.fromkeys(_fields(entry[lang]), "x"))
    assert not bad, "\n".join(bad)


def _code_args(tree: ast.AST) -> list[tuple[int, ast.expr]]:
    """The code argument of every call that makes a problem: ``Reader.add(node, key, field,
    code)``, a table's ``add(row, column, code)``, ``Where.problem(code)``, ``Problem(file,
    line, field, code)``, ``msg(code)``."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        fn = node.func
        name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
        index = {"Problem": 3, "problem": 0, "msg": 0, "Msg": 0}.get(name)
        if name == "add" and len(node.args) >= 3:
            index = 3 if len(node.args) >= 4 else 2
        if index is not None and len(node.args) > index:
            out.append((node.lineno, node.args[index]))
    return out


def test_every_problem_the_engine_makes_gives_a_catalogue_code():
    """No problem is made from an English sentence: each call names a code of the catalogue (or
    passes one on as a variable: a Msg, or a code the callee checks)."""
    bad = []
    for path in sorted((ROOT / "sim").glob("*.py")):
        for line, arg in _code_args(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.name}:{line}"
            if isinstance(arg, ast.JoinedStr | ast.BinOp):
                bad.append(f"{where}: a message built as text")
            elif (
                isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and PROBLEM_PREFIX + arg.value not in catalogue()
            ):
                bad.append(f"{where}: {arg.value!r} is not a problem code")
    assert not bad, "\n".join(bad)


def test_a_problem_without_a_code_is_refused():
    r = Reader("f.yaml")
    with pytest.raises(ValueError, match="problem_"):
        r.add({}, None, "x", "required field is missing")
    with pytest.raises(ValueError):
        Problem("f.yaml", 1, "x", "the file is empty")
    p = Problem("f.yaml", 1, "(file)", "empty_file")
    assert (p.code, p.params, p.message) == ("empty_file", (), "the file is empty")


def test_problems_stay_hashable_and_are_deduplicated():
    r = Reader("f.yaml")
    for _ in range(2):
        r.take({"n": "1e9"}, "n", "", float)
        r.take({"n": [1]}, "n", "", (int, float))
    assert len(InputError(r.problems).problems) == 2
    p = InputError(r.problems).problems[0]
    assert isinstance(p.params, tuple) and len({p, *InputError(r.problems).problems}) == 2
    assert dict(p.params)["types"] == AnyOf((Msg("type_number"),))


# -- broken inputs: the Chinese is Chinese ------------------------------------------------------

SCENARIO = (SCENARIOS / "drill_leak.yaml").read_text(encoding="utf-8")
ROSTER = (SCENARIOS / "roster_default.yaml").read_text(encoding="utf-8")
PLAN_TEXT = (SCENARIOS / "plan.yaml").read_text(encoding="utf-8")
TIMELINE = (SCENARIOS / "timelines" / "example_answer_sheet_loss.yaml").read_text(encoding="utf-8")


def _scenario(text: str) -> None:
    name = str(SCENARIOS / "broken_scenario.yaml")  # names roster_default.yaml beside it
    parse_scenario(load_text(text, name), name, plan=PLAN, text=text)


def _roster(text: str) -> None:
    """A roster file's ``roster:`` block, inline in a scenario."""
    body = text.split("\nroster:\n", 1)[1].split("\n\n", 1)[0]
    _scenario(SCENARIO.replace("roster: roster_default.yaml", "roster:\n" + body))


def _variant(text: str) -> None:
    v = parse_variant(load_text(text, "variant.yaml"), "variant.yaml")
    apply(SEASON, v)


def _plan(text: str) -> None:
    parse_plan(load_text(text, "plan.yaml"), "plan.yaml")


def _timeline(text: str) -> None:
    parse_timeline(load_text(text, "timeline.yaml"), "timeline.yaml", PLAN)


def _scales(text: str) -> None:
    from sim.cli import check_evaluation_scales

    check_evaluation_scales(load_text(text, "scales.yaml"), "scales.yaml")


def _raw(data: bytes) -> None:
    """An uploaded file's bytes, read as a file is."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.yaml"
        path.write_bytes(data)
        try:
            load_text(read_text(path), "upload.yaml")
        except InputError as exc:  # name the upload, not the temporary folder
            problems = [dataclasses.replace(p, file="upload.yaml") for p in exc.problems]
            raise InputError(problems) from None


def _tables(edits: dict) -> None:
    frames = {  # as the page's editors give them back: cells as typed
        "people": people_frame(SEASON.roster).astype(object),
        "calendar": calendar_frame(SEASON.roster).astype(object),
        "chains": chains_frame(SEASON.roster).astype(object),
        "reach": reach_frame(SEASON.roster).astype(object),
    }
    for table, rows in edits.items():
        for i, row in rows.items():
            for col, value in row.items():
                if i >= len(frames[table]):
                    frames[table].loc[i] = [""] * len(frames[table].columns)
                frames[table].loc[i, col] = value
    variant_from_tables(SEASON, "edited", **frames)


#: Realistic mistakes: (what, loader, text), each giving at least one problem.
BROKEN = [
    ("yaml syntax", _scenario, SCENARIO.replace("days: 2", "days: 2: 3")),
    ("yaml tab", _variant, "name: x\nroster:\n\tremove: [leader]\n"),
    ("yaml unclosed", _variant, "roster: {remove: [leader\n"),
    ("yaml brace", _variant, "roster: {remove: [leader]\n"),
    ("yaml duplicate", _variant, "name: a\nname: b\n"),
    ("yaml alias", _variant, "name: &n a\nlabel_zh: *n\n"),
    ("yaml tag", _variant, "name: !!python/name:os.system x\n"),
    ("yaml empty", _variant, "   \n"),
    ("yaml control", _variant, "name: a\x01\n"),
    ("yaml deep", _variant, "name: " + "[" * 40 + "]" * 40 + "\n"),
    *[
        ("yaml " + text, _variant, text)
        for text in (
            "roster:\n  - x\n  y: 1\n",
            "name: 'x\n",
            "name: 1\n---\nname: 2\n",
            "%YAML 1.1\n%YAML 1.1\n---\nname: x\n",
            'name: "\\q"\n',
            "name: x\n  label_zh: y\n",
            "- [\n",
            "!x!y 1\n",
            "name: *\n",
            'name: x\n"label_zh" y\n',
            "name: 1\n...\nlabel_zh: 2\n",
            "? [1]\n: 2\n",
            "roster:\n  remove: [a]\n remove: [b]\n",
        )
    ],
    (
        "scenario",
        _scenario,
        SCENARIO.replace("days: 2", "days: two")
        .replace("rooms: 30", "rooms: 0")
        .replace("candidates: 900", "candidates: 1e9")
        .replace('start: "09:00"', 'start: "9h"')
        .replace('at: "D0 07:10"', 'at: "D5 07:10"')
        .replace("site: site_c\n", "site: site_x\n")
        .replace("scope: wider", "scope: everywhere")
        .replace("discovered_after_minutes: 25", "discovered_after_minutes: 99999")
        .replace("kind: drill", "kind: drill\nrosters: x"),
    ),
    (
        "scenario dists",
        _scenario,
        SCENARIO.replace("low: 20, mode: 35, high: 70", "low: 50, mode: 35, high: 70")
        .replace("{dist: triangular, low: 40, mode: 60, high: 120}", "{dist: normal, mean: 5}")
        .replace(
            "{dist: triangular, low: 90, mode: 150, high: 240}",
            "{dist: lognormal, mean: 1, sd: 50}",
        )
        .replace("grading_wrong_prob: 0.05", "grading_wrong_prob: 5\n  nonsense_minutes: 3")
        + "  bodies: {ministry: [1], nobody: 3}\n  written_report_minutes: a while\n",
    ),
    (
        "scenario incidents",
        _scenario,
        SCENARIO.replace("id: paper_leak", "id: paper_leak\n    spares_enough: true")
        .replace("family: leak", "family: score_error")
        .replace('at: "D0 07:10"', "at: soon")
        + "stochastic:\n  leak: {rate: -1, scopes: {room: 0, moon: 1}, window: week}\n"
        "  disaster: {rate: 1, scopes: {room: 0}}\n",
    ),
    ("scenario nothing", _scenario, "name: x\nkind: drill\ncalendar: [1]\nincidents: {}\n"),
    (
        "scenario calendar",
        _scenario,
        SCENARIO.replace("id: site_b", "id: site_a")
        .replace(
            '    - {day: 0, start: "15:00", end: "17:00"',
            '    - {day: 0, start: "17:00", end: "15:00"',
        )
        .replace(
            "travel_minutes: {dist: triangular, low: 20, mode: 35, high: 70}",
            "travel_minutes: soon",
        )
        .replace(
            "{dist: triangular, low: 40, mode: 60, high: 120}", "{dist: uniform, low: 9, high: 1}"
        )
        .replace(
            "{dist: triangular, low: 90, mode: 150, high: 240}", "{dist: lognormal, mean: 0, sd: 1}"
        )
        .replace("timing:\n", "timing:\n  include: [calibrated.yaml]\n")
        .replace(
            "discovered_after_minutes: 25",
            "discovered_after_minutes: 25\n    people: 10000000000000000000000",
        )
        .replace(
            '  calendar.sites: "assumption',
            "  timing.x: [1]\n  calendar.days: ''\n  calendar.x: \"assumption",
        )
        .replace("  days: 2\n", "  days: 2.5\n")
        .replace('  first_day: "2027-06-07"\n', "  first_day: [2027]\n"),
    ),
    (
        "scenario facts",
        _scenario,
        SCENARIO.replace(
            "    scope: wider\n",
            "    scope: wider\n    spares_enough: maybe\n"
            "    people: 1000000000\n    time_recoverable: true\n",
        ).replace('at: "D0 07:10"', 'at: "D-900 07:10"'),
    ),
    (
        "scenario season",
        _scenario,
        SCENARIO.replace("kind: drill", "kind: season")
        .split("incidents:")[0]
        .replace("  sessions:\n", "  sessions: []\n  old_sessions:\n")
        .replace("  sites:\n", "  sites: []\n  old_sites:\n")
        + "stochastic:\n  leak: {rate: 0.1, scopes: {room: -1, wider: 1}}\n"
        "  disaster: {rate: 0.1, people: {dist: fixed, value: 10000000}}\n",
    ),
    (
        "roster",
        _roster,
        ROSTER.replace("role: leader,", "role: boss,")
        .replace("id: deputy_vice_dean", "id: deputy_secretary")
        .replace('days: all, from: "07:00", to: "19:00"', 'days: [0, 99], from: "7", to: "19:00"')
        .replace('days: all, from: "19:00", to: "07:00"', 'days: today, from: "19:00", to: "7"')
        .replace("site: site_b", "site: site_z")
        .replace("answer_prob: 0.85", "answer_prob: 85")
        .replace("role:deputy_leader]", "role:deputies, nobody, 5]")
        .replace("team_exam_affairs: [team_exam_1, team_exam_2]", "boss: [leader]")
        .replace("roles: [office_director, emergency_contact, deputy_leader]", "roles: [chief]")
        .replace(
            "default_state: off_duty}",
            "default_state: off_duty, contact_change: {notified: yesterday, effective: D9999 09:00}}",
        ),
    ),
    (
        "roster loop",
        _roster,
        ROSTER.replace(
            "leader: [leader, role:deputy_leader]", "leader: [role:office_director]"
        ).replace(
            "office_director: [office_director, general_contact]", "office_director: [role:leader]"
        ),
    ),
    (
        "variant",
        _variant,
        "name: night\nlabel_zh: 夜班\nroster:\n  add:\n"
        "    - {id: n1, role: duty_desk, chain: middle, site: site_q,"
        " duty: [{days: [0], from: '19:00', to: '7am', state: awake}], reach: {on_duty: {}}}\n"
        "    - {id: leader, role: leader, chain: {boss: end, duty_desk: middle}}\n"
        "  remove: [ghost, 3]\n"
        "  change:\n    nobody: {phone: '1'}\n    leader: {}\n    duty_day: {site: site_q}\n"
        "  call_chains:\n    duty_desk: [n1, role:bosses, '']\n    bosses: [n1]\n"
        "sites:\n  site_a: {travel_scale: 2, travel_minutes: 5}\n"
        "plan:\n  settings: {promptly_minutes: -3, special_plan_families: {a: 1},"
        " immediately_minutes: 1e999}\n"
        "  rules: {first_report_3h: forever, last_call: 5}\n"
        "timing:\n  call_order: random\n  max_call_rounds: 0\n  bodies: {moon: 1}\n"
        "  written_report_minutes: {dist: uniform, low: 9, high: 1}\n"
        "stochastic:\n  leak: {rate: 1, rate_scale: 2}\n  comets: {rate: 1}\n",
    ),
    (
        "variant applied",
        _variant,
        "roster:\n  remove: [ghost]\n  change: {nobody: {phone: '1'}, duty_day: {site: site_q}}\n"
        "  add: [{id: leader, role: leader}, {id: n2, role: expert, site: site_q}]\n"
        "  call_chains: {duty_desk: [duty_day, n9]}\n"
        "sites:\n  site_q: {travel_scale: 2}\n  site_c: {travel_scale: 100}\n"
        "plan:\n  settings: {immediately_minutes: quick, nosuch: 1, phase_mismatch: sometimes}\n"
        "  procedure: {nosuchstep: {by: duty_desk}}\n"
        "stochastic:\n  online_info: {rate_scale: 2}\n",
    ),
    (
        "variant roles",
        _variant,
        "roster:\n  remove: [chief_a, chief_b, chief_c, expert_1]\n"
        "  call_chains: {leader: [role:deputy_leader], deputy_leader: [role:leader]}\n",
    ),
    (
        "plan",
        _plan,
        PLAN_TEXT.replace("roman: Ⅰ级}", "roman: [1]}")
        .replace("rank: 4,", "rank: 9,")
        .replace("  III: {rank: 3", "  V: {rank: 5, label_zh: x, label_en: x}\n  III: {rank: 3")
        .replace("  first_report_3h:\n", "  first_report_3h_typo:\n  first_report_3h:\n", 1)
        .replace("    value: 30\n", "    value: -30\n", 1)
        .replace("    value: discovery\n", "    value: noon\n", 1)
        .replace("    value: IV\n", "", 1)
        .replace("    value: [leader, deputy_leader, office_director]", "    value: [leader, boss]")
        .replace("  leader: {label_zh: 组长, label_en: Working-group leader}\n", "  boss: {}\n")
        .replace("  online_info: [team_it]", "  online_info: [team_it, team_magic]\n  comets: []")
        .replace("    allowed_minutes: 180", "    allowed_minutes: forever")
        .replace("    phases: [before_exam]\n", "    phases: [before_exam, tea_time]\n", 1)
        .replace("        when: {people: {min: 10000}}", "        when: {people: {min: many}}")
        .replace("        when: {people: {min: 1000}}", "        when: {people: {min: 9, max: 1}}")
        .replace("        when: {people: {min: 100}}", "        when: {people: 100}")
        .replace("      - grade: IV\n", "      - grade: $no_such_setting\n", 1)
        .replace(
            "      packing:\n",
            "      packing:\n        phases: []\n      crumpled: {}\n      packing_:\n",
            1,
        )
        .replace("    kind: event\n", "    kind: event\n    each: maybe\n", 1)
        .replace("  - id: control\n", "  - id: Control-2\n  - id: control\n", 1)
        .replace("    duration: on_site_control_minutes", "    duration: on_site_control_minute")
        .replace("    after: [confirm]\n", "    after: [graded]\n    after_any: verbal_report\n", 1)
        .replace(
            "    to: [working_group, local_government, higher_authority]",
            "    to: [working_group, the_press]\n    deliver_after: nothing",
        )
        .replace(
            "    by: site\n    # the working group first",
            "    by: janitor\n    # the working group first",
        )
        + "  online_info_:\n    rules: {}\n",
    ),
    (
        "plan procedure",
        _plan,
        PLAN_TEXT.replace(
            "  - id: discovered\n",
            "  - id: control\n    grades: II\n    duration: later\n  - id: discovered\n",
            1,
        )
        .replace("    after: [discovered]\n", "    after: [ghost_step]\n", 1)
        .replace(
            "    duration: discovery_minutes\n",
            "    duration: discovery_minutes\n"
            "    families: [leak, comets]\n    clocks: [no_clock]\n    content: [gossip]\n",
            1,
        )
        .replace("  - id: graded\n", "  - id: graded_\n", 1),
    ),
    (
        "plan empty grading",
        _plan,
        PLAN_TEXT.split("\ngrading:")[0] + "\ngrading:\n  leak: {rules: []}\n",
    ),
    (
        "timeline",
        _timeline,
        TIMELINE.replace("people: 130", "people: -5")
        .replace('discovered: "D0 12:05"', 'discovered: "D0 11:00"')
        .replace("step: control}", "step: controls}")
        .replace("incident: x1, step: contain", "incident: x2, step: contain")
        .replace("step: graded, grade: III", "step: graded, grade: V")
        .replace("to: [emergency_contact]", "to: [the_press], by: someone")
        .replace("content: [time,", "content: [weather, time,")
        .replace('at: "D1 11:00"', 'at: "D9999 11:00"')
        .replace('at: "D0 12:10"', 'at: "D0 11:00"'),
    ),
    ("timeline empty", _timeline, "incidents: []\ntimeline: {}\n"),
    ("upload binary", _raw, b"name: x\x00\n"),
    ("upload not utf-8", _raw, b"name: \xff\xfe\n"),
    ("upload too big", _raw, b"#" * (MAX_FILE_BYTES + 1)),
    ("long number", _variant, "name: " + "9" * 5000 + "\n"),
    (
        "scales",
        _scales,
        "default: grades\nscales:\n  hseep:\n    levels: []\n  five:\n    levels:\n"
        "      - {code: A, pass: yes}\n      - {code: A, pass: sometimes}\n"
        "objectives:\n  - {id: o1}\n  - {id: o1, label_zh: [x]}\n",
    ),
    ("scales none", _scales, "scales: {}\nobjectives: [1]\n"),
    (
        "timeline ids",
        _timeline,
        TIMELINE
        + '  - {at: "D0 13:00", incident: x1, step: control, grade: II, to: hq, content: all}\n'
        '  - {at: "D0 10:00", incident: x1, step: contain}\n'
        "  - {incident: x1, step: contain, at: never}\n",
    ),
    (
        "timeline twice",
        _timeline,
        TIMELINE.replace(
            "incidents:\n",
            "incidents:\n  - {id: x1, family: leak, scope: room, phase: during_exam,"
            ' occurred: "D0 09:00", colour: red}\n',
            1,
        ),
    ),
    (
        "tables",
        _tables,
        {
            "people": {2: {"role": "boss"}, 3: {"p_on_duty": "often"}, 4: {"site": "site_q"}},
            "calendar": {0: {"days": "weekdays", "from": "7 am"}, 1: {"state": "asleep"}},
            "chains": {0: {"chain": "leader, role:bosses, ghost"}},
            "reach": {0: {"answer_prob": "2"}},
        },
    ),
]


def _load(loader, data) -> InputError:
    with pytest.raises(InputError) as info:
        loader(data)
    return info.value


def _plain_values(params) -> list[str]:
    """Every parameter written as it stands (ids, numbers, typed text), nested ones too."""
    out = []
    for _, value in params:
        values = value if isinstance(value, tuple) and not isinstance(value, Msg) else (value,)
        for v in values:
            if isinstance(v, Msg):
                out += _plain_values(v.params)
            elif isinstance(v, tuple):
                out += _plain_values([("", x) for x in v])
            else:
                out.append(str(v))
    return out


#: English a Chinese message may hold besides values, ids and field names (snake_case, dotted,
#: CONSTANTS): formats, "id", the YAML values true/false/all, the time format, the names of a
#: file's keys (a distribution's parameters, rate, grade, the procedure's site and office).
ALLOWED_WORDS = {"YAML", "UTF", "JSON", "HH", "MM", "id", "true", "false", "all", "N"}
ALLOWED_WORDS |= {"dist", "min", "max", "low", "mode", "high", "mean", "sd"}
ALLOWED_WORDS |= {"triangular", "uniform", "lognormal", "rate", "grade", "site", "office", "role"}
_IDENT = re.compile(r"\b\w+(?:\.\w+)+\b|\b\w*_\w*\b|\b[A-Z][A-Z0-9_]+\b|'[^']*'|\bD-?\d+\b")
_ENGLISH = re.compile(r"[A-Za-z]{2,}")


def _english_words(problem: Problem, line: str) -> list[str]:
    prefix = problem.as_line("")
    assert line.startswith(prefix), (line, prefix)
    rest = line[len(prefix) :]
    for value in sorted(_plain_values(problem.params), key=len, reverse=True):
        if value:
            rest = rest.replace(value, " ")
    rest = _IDENT.sub(" ", rest)
    return [w for w in _ENGLISH.findall(rest) if w not in ALLOWED_WORDS]


def _broken_problems() -> list[Problem]:
    found = []
    for what, loader, data in BROKEN:
        exc = _load(loader, data)
        assert exc.problems, what
        found += exc.problems
    return found


def test_broken_inputs_read_in_chinese():
    problems = _broken_problems()
    codes = {p.code for p in problems}
    assert len(codes) >= 80, sorted(codes)
    bad = []
    for p in problems:
        zh = problem_text(p, "zh")
        assert "\n" not in zh
        assert re.search(r"[\u4e00-\u9fff]", zh[len(p.as_line("")) :]), zh
        assert p.code != "yaml_error", str(p)  # every realistic syntax error has its code
        words = _english_words(p, zh)
        if words:
            bad.append(f"{zh}  <- {words}")
    assert not bad, "\n".join(bad)


def test_the_lines_are_the_problems_in_order_and_english_is_the_cli_line():
    exc = _load(_variant, "name: [1]\nlabel_zh: {a: 1}\nzzz: 1\n")
    assert problem_lines(exc, "en") == [str(p) for p in exc.problems] == str(exc).splitlines()
    assert problem_lines(exc, "zh") == [
        "variant.yaml:1: name: 应为文本，实为列表",
        "variant.yaml:2: label_zh: 应为文本，实为映射（键: 值）",
        "variant.yaml:3: zzz: 未知的键（可用的键：label_en, label_zh, name, plan, roster, sites, "
        "stochastic, timing）",
    ]


def test_words_inside_words_follow_the_language():
    r = Reader("f.yaml")
    r.take({"n": "1e9"}, "n", "", (int, float))
    r.take({"n": 10**30}, "n", "", int, max_value=5, bound="PEOPLE_MAX")
    r.take({"n": 10**30}, "n", "", str)
    first, second, third = r.problems
    assert first.message == (
        "expected an integer or a number, got text '1e9' (YAML reads '1e9' as text: write 1000000000)"
    )
    assert problem_text(first, "zh") == (
        "f.yaml:1: n: 应为整数或数值，实为文本 '1e9'（YAML 把 '1e9' 读作文本：请写成 1000000000）"
    )
    assert second.message == "a number of about 31 digits is above the maximum 5 (PEOPLE_MAX)"
    assert second.words("zh") == "约 31 位的数 大于最大值 5（PEOPLE_MAX）"
    assert third.message == "expected text, got the integer a number of about 31 digits"
    assert third.words("zh") == "应为文本，实为约 31 位的整数"
    assert problem_words("warn_duty_gap", {"states": AnyOf(("on_duty", "on_call")), "minutes": 5,
                                          "first": "D0 09:00"}, "zh").startswith(
        "警告：考试期间共 5 分钟无人处于 on_duty 或 on_call 状态"
    )  # fmt: skip


# -- the English is today's ----------------------------------------------------------------------

#: (loader, input, the exact lines the checker printed before problems had codes).
ENGLISH = [
    (
        _variant,
        "name: [1]\ntiming: {written_report_minutes: {dist: triangular, low: 9, mode: 5, high: 1}}\n",
        [
            "variant.yaml:1: name: expected text, got a list",
            "variant.yaml:2: timing.written_report_minutes: triangular needs low ≤ mode ≤ high",
        ],
    ),
    (
        _variant,
        "timing: {grading_wrong_prob: '1e9', max_call_rounds: 100, written_report_minutes: 20000}\n",
        [
            "variant.yaml:1: timing.grading_wrong_prob: expected a number, got text '1e9' "
            "(YAML reads '1e9' as text: write 1000000000)",
            "variant.yaml:1: timing.max_call_rounds: 100 is above the maximum 20",
            "variant.yaml:1: timing.written_report_minutes: 20000 is above the maximum 10080 "
            "(a duration is at most a week, MAX_DURATION_MIN)",
        ],
    ),
    (
        _variant,
        "roster:\n  remove: [ghost]\nsites: {'*': {travel_scale: 100}}\n"
        "plan: {settings: {immediately_minutes: true}}\n",
        [
            "variant.yaml:2: roster.remove[0]: no person 'ghost' in the roster",
            "variant.yaml:3: sites.*: travel to site_b would take up to 12000 min, above the "
            "maximum 10080 (a duration is at most a week, MAX_DURATION_MIN)",
            "variant.yaml:3: sites.*: travel to site_c would take up to 24000 min, above the "
            "maximum 10080 (a duration is at most a week, MAX_DURATION_MIN)",
            "variant.yaml:4: plan.settings.immediately_minutes: expected a value like 30, got True",
        ],
    ),
    (_variant, "name: a: b\n", ["variant.yaml:1: (yaml): mapping values are not allowed in this context"]),
    (_variant, "name: &n a\nlabel_zh: *n\n", [
        "variant.yaml:2: (yaml): YAML aliases (*n) are not allowed: write the value out"
    ]),
    (_variant, "roster: {remove: [a}\n", ["variant.yaml:1: (yaml): did not find expected ',' or ']'"]),
    (_variant, "a: {b: 1\n", ["variant.yaml:2: (yaml): did not find expected ',' or '}'"]),
    (
        _timeline,
        TIMELINE.replace("people: 130", "people: -5").replace("step: control}", "step: controls}"),
        [
            "timeline.yaml:3: incidents[0].people: expected a whole number ≥ 0, got -5",
            "timeline.yaml:6: timeline[0].step: unknown step 'controls' (known: "
            + ", ".join(PLAN.steps)
            + ")",
        ],
    ),
    (
        _tables,
        {"people": {2: {"role": "boss"}}, "reach": {0: {"answer_prob": "2"}}},
        [
            "people:3: role: 'boss' is not one of leader, deputy_leader, office_director, duty_desk, "
            "general_contact, emergency_contact, chief_examiner, deputy_chief_examiner, "
            "site_exam_staff, team_exam_affairs, team_it, team_logistics, expert",
            "reachability:1: answer_prob: expected a probability between 0 and 1",
        ],
    ),
]  # fmt: skip


@pytest.mark.parametrize("loader, data, lines", ENGLISH)
def test_english_is_unchanged(loader, data, lines):
    assert str(_load(loader, data)).splitlines() == lines


def test_file_level_english_is_unchanged(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a" * (MAX_FILE_BYTES + 1))
    with pytest.raises(InputError) as info:
        read_text(big)
    assert str(info.value) == (
        f"{big}:1: (file): too large: input files hold at most 1,000,000 bytes (MAX_FILE_BYTES) "
        "(this one: 1,000,001 bytes)"
    )
    assert problem_lines(info.value, "zh") == [
        f"{big}:1: (file): 文件过大：输入文件最多 1,000,000 字节（MAX_FILE_BYTES）"
        "（此文件 1,000,001 字节）"
    ]
    with pytest.raises(InputError) as info:
        read_text(tmp_path / "none.yaml")
    assert (
        str(info.value)
        == f"{tmp_path / 'none.yaml'}:1: (file): cannot read: No such file or directory"
    )
    assert problem_lines(info.value, "zh")[0].endswith("无法读取：文件或文件夹不存在")


def test_roster_warnings_and_grading_words():
    import dataclasses

    people = tuple(
        p for p in SEASON.roster.people if "duty_desk" not in p.roles or p.id == "duty_day"
    )
    s = dataclasses.replace(SEASON, roster=dataclasses.replace(SEASON.roster, people=people))
    (gap,) = [w for w in roster_warnings(s) if w.field == "roster.duty_desk"]
    assert gap.message.startswith("warning: no one on_duty for ")
    assert problem_text(gap, "zh").startswith(
        f"{SEASON.source}:1: roster.duty_desk: 警告：考试期间共 "
    )
    assert check_incident({"family": "leak", "people": -1}, PLAN)[0] == (
        "people: expected a whole number ≥ 0, got -1"
    )


# -- the planner page ----------------------------------------------------------------------------


def test_planner_page_shows_problems_in_chinese():
    at = AppTest.from_file(PAGE, default_timeout=180)
    at.session_state["lang"] = "zh"
    at.session_state["plan_people_season_2027"] = {
        "edited_rows": {2: {"role": "boss"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("people:3: role: 'boss' 不是可选值之一：leader, deputy_leader" in e for e in errors)
    assert not any("is not one of" in e for e in errors), errors


def test_common_show_error_shows_an_input_error_in_chinese(monkeypatch):
    import streamlit as st

    from ui import common

    shown = []
    monkeypatch.setattr(st, "error", shown.append)
    monkeypatch.setattr(common, "lang", lambda: "zh")
    common.show_error(_load(_variant, "name: [1]\n"))
    (text,) = shown
    assert "variant.yaml:1: name: 应为文本，实为列表" in text and "expected" not in text
