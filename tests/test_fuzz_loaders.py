"""Generated inputs for the loaders (hypothesis): shipped scenario, plan, roster, timeline and
variant files with values replaced (NaN, inf, huge, negative, wrong types, deep nesting), keys
dropped or added and lines broken. Each example either loads (and then runs one replication to
finite times) or gives exit code 2 with ``file:line: field: message`` lines; never a traceback,
never more than a few seconds. Examples are derandomised (the same every run) and bounded.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sim.cli import file_kind, main
from sim.experiment import run_once
from sim.scenario import load_scenario
from sim.variants import apply, load_variant
from sim.yamlio import InputError

ROOT = Path(__file__).resolve().parent.parent
SCEN = ROOT / "scenarios"
LINE = re.compile(r"^[^:\n]+:\d+: [^:\n]+: .+$")
SECONDS = 5.0  # the most one example may take
FUZZ = settings(
    max_examples=60,
    deadline=None,  # timed below, per example, against SECONDS
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: a failure is reported as found
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# values a hostile or careless file may hold
ODD = [
    math.nan,
    math.inf,
    -math.inf,
    -1,
    0,
    1.0e9,
    1.0e300,
    10**30,
    -(10**30),
    2**63,
    "",
    "x",
    "1e9",
    "D9 09:00",
    "D-400 09:00",
    "25:99",
    "all",
    True,
    False,
    None,
    [],
    {},
    [1, "a", None],
    {"dist": "exponential", "mean": math.inf},
    {"dist": "lognormal", "mean": 60, "sd": 1.0e300},
    {"dist": "triangular", "low": 5, "mode": 1, "high": 3},
    {"min": 100, "max": 10},
    {"value": math.nan, "reason": "r"},
    "$no_such_setting",
]
VALUES = st.one_of(
    st.sampled_from(ODD),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
TEXT_BITS = [
    "&a ",
    "*a",
    ": ",
    "- ",
    "{",
    "[",
    "]",
    "\t",
    "!!python/name:os.system ",
    "<<: *a",
    '"',
]
MUTATION = st.tuples(
    st.sampled_from(["replace", "replace", "replace", "delete", "add", "nest"]),
    st.integers(min_value=0, max_value=10**6),
    VALUES,
    st.integers(min_value=1, max_value=60),
)
TEXT_MUTATION = st.tuples(
    st.sampled_from(["drop_line", "dup_line", "insert", "truncate"]),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(TEXT_BITS),
)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A folder holding the shipped plan and roster, which fuzzed scenarios name."""
    path = Path(tempfile.mkdtemp(prefix="drillsim-fuzz-"))
    for name in ("plan.yaml", "roster_default.yaml"):
        shutil.copy(SCEN / name, path / name)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a tree a mutation may touch (the root excluded)."""
    out = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        out.append((*prefix, key))
        out += _paths(child, (*prefix, key))
    return out


def _nested(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


def mutate(tree: Any, mutations: list[tuple], text_mutations: list[tuple]) -> str:
    """The tree with each mutation applied, dumped as YAML, then with each text mutation."""
    for op, pick, value, depth in mutations:
        value = copy.deepcopy(value)  # the examples share ODD's lists and mappings
        paths = _paths(tree)
        if not paths:
            break
        path = paths[pick % len(paths)]
        parent = tree
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if op == "replace":
            parent[key] = value
        elif op == "delete":
            del parent[key]
        elif op == "add":
            target = parent[key]
            if isinstance(target, dict):
                target[f"unknown_{pick % 7}"] = value
            elif isinstance(target, list):
                target.append(value)
            else:
                parent[key] = value
        else:
            parent[key] = _nested(parent[key], depth)
    text = yaml.safe_dump(tree, allow_unicode=True, sort_keys=False, width=100)
    for op, pick, bit in text_mutations:
        lines = text.splitlines(keepends=True)
        if not lines:
            break
        i = pick % len(lines)
        if op == "drop_line":
            del lines[i]
        elif op == "dup_line":
            lines.insert(i, lines[i])
        elif op == "insert":
            col = pick % (len(lines[i]) or 1)
            lines[i] = lines[i][:col] + bit + lines[i][col:]
        else:
            lines = lines[: i + 1]
        text = "".join(lines)
    return text


def check(path: Path) -> tuple[int, str]:
    """``drillsim validate PATH``: never raises, exits 0 or 2 with well-formed problem lines."""
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    assert time.perf_counter() - t0 < SECONDS
    lines = [x for x in err.getvalue().splitlines() if x.strip()]
    assert code in (0, 2), lines
    if code == 2:
        assert lines, "exit 2 with nothing said"
        assert all(LINE.match(x) for x in lines), lines
    else:
        assert not lines, lines
    return code, out.getvalue()


def finite_run(scenario) -> None:
    """One replication of a file that loaded: it ends, and every measured time is finite."""
    t0 = time.perf_counter()
    run = run_once(scenario, 1)
    assert time.perf_counter() - t0 < SECONDS
    for v in run.verdicts:
        assert v.measured_min is None or math.isfinite(v.measured_min), v


def _fuzz(workdir: Path, source: Path, mutations, text_mutations) -> tuple[Path, int, str]:
    tree = yaml.safe_load(source.read_text(encoding="utf-8"))
    path = workdir / f"fuzz_{source.stem}.yaml"
    path.write_text(mutate(tree, mutations, text_mutations), encoding="utf-8")
    code, out = check(path)
    return path, code, out


MUTATIONS = st.lists(MUTATION, min_size=1, max_size=4)
TEXT_MUTATIONS = st.lists(TEXT_MUTATION, max_size=2)


@FUZZ
@given(
    source=st.sampled_from(["drill_answer_sheet_loss", "drill_leak", "season_2027"]),
    mutations=MUTATIONS,
    text_mutations=TEXT_MUTATIONS,
)
def test_fuzzed_scenarios_load_or_give_clean_errors(workdir, source, mutations, text_mutations):
    path, code, _ = _fuzz(workdir, SCEN / f"{source}.yaml", mutations, text_mutations)
    if code == 0:
        with contextlib.suppress(InputError):  # a file read as another kind (roster, variant)
            finite_run(load_scenario(path))


@FUZZ
@given(mutations=MUTATIONS, text_mutations=TEXT_MUTATIONS)
def test_fuzzed_plans_load_or_give_clean_errors(workdir, mutations, text_mutations):
    path, code, _ = _fuzz(workdir, SCEN / "plan.yaml", mutations, text_mutations)
    if code == 0 and file_kind(yaml.safe_load(path.read_text(encoding="utf-8"))) == "plan":
        target = workdir / "plan.yaml"  # the drill names plan.yaml: run it under this plan
        shutil.copy(path, target)
        try:
            finite_run(load_scenario(shutil.copy(SCEN / "drill_leak.yaml", workdir / "d.yaml")))
        except InputError:
            pass  # a plan that loads but grades the drill's incident otherwise: a clean error
        finally:
            shutil.copy(SCEN / "plan.yaml", target)


@FUZZ
@given(mutations=MUTATIONS, text_mutations=TEXT_MUTATIONS)
def test_fuzzed_rosters_load_or_give_clean_errors(workdir, mutations, text_mutations):
    _fuzz(workdir, SCEN / "roster_default.yaml", mutations, text_mutations)


@FUZZ
@given(mutations=MUTATIONS, text_mutations=TEXT_MUTATIONS)
def test_fuzzed_timelines_load_or_give_clean_errors(workdir, mutations, text_mutations):
    _fuzz(workdir, SCEN / "timelines" / "example_answer_sheet_loss.yaml", mutations, text_mutations)


VARIANTS = sorted((SCEN / "variants").glob("*.yaml"))


@settings(FUZZ, max_examples=150)
@given(
    source=st.sampled_from(VARIANTS),
    mutations=MUTATIONS,
    text_mutations=TEXT_MUTATIONS,
)
def test_fuzzed_variants_load_or_give_clean_errors(
    workdir, base_season, source, mutations, text_mutations
):
    path, code, _ = _fuzz(workdir, source, mutations, text_mutations)
    if code != 0:
        return
    try:
        scenario = apply(base_season, load_variant(path))
    except InputError as exc:  # a change that does not fit the base: the same clean lines
        assert all(LINE.match(str(p)) for p in exc.problems)
        return
    finite_run(scenario)


@pytest.fixture(scope="module")
def base_season():
    return load_scenario(SCEN / "season_2027.yaml")
