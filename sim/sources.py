"""Where every number of a scenario comes from: a measured drill, or an assumption and its reason.

A scenario's durations, probabilities and rates decide the planner's answers. Each carries its
source, written either beside the number (``{dist: triangular, …, source: "…"}``) or in the
file's ``sources:`` block by the number's path (``timing.grading_wrong_prob: "assumption: …"``;
a path's prefix covers the numbers under it, e.g. ``roster.reachability.on_duty``). A number the
file does not give takes drillsim's built-in default, whose source is written here.

A source says ``measured: …`` or ``calibrated: …`` (which drills, how many observations) or
``assumption: …`` (and why). ``drillsim validate --sources`` lists them, assumptions first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sim.plan import TIMING_KEYS
from sim.scenario import STATES, Dist, Scenario

#: Sources of drillsim's built-in defaults, used when a scenario does not give the number.
BUILT_IN: dict[str, str] = {
    "timing.discovery_minutes": "assumption: invigilators notice within a quarter of an hour "
    "of the usual checks (no drill measures discovery: injects start at discovery)",
    "timing.on_site_control_minutes": "assumption: clearing the scene and securing evidence "
    "takes about ten minutes at one exam site",
    "timing.confirm_minutes": "assumption: the working group confirms the nature within ten "
    "minutes of being told",
    "timing.grading_minutes": "assumption: grading against the plan's table takes about twenty "
    "minutes of discussion",
    "timing.grading_late_minutes": "assumption: a late grading is about an hour late (when the "
    "group cannot meet at once)",
    "timing.verbal_report_minutes": "assumption: a verbal report by phone is a five-minute call",
    "timing.written_report_minutes": "assumption: writing a one-page 首报 with its seven items "
    "takes about 45 minutes",
    "timing.body_receive_minutes": "assumption: an outside body picks up a report within five "
    "minutes during office hours",
    "timing.department_relay_minutes": "assumption: the department relays a report up within "
    "a quarter of an hour",
    "timing.inform_minutes": "assumption: informing one person by phone takes three minutes",
    "timing.emergency_state_minutes": "assumption: declaring the emergency state takes ten minutes",
    "timing.dispatch_minutes": "assumption: dispatching a team takes ten minutes",
    "timing.response_minutes": "assumption: the team's work on site takes about two hours",
    "timing.follow_up_minutes": "assumption: a 续报 takes twenty minutes to write and send",
    "timing.final_report_minutes": "assumption: the incident report takes about four hours "
    "after the close",
    "timing.ring_minutes": "assumption: a caller lets a phone ring for a minute and a half",
    "timing.retry_minutes": "assumption: a caller tries the chain again after ten minutes",
    "timing.grading_wrong_prob": "assumption: grading is right unless the scenario says "
    "otherwise (0)",
    "timing.grading_late_prob": "assumption: grading is on time unless the scenario says "
    "otherwise (0)",
    "timing.max_call_rounds": "assumption: a caller works the chain three times before giving up",
}

MEASURED = ("measured", "calibrated")


@dataclass(frozen=True)
class NumberSource:
    """One number (or distribution) of a scenario and where it comes from."""

    path: str
    value: str
    source: str  # "" when none is given

    @property
    def kind(self) -> str:
        """``measured``, ``assumption`` or ``missing``."""
        head = self.source.split(":", 1)[0].strip().lower()
        if not self.source:
            return "missing"
        return "measured" if head in MEASURED else "assumption"


def numbers(scenario: Scenario) -> list[NumberSource]:
    """Every duration, probability and rate the scenario uses, with its source."""
    given = _given(scenario)
    out = []
    for path, value in _values(scenario):
        out.append(NumberSource(path, value, _lookup(given, path, value)))
    return out


def unknown_paths(scenario: Scenario) -> list[str]:
    """``sources:`` paths that name no number of the scenario (a typing error)."""
    paths = [p for p, _ in _values(scenario)]
    return [
        key
        for key in _given(scenario)
        if not any(p == key or p.startswith(key + ".") for p in paths)
    ]


def summary(rows: Iterable[NumberSource]) -> dict[str, int]:
    counts = {"measured": 0, "assumption": 0, "missing": 0}
    for row in rows:
        counts[row.kind] += 1
    return counts


def _given(scenario: Scenario) -> dict[str, str]:
    """Sources as written, with site indices turned into site ids."""
    ids = [s.id for s in scenario.sites]
    out = {}
    for path, text in scenario.sources.items():
        for i, sid in enumerate(ids):
            path = path.replace(f"calendar.sites[{i}]", f"calendar.sites.{sid}")
        out[path] = text
    return out


#: The built-in defaults as :func:`_values` writes them (a file's own value has its own source).
_DEFAULT_TEXT = {
    **{f"timing.{k}": f"{float(v):g}" for k, v in TIMING_KEYS.items()},
    "timing.grading_wrong_prob": "0",
    "timing.grading_late_prob": "0",
    "timing.max_call_rounds": "3",
}


def _lookup(given: dict[str, str], path: str, value: str) -> str:
    parts = path.split(".")
    for n in range(len(parts), 0, -1):  # the number's own source, else its section's
        found = given.get(".".join(parts[:n]))
        if found:
            return found
    return BUILT_IN.get(path, "") if _DEFAULT_TEXT.get(path) == value else ""


def _values(scenario: Scenario) -> list[tuple[str, str]]:
    t = scenario.timing
    out = [(f"timing.{key}", _dist_text(t[key])) for key in TIMING_KEYS]
    out += [
        ("timing.grading_wrong_prob", f"{t.grading_wrong_prob:g}"),
        ("timing.grading_late_prob", f"{t.grading_late_prob:g}"),
        ("timing.max_call_rounds", str(t.max_call_rounds)),
    ]
    out += [(f"timing.bodies.{b}", _dist_text(d)) for b, d in sorted(t.body_receive.items())]
    reach = dict(scenario.roster.reachability)
    for state in STATES:
        if state in reach:
            pre = f"roster.reachability.{state}"
            out.append((f"{pre}.answer_prob", f"{reach[state].answer_prob:g}"))
            out.append((f"{pre}.answer_minutes", _dist_text(reach[state].answer_minutes)))
    for site in scenario.sites:
        out.append((f"calendar.sites.{site.id}.travel_minutes", _dist_text(site.travel_minutes)))
    for fr in scenario.rates:
        pre = f"stochastic.{fr.family}"
        out += [
            (f"{pre}.rate", f"{fr.rate:g}"),
            (f"{pre}.people", _dist_text(fr.people)),
            (f"{pre}.spares_enough_prob", f"{fr.spares_enough_prob:g}"),
            (f"{pre}.time_recoverable_prob", f"{fr.time_recoverable_prob:g}"),
        ]
    return out


def _dist_text(d: Dist) -> str:
    if d.kind == "fixed":
        return f"{d.params[0]:g}"
    return f"{d.kind}(" + ", ".join(f"{p:g}" for p in d.params) + ")"


def listing(scenario: Scenario) -> list[str]:
    """The ``validate --sources`` lines: assumptions and numbers without a source first."""
    rows = numbers(scenario)
    order = {"missing": 0, "assumption": 1, "measured": 2}
    lines = []
    for row in sorted(rows, key=lambda r: (order[r.kind], r.path)):
        lines.append(f"  {row.kind:<11}{row.path:<52}{row.value:<28}{row.source or '—'}")
    c = summary(rows)
    lines.append(
        f"  {len(rows)} numbers: {c['measured']} measured, {c['assumption']} assumptions, "
        f"{c['missing']} without a source"
    )
    return lines


__all__ = ["BUILT_IN", "NumberSource", "listing", "numbers", "summary", "unknown_paths"]
