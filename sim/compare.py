"""Comparing variants of a scenario with common random numbers.

:func:`compare` runs replication *i* of every variant with the seed ``(seed, i)``, so every variant
faces the same incidents (common random numbers, CRN), and judges each variant against the base
replication by replication. Per rule and variant it reports:

- the share of applicable incidents that met the rule, with its Wilson 95% interval;
- the paired difference to the base of that share, from the per-replication pairs (delta method
  for a ratio of sums; t interval), so "91.2% → 97.9%" and "+6.7 points ±1.2" agree; and the
  mean difference of per-replication met shares with its t interval (``rep_diff``);
- the time distribution (an ECDF in 0.5-minute bins) and the load per role;
- a plain-language verdict per variant in Chinese and English.

``all_met`` is a pseudo-rule: the share of replications (exam seasons) in which every deadline was
met. Replications run on the one chunked runner (:mod:`sim.runner`) and are folded into running
sums by :func:`sim.experiment.replicate`, so a result is identical whatever the number of workers
and memory stays flat as replications grow — unless ``full_log`` asks for every verdict.
:func:`reps_for_precision` runs a pilot and says how many replications a stated half-width needs
(the confidence-interval method).

The statistics live in :mod:`sim.stats`, the searches (``size``, ``sweep``) in :mod:`sim.search`
and the figures in :mod:`sim.figures`; their names stay importable from here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment import (
    ALL_MET,
    DUTY_STATES,
    RULES,
    ChunkResult,
    Tally,
    check_reps,
    replicate,
    role_load,
    roles_of,
    run_chunk,
    run_once,
)
from sim.i18n import label, t
from sim.runner import SCHEDULER_TIMEOUT_S, chunk_bounds, default_workers, map_chunks
from sim.scenario import Scenario
from sim.stats import (
    BIN_MIN,
    N_BINS,
    Z95,
    mean_interval,
    paired_ratio_diff,
    reps_needed,
    t_quantile,
    wilson,
)
from sim.variants import BASE, Variant, apply_all, describe

Progress = Callable[[int, int], None]


# -- one rule under one variant --------------------------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    """One rule under one variant: share met, interval, difference to the base, times."""

    variant: str
    rule: str
    applicable: int
    met: int
    share: float | None
    ci_lo: float | None
    ci_hi: float | None
    diff: float | None  # share − base share (paired per replication)
    diff_lo: float | None
    diff_hi: float | None
    rep_diff: float | None  # mean of per-replication share differences
    rep_diff_lo: float | None
    rep_diff_hi: float | None
    pairs: int  # replications where the rule applied in both
    share_sd: float | None  # spread of the share per replication (s / n̄ of the ratio estimator)
    diff_sd: float | None  # spread of the paired difference per replication
    p50_min: float | None
    p90_min: float | None
    allowed_min: float | None

    @property
    def significant(self) -> bool:
        return self.diff_lo is not None and (self.diff_lo > 0 or self.diff_hi < 0)


def _r(x: float | None, nd: int = 6) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), nd)


def lever_text(code: str, params: dict, lang: str, scenario: Scenario | None = None) -> str:
    """A lever warning in words: a duty state named as the plan's people say it, a person by
    their name in ``scenario`` (the variant's, which holds the people it added)."""
    words = dict(params)
    if "state" in words:
        words["state"] = t(f"rev_state_{words['state']}", lang)
    if "person" in words and scenario is not None:
        found = {p.id: p for p in scenario.roster.people}.get(str(words["person"]))
        if found is not None:
            words["person"] = (found.name_zh if lang == "zh" else found.name_en) or found.id
    return t("lever_" + code, lang, **words)


def lever_warnings(variant: Variant, acc: Tally) -> list[tuple[str, dict]]:
    """Why a variant's answers may not move: it changed nothing in any replication, or its
    lever was never exercised (a duty state nobody was called in, a person nobody needed)."""
    out: list[tuple[str, dict]] = []
    if acc.reps and acc.changed_reps == 0:
        out.append(("no_effect", {"reps": acc.reps}))
    states = {dr.patch.state for dr in variant.reachability}
    states |= {rp.state for c in variant.change for rp in c.reach}
    states |= {rp.state for n in variant.add for rp in n.reach}
    for i, state in enumerate(DUTY_STATES):
        if state in states and acc.state_calls[i] == 0:
            out.append(("state_never_called", {"state": state}))
    for who in [n.person.id for n in variant.add] + [c.id for c in variant.change]:
        if who not in acc.used:
            out.append(("person_never_needed", {"person": who}))
    return out


def _rule_result(
    name: str, rule: str, acc: Tally, base: Tally, allowed: float | None
) -> RuleResult:
    r = RULES.index(rule)
    own = tuple(int(x) for x in acc.s[r])
    sn, sm = own[0], own[1]
    lo, hi = wilson(sm, sn) if sn else (None, None)
    share_sd, diff, dlo, dhi, diff_sd = paired_ratio_diff(
        acc.reps, own, tuple(int(x) for x in base.s[r]), tuple(int(x) for x in acc.x[r])
    )
    kk = int(acc.rep_k[r])
    rd, rdlo, rdhi = mean_interval(float(acc.rep[r, 0]), float(acc.rep[r, 1]), kk) or (None,) * 3
    return RuleResult(
        variant=name,
        rule=rule,
        applicable=sn,
        met=sm,
        share=_r(sm / sn if sn else None),
        ci_lo=_r(lo),
        ci_hi=_r(hi),
        diff=_r(diff),
        diff_lo=_r(dlo),
        diff_hi=_r(dhi),
        rep_diff=_r(rd),
        rep_diff_lo=_r(rdlo),
        rep_diff_hi=_r(rdhi),
        pairs=kk,
        share_sd=_r(share_sd),
        diff_sd=_r(diff_sd),
        p50_min=_r(acc.percentile(r, 0.5), 3),
        p90_min=_r(acc.percentile(r, 0.9), 3),
        allowed_min=allowed,
    )


# -- the comparison --------------------------------------------------------------------------


RULE_COLUMNS = [f.name for f in RuleResult.__dataclass_fields__.values()]


@dataclass
class Comparison:
    """Variants of one scenario compared with common random numbers; see :func:`compare`."""

    scenario: str
    reps: int
    seed: int
    variants: list[Variant]
    scenarios: list[Scenario] = field(repr=False)
    results: list[RuleResult] = field(repr=False)
    roles: pd.DataFrame = field(repr=False)
    hist: dict[tuple[str, str], np.ndarray] = field(repr=False)
    #: per (variant, rule): the ``causes`` object of its misses (:func:`sim.experiment.causes_table`)
    causes: dict[tuple[str, str], dict] = field(default_factory=dict, repr=False)
    #: per (variant, rule): blocking step -> share of the misses it blocked (largest first)
    blocking: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict, repr=False)
    #: per variant: its lever warnings, (code, params) — see :func:`lever_warnings`
    warnings: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)
    crn_mismatched_reps: int = 0
    log: pd.DataFrame | None = field(default=None, repr=False)
    elapsed_s: float = field(default=0.0, compare=False)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variants]

    def result(self, variant: str, rule: str) -> RuleResult:
        for r in self.results:
            if r.variant == variant and r.rule == rule:
                return r
        raise KeyError((variant, rule))

    def share(self, variant: str, rule: str) -> float | None:
        return self.result(variant, rule).share

    def applicable_rules(self) -> list[str]:
        """Rules that applied to at least one incident in some variant, in the plan's order."""
        return [rule for rule in RULES if any(r.applicable for r in self.results if r.rule == rule)]

    def key_rules(self) -> list[str]:
        """Applicable rules not met every time by every variant (the ones worth a chart), and all_met."""
        out = []
        for rule in self.applicable_rules():
            rows = [r for r in self.results if r.rule == rule and r.applicable]
            if rule == ALL_MET or any(r.met < r.applicable or (r.diff or 0) != 0 for r in rows):
                out.append(rule)
        return out

    def rule_frame(self) -> pd.DataFrame:
        """One row per variant × rule (the main table, also written to CSV/Parquet)."""
        df = pd.DataFrame([r.__dict__ for r in self.results], columns=RULE_COLUMNS)
        return df.astype({"applicable": "int64", "met": "int64", "pairs": "int64"})

    def role_frame(self) -> pd.DataFrame:
        return self.roles.copy()

    def ecdf(self, variant: str, rule: str) -> tuple[np.ndarray, np.ndarray]:
        """Minutes and share of applicable incidents done by then (plateaus below 1 if some never were)."""
        hist = self.hist[(variant, rule)]
        n = self.result(variant, rule).applicable
        if n == 0 or hist.sum() == 0:
            return np.array([]), np.array([])
        nz = np.nonzero(hist)[0]
        cum = np.cumsum(hist)[nz] / n
        x = (nz + 1) * BIN_MIN
        return x.astype(float), cum.astype(float)

    def ecdf_frame(self) -> pd.DataFrame:
        rows = []
        for (variant, rule), _ in self.hist.items():
            x, y = self.ecdf(variant, rule)
            rows.extend(
                (variant, rule, float(a), round(float(b), 6)) for a, b in zip(x, y, strict=True)
            )
        return pd.DataFrame(rows, columns=["variant", "rule", "minutes", "share_done"])

    def verdicts(self, lang: str = "zh") -> dict[str, str]:
        """A plain-language verdict per variant (not the base), e.g. "+1 night duty officer: ..."."""
        return {v.name: verdict(self, v, lang) for v in self.variants[1:]}

    def verdict_frame(self) -> pd.DataFrame:
        rows = [(v, lang, text) for lang in ("zh", "en") for v, text in self.verdicts(lang).items()]
        return pd.DataFrame(rows, columns=["variant", "lang", "verdict"])

    def frames(self) -> dict[str, pd.DataFrame]:
        out = {
            "rules": self.rule_frame(),
            "roles": self.role_frame(),
            "ecdf": self.ecdf_frame(),
            "verdicts": self.verdict_frame(),
        }
        if self.log is not None:
            out["log"] = self.log
        return out

    def to_csv(self, path: str | Path) -> list[Path]:
        """The rule table at ``path``; roles, ECDF and verdicts beside it (``<stem>_roles.csv``…)."""
        return _write(self.frames(), Path(path), "csv")

    def to_parquet(self, path: str | Path) -> list[Path]:
        return _write(self.frames(), Path(path), "parquet")

    def as_json(self) -> dict:
        """Deterministic: the same arguments give the same JSON (no timings)."""
        return {
            "scenario": self.scenario,
            "reps": self.reps,
            "seed": self.seed,
            "variants": [
                {
                    "name": v.name,
                    "label_zh": v.label_zh,
                    "label_en": v.label_en,
                    "changes": describe(v, "en", self.scenarios[0]),
                }
                for v in self.variants
            ],
            "crn_mismatched_reps": self.crn_mismatched_reps,
            "rules": [
                {
                    **r.__dict__,
                    "causes": self.causes.get((r.variant, r.rule), {}),
                    "blocking_steps": self.blocking.get((r.variant, r.rule), {}),
                }
                for r in self.results
                if r.applicable or r.rule in self.applicable_rules()
            ],
            "roles": [
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                for row in self.roles.to_dict("records")
            ],
            "verdicts": {"zh": self.verdicts("zh"), "en": self.verdicts("en")},
            "warnings": {
                name: [
                    {
                        "code": code,
                        **params,
                        "zh": lever_text(code, params, "zh", self._scenario_of(name)),
                        "en": lever_text(code, params, "en", self._scenario_of(name)),
                    }
                    for code, params in found
                ]
                for name, found in self.warnings.items()
            },
        }

    def _scenario_of(self, variant: str) -> Scenario | None:
        """The scenario a variant ran (None for a name not compared here)."""
        names = self.names
        return self.scenarios[names.index(variant)] if variant in names else None

    def warning_lines(self, lang: str) -> list[str]:
        """The lever warnings in words, one line per variant and warning."""
        return [
            f"⚠ {v.label(lang)}: {lever_text(code, params, lang, self._scenario_of(v.name))}"
            for v in self.variants
            for code, params in self.warnings.get(v.name, [])
        ]

    def run(self, variant: str, replication: int):
        """The full record of one replication of one variant (re-run: results are reproducible)."""
        return run_once(self.scenarios[self.names.index(variant)], self.seed, replication)


