"""Searches over variants: the smallest staffing on a grid that meets targets, and a sweep of
one parameter. Each point is a variant run by :func:`sim.compare.compare` with common random
numbers, so every point faces the same incidents as the base.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.compare import RULES, Comparison, Progress, compare
from sim.i18n import label, step_label, t
from sim.labels import param_label
from sim.scenario import DAY, Scenario, Shift
from sim.variants import Variant, set_path, variant_from_dict

#: The most values one sweep tries: each is a variant run as often as the base, and each keeps
#: its own running sums (about 1.5 MB) until the sweep ends.
MAX_SWEEP_POINTS = 200
#: The most staffing cells one ``size`` grid holds (the product of the axes' counts); each cell
#: is a variant whose sums the result keeps, as a sweep's points.
MAX_GRID_CELLS = 500


# -- staffing on a grid ----------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One staffing dimension: ``counts`` extra people of ``role`` made from a template.

    Extra people are named ``<name>_1``, ``<name>_2``…, placed in the role's call chain at
    ``chain`` (``end`` keeps everyone else's calls as they were: more staff is never worse).
    """

    name: str
    role: str
    counts: tuple[int, ...]
    default_state: str = "on_call"
    shifts: tuple[Shift, ...] = ()
    answer_prob: Mapping[str, float] | None = None  # per duty state, for the extra people
    chain: str = "end"
    label_zh: str = ""
    label_en: str = ""
    cost: float = 1.0

    def label(self, lang: str = "zh") -> str:
        return (self.label_zh if lang == "zh" else self.label_en) or self.name

    def people(self, k: int) -> list[dict[str, Any]]:
        out = []
        for i in range(1, k + 1):
            pid = f"{self.name}_{i}"
            d: dict[str, Any] = {
                "id": pid,
                "role": self.role,
                "name_zh": f"{self.label('zh')}{i}",
                "name_en": f"{self.label('en')} {i}",
                "default_state": self.default_state,
                "chain": self.chain,
            }
            if self.shifts:
                d["duty"] = [
                    {
                        "days": "all" if s.days is None else list(s.days),
                        "from": _hhmm(s.start_min),
                        "to": _hhmm(s.end_min),
                        "state": s.state,
                    }
                    for s in self.shifts
                ]
            if self.answer_prob:
                d["reach"] = {s: {"answer_prob": p} for s, p in self.answer_prob.items()}
            out.append(d)
        return out


def _hhmm(minutes: int) -> str:
    minutes %= DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def grid_variant(axes: Sequence[Axis], counts: Sequence[int]) -> Variant:
    """The variant adding ``counts[i]`` people on axis ``i``."""
    name = "grid_" + "_".join(f"{a.name}{k}" for a, k in zip(axes, counts, strict=True))
    adds = [p for a, k in zip(axes, counts, strict=True) for p in a.people(k)]
    zh = "，".join(f"{a.label('zh')}+{k}" for a, k in zip(axes, counts, strict=True))
    en = ", ".join(f"{a.label('en')} +{k}" for a, k in zip(axes, counts, strict=True))
    return variant_from_dict(
        {"name": name, "label_zh": zh, "label_en": en, "roster": {"add": adds}}, name=name
    )


@dataclass
class Sizing:
    """The grid search's answer: the cheapest cell meeting every target, and what was evaluated."""

    axes: list[Axis]
    targets: dict[str, float]
    criterion: str
    cells: pd.DataFrame  # one row per evaluated cell: counts, cost, share / lo / hi per rule, meets
    best: dict[str, int] | None  # axis name -> extra people, or None when no cell meets the targets
    comparisons: list[Comparison] = field(default_factory=list, repr=False)
    #: when no cell meets the targets: per target missed by the closest cell, what blocks it
    blocked_by: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "axes": [{"name": a.name, "role": a.role, "counts": list(a.counts)} for a in self.axes],
            "targets": self.targets,
            "criterion": self.criterion,
            "best": self.best,
            "blocked_by": self.blocked_by,
            "cells": self.cells.to_dict("records"),
        }

    def blocked_lines(self, plan, lang: str) -> list[str]:
        """What blocks each target no staffing on the grid reaches, in words."""
        out = []
        for b in self.blocked_by:
            name = step_label(plan, b["step"], lang)
            out.append(
                t(
                    "size_blocked",
                    lang,
                    rule=label(plan, "rules", b["rule"], lang),
                    share=f"{100 * (b['share'] or 0):.1f}",
                    target=f"{100 * b['target']:.1f}",
                    step=name,
                    blocked=f"{100 * b['step_share']:.0f}",
                    cause=t("cause_" + b["cause"], lang) if b["cause"] else "—",
                    minutes=f"{b['cause_minutes']:.0f}",
                )
            )
        return out


