"""Seats: the roles of a drill that players take from their own devices.

A seat is one role of the roster (its people's first role): the duty desk, the site's chief
examiner, the office director… A player joins a seat with a one-time code and then *is* that
role for the drill: its people's phones ring on the seat's screen (:class:`sim.model.Ring`),
it takes the procedure's steps its role may take, and it sees its own clocks. A seat nobody
holds is answered by the model's own draws (``unheld``), by the trainer, or played whole by the
automatic policy (``auto``).

Who may take which step follows the plan's ``by``: ``site`` is any of the site's roles (setting
``site_roles``), ``office`` the role acting as the office now (the duty desk during exams), a
role its own people, and the working group's decisions the seats of setting
``working_group_seats``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Who holds a seat: nobody (``unheld``: the model answers its phones by its own draws, the
#: trainer may act for it on the console), a player on their own device, the trainer (its
#: phones ring on the console), or the automatic policy (``auto``: the model answers its
#: phones and the policy takes its steps when they are due, as in a simulated run).
SEAT_MODES = ("unheld", "player", "trainer", "auto")
#: ``working_group_seats`` for a plan file that predates the setting (a stored drill's snapshot).
WORKING_GROUP_SEATS = ("leader", "deputy_leader", "office_director")
#: A join code's letters: no 0/O, 1/I/L, so a code read aloud in a room is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
#: Wrong codes a seat takes before its code is void (the trainer issues a new one).
MAX_CODE_TRIES = 10


@dataclass(frozen=True)
class Seat:
    """One role of a drill: ``id`` is the role, ``people`` the roster people whose phones ring
    there (in roster order), ``roles`` every role they hold (one person may hold several)."""

    id: str
    people: tuple[str, ...]
    roles: frozenset[str]


def drill_seats(scenario, sites: Iterable[str]) -> tuple[Seat, ...]:
    """The seats of a drill at ``sites``: one per first role of the roster's people who are not
    at another site, in the plan's order of roles."""
    sites = set(sites)
    people: dict[str, list] = {}
    for p in scenario.roster.people:
        if p.site is not None and p.site not in sites:
            continue
        people.setdefault(p.role, []).append(p)
    order = list(scenario.plan.roles)
    ranked = sorted(people, key=lambda r: (order.index(r) if r in order else len(order), r))
    return tuple(
        Seat(
            role,
            tuple(p.id for p in people[role]),
            frozenset(r for p in people[role] for r in p.roles),
        )
        for role in ranked
    )


def seats_of(scenario, incidents) -> tuple[Seat, ...]:
    """The seats of a drill with these incidents: the roles at their sites, and the central ones."""
    return drill_seats(scenario, sorted({inc.site for inc in incidents}))


def at_site(plan, seat: Seat) -> bool:
    """Whether the seat is one of the exam site's own (setting ``site_roles``)."""
    return bool(seat.roles & set(plan.setting("site_roles")))


def working_group_seats(plan) -> tuple[str, ...]:
    """The seats that take the working group's own steps (setting ``working_group_seats``)."""
    setting = plan.settings.get("working_group_seats")
    return tuple(setting.value) if setting is not None else WORKING_GROUP_SEATS


def can_take(plan, seat: Seat, step, office_role: str) -> bool:
    """Whether ``seat`` may take ``step`` (its ``by``) while ``office_role`` acts as the office."""
    by = step.by
    if by == "site":
        return at_site(plan, seat)
    if by == "office":
        return office_role in seat.roles
    if by == "working_group":
        return seat.id in working_group_seats(plan)
    return by in seat.roles


def seat_of(seats: Iterable[Seat], pid: str) -> Seat | None:
    """The seat where ``pid``'s phone rings."""
    return next((s for s in seats if pid in s.people), None)


def seat_rules(plan, seat: Seat, office_role: str) -> list[str]:
    """The rules whose clocks the seat's own steps stop (its clocks on its screen)."""
    out: list[str] = []
    for step in plan.procedure:
        if step.kind == "event" or not can_take(plan, seat, step, office_role):
            continue
        out.extend(r for r in step.clocks if r in plan.rules and r not in out)
    return out


# -- join codes ---------------------------------------------------------------------------------


def new_join_code() -> str:
    """A short one-time code a player types to take a seat (from :mod:`secrets`)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(text: Any) -> str:
    """A typed code as compared: upper case, no spaces or dashes."""
    return "".join(str(text or "").split()).replace("-", "").upper()[:32]


def new_token() -> str:
    """A seat's session token, kept in its page's address so a refresh resumes the seat."""
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """What the store keeps of a token (never the token itself)."""
    return hashlib.sha256(str(token).encode("utf-8")).hexdigest()


__all__ = [
    "CODE_ALPHABET",
    "MAX_CODE_TRIES",
    "SEAT_MODES",
    "Seat",
    "at_site",
    "can_take",
    "drill_seats",
    "new_join_code",
    "new_token",
    "normal_code",
    "seat_of",
    "seat_rules",
    "seats_of",
    "token_hash",
    "working_group_seats",
]