def _write(frames: dict[str, pd.DataFrame], path: Path, kind: str) -> list[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for key, df in frames.items():
        target = path if key == "rules" else path.with_name(f"{path.stem}_{key}{path.suffix}")
        if kind == "csv":
            df.to_csv(target, index=False, encoding="utf-8")
        else:
            df.to_parquet(target, index=False)
        written.append(target)
    return written


def read_results(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read back what ``to_csv`` / ``to_parquet`` wrote (by the rules file's path)."""
    path = Path(path)
    out = {}
    for key in ("rules", "roles", "ecdf", "verdicts", "log"):
        target = path if key == "rules" else path.with_name(f"{path.stem}_{key}{path.suffix}")
        if target.exists():
            out[key] = pd.read_csv(target) if path.suffix == ".csv" else pd.read_parquet(target)
    return out


def _variants_with_base(variants: Sequence[Variant]) -> list[Variant]:
    out = [BASE]
    names = {"base"}
    for v in variants:
        if v.is_base and v.name == "base":
            continue
        if v.name in names:
            raise ValueError(f"two variants are named {v.name!r}")
        names.add(v.name)
        out.append(v)
    return out


def compare(
    base: Scenario,
    variants: Sequence[Variant],
    reps: int,
    seed: int,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    *,
    chunk_size: int | None = None,
    full_log: bool = False,
) -> Comparison:
    """Run ``reps`` replications of the base and each variant with common random numbers.

    ``workers``: local processes (None: all cores); ``scheduler``: a Dask scheduler address or
    Client. ``progress(done, total)`` is called as replications finish. The result does not
    depend on ``workers``, ``scheduler`` or ``chunk_size``. Raises InputError if a variant does
    not fit the scenario.
    """
    check_reps(reps, workers)
    t0 = time.perf_counter()
    vs = _variants_with_base(variants)
    scenarios = [base, *apply_all(base, vs[1:])]
    done = replicate(
        scenarios,
        reps,
        seed,
        workers=workers,
        scheduler=scheduler,
        chunk_size=chunk_size,
        full_log=full_log,
        progress=progress,
    )
    accs = done.tallies
    results = []
    for var, sc, acc in zip(vs, scenarios, accs, strict=True):
        for rule in RULES:
            allowed = sc.plan.rules[rule].allowed_minutes if rule in sc.plan.rules else None
            results.append(_rule_result(var.name, rule, acc, accs[0], allowed))
    warnings = {
        var.name: found
        for var, acc in zip(vs[1:], accs[1:], strict=True)
        if (found := lever_warnings(var, acc))
    }
    each = [(v, var.name, RULES.index(rule), rule) for v, var in enumerate(vs) for rule in RULES]
    log = done.log
    if log is not None:
        log["variant"] = [vs[i].name for i in log["variant"]]
    return Comparison(
        scenario=base.name,
        reps=reps,
        seed=seed,
        variants=vs,
        scenarios=scenarios,
        results=results,
        roles=_role_rows(vs, scenarios, accs),
        hist={(name, rule): accs[v].hist[r] for v, name, r, rule in each},
        causes={(name, rule): accs[v].causes_of(r) for v, name, r, rule in each},
        blocking={(name, rule): accs[v].blocking_of(r) for v, name, r, rule in each},
        warnings=warnings,
        crn_mismatched_reps=max(a.crn_mismatch for a in accs),
        log=log,
        elapsed_s=time.perf_counter() - t0,
    )


def _role_rows(vs, scenarios, accs) -> pd.DataFrame:
    rows = []
    for var, sc, acc in zip(vs, scenarios, accs, strict=True):
        reps = max(1, acc.reps)
        for j, (role, load) in enumerate(role_load(sc, acc).items()):
            rows.append(
                {
                    "variant": var.name,
                    "role": role,
                    "people": load["people"],
                    "busy_share": load["busy_share"],
                    "busy_min_per_rep": round(float(acc.busy[j]) / reps, 3),
                    "calls_per_rep": round(load["calls"] / reps, 4),
                    "unanswered_share": load["unanswered_share"],
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "variant",
            "role",
            "people",
            "busy_share",
            "busy_min_per_rep",
            "calls_per_rep",
            "unanswered_share",
        ],
    )


# -- verdicts --------------------------------------------------------------------------------


def rule_name(scenario: Scenario, rule: str, lang: str) -> str:
    if rule == ALL_MET:
        return t("plan_all_met", lang)
    return label(scenario.plan, "rules", rule, lang)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def verdict(comp: Comparison, variant: Variant, lang: str = "zh", max_rules: int = 4) -> str:
    """E.g. "+1 night duty officer: First report within 3 hours 91.2% → 97.9% (+6.7 points ±1.2)"."""
    sc = comp.scenarios[comp.names.index(variant.name)]
    rows = [comp.result(variant.name, rule) for rule in comp.applicable_rules()]
    rows = [
        r for r in rows if r.share is not None and comp.result("base", r.rule).share is not None
    ]
    headline = [r for r in rows if r.rule in ("first_report_3h", ALL_MET)]
    changed = sorted(
        (r for r in rows if r.significant and r not in headline), key=lambda r: -abs(r.diff or 0)
    )
    shown = headline + changed[: max(0, max_rules - len(headline))]
    parts = []
    for r in shown:
        b = comp.result("base", r.rule)
        half = (r.diff_hi - r.diff_lo) / 2 if r.diff_lo is not None else 0.0
        clock = ""
        if (
            r.allowed_min is not None
            and b.allowed_min is not None
            and r.allowed_min != b.allowed_min
        ):
            clock = t("plan_verdict_clock", lang, minutes=f"{r.allowed_min:g}")
        if r.significant:
            trend = t(
                "plan_verdict_diff", lang, diff=f"{100 * r.diff:+.1f}", half=f"{100 * half:.1f}"
            )
        elif r.diff == 0 and not r.diff_sd:
            trend = t("plan_verdict_identical", lang)
        else:
            trend = t("plan_verdict_no_change", lang, half=f"{100 * half:.1f}")
        parts.append(
            t(
                "plan_verdict_rule",
                lang,
                rule=rule_name(sc, r.rule, lang) + clock,
                base=_pct(b.share),
                share=_pct(r.share),
                trend=trend,
            )
        )
    others = [r for r in rows if r not in shown]
    tail = ""
    if others and not any(r.significant for r in others):
        tail = t("plan_verdict_others_same", lang)
    elif others:
        tail = t("plan_verdict_others_changed", lang, n=sum(r.significant for r in others))
    sep = "；" if lang == "zh" else "; "
    return f"{variant.label(lang)}{'：' if lang == 'zh' else ': '}" + sep.join(parts) + tail


# -- replications needed ---------------------------------------------------------------------


@dataclass
class Precision:
    """Replications needed for a stated 95% half-width, from a pilot run."""

    half_width: float
    pilot_reps: int
    table: pd.DataFrame  # variant, rule, estimate, needed_reps (share) / needed_reps_diff
    reps: int  # the most needed over the target rules
    seconds_per_rep: float  # wall time per replication of all variants in the pilot

    def seconds(self, reps: int | None = None) -> float:
        return (reps if reps is not None else self.reps) * self.seconds_per_rep


def reps_for_precision(
    base: Scenario,
    variants: Sequence[Variant] = (),
    *,
    half_width: float = 0.01,
    rules: Sequence[str] = ("first_report_3h", ALL_MET),
    pilot_reps: int = 200,
    seed: int = 1,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    max_reps: int = 1_000_000,
) -> Precision:
    """How many replications give a 95% interval of ± ``half_width`` (confidence-interval method).

    A pilot of ``pilot_reps`` estimates, per rule, the per-replication spread s of the share
    (ratio estimator: s² = var(m − p·n), over n̄² incidents a replication) and of the paired
    difference to the base; the replications needed are ⌈(z·s / h)²⌉. A rule met (or missed)
    in every pilot incident uses p̃ = (met + 2) / (n + 4) instead of a zero spread.
    """
    comp = compare(
        base, variants, pilot_reps, seed, workers=workers, scheduler=scheduler, progress=progress
    )
    return precision_from(comp, half_width=half_width, rules=rules, max_reps=max_reps)


def precision_from(
    comp: Comparison,
    *,
    half_width: float,
    rules: Sequence[str] = ("first_report_3h", ALL_MET),
    max_reps: int = 1_000_000,
) -> Precision:
    """The replications needed, estimated from an existing (pilot) comparison."""
    if half_width <= 0:
        raise ValueError("half_width must be above 0")
    rows = []
    k = comp.reps
    for r in comp.results:
        if not r.applicable:
            continue
        n_bar = r.applicable / k
        sd = r.share_sd or 0.0
        if sd <= 1e-9:  # met (or missed) every time in the pilot: a binomial spread with p̃
            pt = (r.met + 2) / (r.applicable + 4)
            sd = math.sqrt(pt * (1 - pt) / n_bar)
        need = reps_needed(sd, half_width, max_reps)
        need_diff = None
        if r.variant != "base" and r.diff_sd is not None:
            need_diff = reps_needed(r.diff_sd, half_width, max_reps)
        rows.append(
            {
                "variant": r.variant,
                "rule": r.rule,
                "estimate": r.share,
                "incidents_per_rep": round(n_bar, 4),
                "needed_reps": need,
                "needed_reps_diff": need_diff,
                "target": r.rule in rules,
            }
        )
    columns = [
        "variant",
        "rule",
        "estimate",
        "incidents_per_rep",
        "needed_reps",
        "needed_reps_diff",
        "target",
    ]
    table = pd.DataFrame(rows, columns=columns)
    targets = table[table["target"]]
    needs = [int(x) for x in targets["needed_reps"].dropna()] + [
        int(x) for x in targets["needed_reps_diff"].dropna()
    ]
    reps = max(needs) if needs else comp.reps
    return Precision(half_width, comp.reps, table, reps, comp.elapsed_s / max(1, comp.reps))


# -- names that moved to sim.search and sim.figures, importable from here as before ----------

#: the modules that took names from here: each name in their ``__all__`` is importable here
_MOVED_TO = ("search", "figures")


def __getattr__(name: str) -> Any:
    """Load :mod:`sim.search` or :mod:`sim.figures` when one of their names is asked for here
    (they import this module, so this module cannot import them at its top)."""
    import importlib

    for module in _MOVED_TO:
        found = importlib.import_module(f"sim.{module}")
        if name in found.__all__:
            return getattr(found, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALL_MET",
    "BIN_MIN",
    "N_BINS",
    "RULES",
    "SCHEDULER_TIMEOUT_S",
    "Z95",
    "ChunkResult",
    "Comparison",
    "Precision",
    "RuleResult",
    "chunk_bounds",
    "compare",
    "default_workers",
    "lever_text",
    "lever_warnings",
    "map_chunks",
    "precision_from",
    "read_results",
    "reps_for_precision",
    "roles_of",
    "rule_name",
    "run_chunk",
    "t_quantile",
    "verdict",
    "wilson",
]