def size_grid(
    base: Scenario,
    axes: Sequence[Axis],
    targets: Mapping[str, float],
    reps: int,
    seed: int,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    *,
    criterion: str = "estimate",
    exhaustive: bool = False,
) -> Sizing:
    """The smallest staffing on the grid whose met shares reach every target.

    Cells are evaluated in order of cost (Σ extra people × axis cost), a cost level at a time with
    common random numbers; the search stops at the first level where some cell meets every
    target (``criterion``: ``estimate`` — the share itself; ``lower`` — its 95% lower bound) and
    returns the best of them (highest worst margin). ``exhaustive`` evaluates the whole grid (for
    a heatmap) and still returns the cheapest cell.
    """
    if criterion not in ("estimate", "lower"):
        raise ValueError("criterion must be 'estimate' or 'lower'")
    for rule in targets:
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}")
    axes = list(axes)
    n_cells = math.prod(len(a.counts) for a in axes)
    if n_cells > MAX_GRID_CELLS:
        raise ValueError(
            f"the grid holds {n_cells:,} cells, above the cap of {MAX_GRID_CELLS:,} (MAX_GRID_CELLS)"
        )
    cells = sorted(itertools.product(*(a.counts for a in axes)), key=lambda c: (_cost(axes, c), c))
    levels: dict[float, list[tuple[int, ...]]] = {}
    for c in cells:
        levels.setdefault(_cost(axes, c), []).append(c)
    rows, comps, best = [], [], None
    closest: tuple[float, tuple[int, ...], Comparison, str] | None = None
    total_cells = len(cells)
    done_cells = 0
    for cost in sorted(levels):
        group = levels[cost]
        variants = [grid_variant(axes, c) for c in group]

        tick = _offset_progress(progress, done_cells * reps, len(group), total_cells * reps)

        comp = compare(
            base, variants, reps, seed, workers=workers, scheduler=scheduler, progress=tick
        )
        comps.append(comp)
        done_cells += len(group)
        found = []
        for c, v in zip(group, variants, strict=True):
            row: dict[str, Any] = {a.name: k for a, k in zip(axes, c, strict=True)}
            row["cost"] = cost
            margins = []
            for rule, target in targets.items():
                r = comp.result(v.name, rule)
                value = r.share if criterion == "estimate" else r.ci_lo
                row[f"{rule}_share"] = r.share
                row[f"{rule}_lo"] = r.ci_lo
                row[f"{rule}_hi"] = r.ci_hi
                margins.append(-1.0 if value is None else value - target)
            row["meets"] = all(m >= 0 for m in margins)
            rows.append(row)
            if closest is None or min(margins) > closest[0]:
                closest = (min(margins), c, comp, v.name)
            if row["meets"]:
                found.append((min(margins), c))
        if found and best is None:
            found.sort(key=lambda x: (-x[0], x[1]))
            best = {a.name: k for a, k in zip(axes, found[0][1], strict=True)}
            if not exhaustive:
                break
    frame = pd.DataFrame(rows)
    blocked = (
        [] if best is not None or closest is None else _blocked_by(closest, targets, criterion)
    )
    return Sizing(axes, dict(targets), criterion, frame, best, comps, blocked)


