"""The planner's matplotlib figures: shares, paired differences, time distributions, load per
role, a sweep and a sizing grid, and :func:`save_figures` to write a comparison's as PNG files.

Each is a :class:`matplotlib.figure.Figure` with its own Agg canvas, never made through
``pyplot`` (as :mod:`sim.charts`): pyplot keeps one "current figure" for the whole process, so
two sessions drawing at once could garble each other's charts, and nothing needs closing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.charts import new_figure
from sim.compare import ALL_MET, Comparison, rule_name
from sim.i18n import label, t
from sim.labels import param_label
from sim.search import Sizing, Sweep

COLOURS = (
    "#4c4c4c",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
)


def _legend_below(fig, ax, n: int) -> None:
    """The legend under the plot, so it never covers bars (rows of up to three entries)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        fig.tight_layout()
        return
    rows = -(-len(handles) // 3)
    reserve = (0.12 + 0.2 * rows) / fig.get_figheight()
    # typed variant labels: a "$" must not switch matplotlib into maths notation
    labels = [text.replace("$", r"\$") for text in labels]
    fig.legend(
        handles, labels, loc="lower center", ncol=min(3, len(handles)), fontsize=8, frameon=False
    )
    fig.tight_layout(rect=(0, reserve, 1, 1))


def share_figure(comp: Comparison, lang: str = "zh", rules: Sequence[str] | None = None) -> Figure:
    """Share met per rule and variant, with Wilson 95% intervals as error bars."""
    rules = list(rules or comp.key_rules())
    sc = comp.scenarios[0]
    nv = len(comp.variants)
    fig, ax = new_figure((9, 0.5 + 0.32 * len(rules) * nv + 0.4))
    height = 0.8 / nv
    for j, v in enumerate(comp.variants):
        ys, xs, lo, hi = [], [], [], []
        for i, rule in enumerate(rules):
            r = comp.result(v.name, rule)
            if r.share is None:
                continue
            ys.append(i + (j - (nv - 1) / 2) * height)
            xs.append(100 * r.share)
            lo.append(100 * (r.share - r.ci_lo))
            hi.append(100 * (r.ci_hi - r.share))
        ax.barh(
            ys,
            xs,
            height=height * 0.9,
            xerr=[lo, hi],
            color=COLOURS[j % len(COLOURS)],
            capsize=2,
            label=v.label(lang),
            error_kw={"lw": 1},
        )
    ax.set_yticks(range(len(rules)))
    ax.set_yticklabels([rule_name(sc, r, lang) for r in rules], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 105)
    ax.set_xlabel(t("plan_fig_share_axis", lang))
    ax.set_title(t("plan_fig_share_title", lang, reps=comp.reps))
    ax.grid(axis="x", alpha=0.3)
    _legend_below(fig, ax, nv)
    return fig


def diff_figure(comp: Comparison, lang: str = "zh", rules: Sequence[str] | None = None) -> Figure:
    """Paired difference to the base per rule and variant (points with 95% intervals)."""
    rules = list(rules or comp.key_rules())
    sc = comp.scenarios[0]
    others = comp.variants[1:]
    nv = max(1, len(others))
    fig, ax = new_figure((9, 0.6 + 0.3 * len(rules) * nv + 0.4))
    step = 0.8 / nv
    for j, v in enumerate(others):
        for i, rule in enumerate(rules):
            r = comp.result(v.name, rule)
            if r.diff is None:
                continue
            y = i + (j - (nv - 1) / 2) * step
            ax.errorbar(
                [100 * r.diff],
                [y],
                xerr=[[100 * (r.diff - r.diff_lo)], [100 * (r.diff_hi - r.diff)]],
                fmt="o",
                ms=4,
                capsize=3,
                color=COLOURS[(j + 1) % len(COLOURS)],
                label=v.label(lang) if i == 0 else None,
            )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(rules)))
    ax.set_yticklabels([rule_name(sc, r, lang) for r in rules], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(t("plan_fig_diff_axis", lang))
    ax.set_title(t("plan_fig_diff_title", lang))
    ax.grid(axis="x", alpha=0.3)
    _legend_below(fig, ax, len(others))
    return fig


def ecdf_figure(comp: Comparison, rule: str = "first_report_3h", lang: str = "zh") -> Figure:
    """Share of applicable incidents done within x minutes, per variant; the rule's clock dashed."""
    sc = comp.scenarios[0]
    fig, ax = new_figure((8, 4))
    for j, v in enumerate(comp.variants):
        x, y = comp.ecdf(v.name, rule)
        if x.size:
            ax.step(
                np.concatenate([[0.0], x]),
                100 * np.concatenate([[0.0], y]),
                where="post",
                color=COLOURS[j % len(COLOURS)],
                label=v.label(lang),
            )
        allowed = comp.result(v.name, rule).allowed_min
        if allowed is not None and (j == 0 or allowed != comp.result("base", rule).allowed_min):
            ax.axvline(allowed, color=COLOURS[j % len(COLOURS)], ls="--", lw=1)
    ax.set_xlabel(t("plan_fig_ecdf_axis", lang))
    ax.set_ylabel(t("plan_fig_ecdf_share", lang))
    ax.set_ylim(0, 102)
    ax.set_title(t("plan_fig_ecdf_title", lang, rule=rule_name(sc, rule, lang)))
    ax.grid(alpha=0.3)
    _legend_below(fig, ax, len(comp.variants))
    return fig


def load_figure(comp: Comparison, lang: str = "zh", metric: str = "calls_per_rep") -> Figure:
    """Load per role and variant: calls per replication (or busy minutes per replication)."""
    sc = comp.scenarios[0]
    df = comp.roles
    roles = [
        r for r in dict.fromkeys(df["role"]) if df[df["role"] == r][metric].fillna(0).sum() > 0
    ]
    nv = len(comp.variants)
    fig, ax = new_figure((9, 0.6 + 0.3 * len(roles) * nv + 0.4))
    height = 0.8 / nv
    for j, v in enumerate(comp.variants):
        sub = df[df["variant"] == v.name].set_index("role")
        ys = [i + (j - (nv - 1) / 2) * height for i, r in enumerate(roles) if r in sub.index]
        xs = [float(sub.loc[r, metric]) for r in roles if r in sub.index]
        ax.barh(ys, xs, height=height * 0.9, color=COLOURS[j % len(COLOURS)], label=v.label(lang))
    ax.set_yticks(range(len(roles)))
    ax.set_yticklabels([label(sc.plan, "roles", r, lang) for r in roles], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(t(f"plan_fig_load_{metric}", lang))
    ax.set_title(t("plan_fig_load_title", lang))
    ax.grid(axis="x", alpha=0.3)
    _legend_below(fig, ax, nv)
    return fig


def sweep_figure(sw: Sweep, lang: str = "zh", rules: Sequence[str] | None = None) -> Figure:
    """Met share against the parameter, with 95% intervals."""
    sc = sw.comparison.scenarios[0]
    rules = list(rules or dict.fromkeys(sw.frame["rule"]))
    fig, ax = new_figure((8, 4))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in sw.values)
    xs_all = list(sw.values) if numeric else list(range(len(sw.values)))
    for j, rule in enumerate(rules):
        sub = sw.frame[sw.frame["rule"] == rule]
        if sub.empty:
            continue
        xs = [xs_all[sw.values.index(v)] for v in sub["value"]]
        share = 100 * sub["share"].astype(float).to_numpy()
        lo = share - 100 * sub["ci_lo"].astype(float).to_numpy()
        hi = 100 * sub["ci_hi"].astype(float).to_numpy() - share
        ax.errorbar(
            xs,
            share,
            yerr=[lo, hi],
            fmt="-o",
            ms=4,
            capsize=3,
            color=COLOURS[(j + 1) % len(COLOURS)],
            label=rule_name(sc, rule, lang),
        )
    if not numeric:
        ax.set_xticks(xs_all)
        ax.set_xticklabels([str(v) for v in sw.values])
    ax.set_xlabel(param_label(sw.param, lang))
    ax.set_ylabel(t("plan_fig_share_axis", lang))
    ax.set_title(t("plan_fig_sweep_title", lang, param=param_label(sw.param, lang)))
    ax.grid(alpha=0.3)
    _legend_below(fig, ax, len(rules))
    return fig


def sizing_figure(sz: Sizing, rule: str | None = None, lang: str = "zh") -> Figure:
    """Met share over the evaluated grid (two axes: a heatmap; one axis: bars), best cell marked."""
    rule = rule or next(iter(sz.targets))
    col = f"{rule}_share"
    fig, ax = new_figure((7, 4.5))
    df = sz.cells
    if len(sz.axes) >= 2:
        a, b = sz.axes[0], sz.axes[1]
        grid = np.full((len(b.counts), len(a.counts)), np.nan)
        for _, row in df.iterrows():
            if row[col] is not None and not pd.isna(row[col]):
                grid[b.counts.index(int(row[b.name])), a.counts.index(int(row[a.name]))] = (
                    100 * float(row[col])
                )
        im = ax.imshow(
            grid,
            origin="lower",
            cmap="RdYlGn",
            vmin=max(0.0, float(np.nanmin(grid)) - 5) if np.isfinite(grid).any() else 0,
            vmax=100,
            aspect="auto",
        )
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=8)
        if sz.best:
            ax.scatter(
                [a.counts.index(sz.best[a.name])],
                [b.counts.index(sz.best[b.name])],
                s=900,
                facecolors="none",
                edgecolors="black",
                lw=2,
            )
        ax.set_xticks(range(len(a.counts)))
        ax.set_xticklabels([f"+{k}" for k in a.counts])
        ax.set_yticks(range(len(b.counts)))
        ax.set_yticklabels([f"+{k}" for k in b.counts])
        ax.set_xlabel(a.label(lang))
        ax.set_ylabel(b.label(lang))
        fig.colorbar(im, ax=ax, label=t("plan_fig_share_axis", lang))
    else:
        a = sz.axes[0]
        xs = [int(x) for x in df[a.name]]
        ys = [100 * float(x) for x in df[col]]
        ax.bar(xs, ys, color=["#2ca02c" if m else "#999999" for m in df["meets"]])
        ax.set_xlabel(a.label(lang))
        ax.set_ylabel(t("plan_fig_share_axis", lang))
    ax.set_title(
        t(
            "plan_fig_sizing_title",
            lang,
            rule=rule_name(sz.comparisons[0].scenarios[0], rule, lang) if sz.comparisons else rule,
            target=f"{100 * sz.targets[rule]:g}%",
        )
    )
    fig.tight_layout()
    return fig


def save_figures(
    comp: Comparison, path: str | Path, lang: str = "zh", rule: str = "first_report_3h"
) -> list[Path]:
    """PNG files: shares with error bars at ``path``; differences, ECDF and role load beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    figs = [
        ("", share_figure(comp, lang)),
        ("_diff", diff_figure(comp, lang)),
        ("_load", load_figure(comp, lang)),
    ]
    if rule in comp.applicable_rules() and rule != ALL_MET:
        figs.insert(2, ("_ecdf", ecdf_figure(comp, rule, lang)))
    for suffix, fig in figs:
        target = path.with_name(f"{path.stem}{suffix}{path.suffix or '.png'}")
        fig.savefig(target, metadata={"Software": None})
        out.append(target)
    return out


__all__ = [
    "COLOURS",
    "diff_figure",
    "ecdf_figure",
    "load_figure",
    "save_figures",
    "share_figure",
    "sizing_figure",
    "sweep_figure",
]