def _blocked_by(closest, targets: Mapping[str, float], criterion: str) -> list[dict[str, Any]]:
    """For the cell closest to the targets, per target it misses: the step that blocked most of
    its misses, and the cause that cost most per miss."""
    _, cell, comp, name = closest
    out = []
    for rule, target in targets.items():
        r = comp.result(name, rule)
        value = r.share if criterion == "estimate" else r.ci_lo
        if value is not None and value >= target:
            continue
        steps = comp.blocking.get((name, rule), {})
        causes = comp.causes.get((name, rule), {})
        step, step_share = next(iter(steps.items()), ("", 0.0))
        cause, c = max(causes.items(), key=lambda kv: kv[1]["minutes_per_miss"], default=("", {}))
        out.append(
            {
                "rule": rule,
                "target": target,
                "share": r.share,
                "cell": list(cell),
                "step": step,
                "step_share": step_share,
                "cause": cause,
                "cause_minutes": c.get("minutes_per_miss", 0.0),
            }
        )
    return out


def _offset_progress(
    progress: Progress | None, offset: int, per_rep: int, total: int
) -> Progress | None:
    """Progress of one batch of cells reported as progress over the whole grid."""
    if progress is None:
        return None
    return lambda done, _total: progress(offset + done * per_rep, total)


def _cost(axes: Sequence[Axis], counts: Sequence[int]) -> float:
    return round(sum(a.cost * k for a, k in zip(axes, counts, strict=True)), 9)


# -- one-parameter sweep ---------------------------------------------------------------------


@dataclass
class Sweep:
    """Met shares as one parameter varies; each value is paired with the base (CRN)."""

    param: str
    values: list[Any]
    comparison: Comparison = field(repr=False)
    frame: pd.DataFrame = field(
        repr=False
    )  # value, rule, share, ci_lo, ci_hi, diff, diff_lo, diff_hi

    def as_json(self) -> dict:
        return {"param": self.param, "values": self.values, "rows": self.frame.to_dict("records")}


def sweep(
    base: Scenario,
    param: str,
    values: Sequence[Any],
    reps: int,
    seed: int,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Sweep:
    """Vary ``param`` — a dotted path in the variant file format, e.g.
    ``roster.reachability.off_duty.answer_prob``, ``plan.rules.first_report_3h``,
    ``sites.site_c.travel_scale``, ``timing.max_call_rounds`` — over ``values``.

    ``extra`` is an override document merged into every point (e.g. a staffing change).
    """
    variants = []
    if len(values) > MAX_SWEEP_POINTS:  # the command line, the page and notebooks alike
        raise ValueError(
            f"a sweep tries at most {MAX_SWEEP_POINTS} values (MAX_SWEEP_POINTS), got {len(values)}"
        )
    for i, value in enumerate(values):
        doc = set_path(param, value)
        if extra:
            doc = _merge(dict(extra), doc)
        doc.update(
            {
                "name": f"v{i}",
                "label_zh": t(
                    "plan_sweep_point", "zh", param=param_label(param, "zh"), value=value
                ),
                "label_en": t(
                    "plan_sweep_point", "en", param=param_label(param, "en"), value=value
                ),
            }
        )
        variants.append(variant_from_dict(doc, name=f"v{i}"))
    comp = compare(
        base, variants, reps, seed, workers=workers, scheduler=scheduler, progress=progress
    )
    rows = []
    for v, value in zip(variants, values, strict=True):
        for rule in comp.applicable_rules():
            r = comp.result(v.name, rule)
            rows.append(
                {
                    "value": value,
                    "rule": rule,
                    "share": r.share,
                    "ci_lo": r.ci_lo,
                    "ci_hi": r.ci_hi,
                    "diff": r.diff,
                    "diff_lo": r.diff_lo,
                    "diff_hi": r.diff_hi,
                    "p50_min": r.p50_min,
                }
            )
    return Sweep(param, list(values), comp, pd.DataFrame(rows))


def _merge(a: dict, b: Mapping) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = (
            _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
        )
    return out


__all__ = [
    "MAX_GRID_CELLS",
    "MAX_SWEEP_POINTS",
    "Axis",
    "Sizing",
    "Sweep",
    "grid_variant",
    "size_grid",
    "sweep",
]
