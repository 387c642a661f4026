"""Commands over the drill store: ``drills``, ``drill-auto``, ``report`` and ``check-store``.

``python -m sim drills [--json]`` lists the stored drills (typed titles withheld as the exports
withhold them, unless ``--include-contacts``); ``python -m sim drill-auto SCENARIO
--site SITE --year YEAR`` stores a reference drill played by the plan-compliant policy;
``python -m sim report DRILL_ID --format pdf|html|md|csv|xlsx`` writes the after-action report,
without contact details unless ``--include-contacts``, encrypted with age when ``--encrypt-to``
(a recipient's public key, repeatable) or ``--passphrase-env VAR`` is given;
``python -m sim check-store`` checks the file (SQLite's integrity and foreign-key checks, every
record readable): exit 0 when sound, 2 when damaged. The store is ``--db PATH``, else
``DRILLSIM_DB``, else a file in the user's data folder (``~`` expanded in either). A store that
cannot be written is listed and read; every store problem (locked, read-only, damaged, not a
database) is one line naming the file, exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from sim.cli import UsageError

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


def db_path(args: argparse.Namespace) -> Path:
    """The store's path: ``--db``, else ``DRILLSIM_DB``, else the user's data folder; ``~``
    expanded (a quoted ``'~/x.db'`` never makes a ``./~`` folder)."""
    from sim.store import default_db_path, expand_path

    if getattr(args, "db", None):
        return expand_path(args.db)
    if os.environ.get("DRILLSIM_DB"):
        return expand_path(os.environ["DRILLSIM_DB"])
    return Path(default_db_path())


def open_store(args: argparse.Namespace):
    """The store named by ``--db`` (opened read-only when it cannot be written); a store that
    cannot be opened is a one-line error naming the file (a StoreError is a UsageError)."""
    from sim.store import DrillStore, StoreError

    path = db_path(args)
    try:
        return DrillStore(path)
    except StoreError as exc:
        if str(path) in str(exc):
            raise
        raise UsageError(f"{path}: {exc}") from None


def _store_call(fn, *a, **kw):
    """Call the store; its errors (and the values it refuses) become one-line usage errors."""
    from sim.store import StoreError

    try:
        return fn(*a, **kw)
    except StoreError:
        raise  # already one line naming the file, and a UsageError
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def scenario_path(name: str) -> Path:
    """A scenario file: a path, or a shipped scenario's name (``drill_leak`` or ``drill_leak.yaml``)."""
    p = Path(name)
    if p.is_file():
        return p
    for candidate in (SCENARIO_DIR / name, SCENARIO_DIR / f"{name}.yaml"):
        if candidate.is_file():
            return candidate
    raise UsageError(f"{name}: no such scenario file (give a path or a name from {SCENARIO_DIR})")


# -- drills -------------------------------------------------------------------------------------


def cmd_drills(args: argparse.Namespace) -> int:
    """List the drills; a damaged one is named by its id (and why) and the others still show."""
    store = open_store(args)
    rows = _store_call(store.list_drills, args.year)
    damaged = {d["id"]: d["problem"] for d in _store_call(store.damaged, args.year)}
    show = bool(getattr(args, "include_contacts", False))
    out = [
        {
            "id": int(r["id"]),
            "year": r.get("year"),
            "site": r.get("site"),
            "kind": r.get("kind") or "team",
            "status": r.get("status"),
            "scenario": r.get("scenario_name"),
            "title": _listed_title(store, r, show),
            "actions": r.get("n_actions", 0),
            "damaged": damaged.get(int(r["id"])),
        }
        for r in rows
    ]
    listed = {r["id"] for r in out}
    unreadable = [
        dict.fromkeys(_LISTED_KEYS) | {"id": i, "damaged": p}
        for i, p in damaged.items()
        if i not in listed
    ]
    if damaged:
        ids = ", ".join(str(i) for i in damaged)
        print(
            f"warning: {store.path}: {len(damaged)} damaged drill(s) (id {ids}); the others are"
            f" listed; see drillsim check-store --db {store.path}",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(out + unreadable, ensure_ascii=False, indent=2))
        return 0
    if not out and not unreadable:
        print("no drills stored")
        return 0
    print(
        f"{'id':>5}  {'year':<6}{'site':<12}{'kind':<6}{'status':<11}{'actions':>8}  scenario / title"
    )
    for r in out:
        name = r["scenario"] or ""
        if r["title"]:
            name += f" — {r['title']}"
        print(
            f"{r['id']:>5}  {r['year']!s:<6}{r['site'] or '':<12}{r['kind']:<6}{r['status'] or '':<11}{r['actions']:>8}  {name}"
        )
        if r["damaged"]:
            print(f"{'':>5}  damaged: {r['damaged']}")
    for r in unreadable:
        print(f"{r['id']:>5}  damaged: {r['damaged']}")
    return 0


_LISTED_KEYS = ("id", "year", "site", "kind", "status", "scenario", "title", "actions", "damaged")


def _listed_title(store, row: dict, include_contacts: bool) -> str:
    """A drill's typed title as the exports show it: phone numbers, e-mail addresses and the
    names of the roster, the players and the evaluators withheld unless contacts are asked for."""
    from sim.report import redactor_for

    title = row.get("title") or ""
    if not title or include_contacts:
        return title
    try:
        evaluation = store.evaluation(int(row["id"]))
    except Exception:  # noqa: BLE001 - an unreadable evaluation only loses its evaluators' names
        evaluation = None
    return redactor_for(row, "en", evaluation=evaluation)(title)


# -- drill-auto ---------------------------------------------------------------------------------


def cmd_drill_auto(args: argparse.Namespace) -> int:
    """Store a reference drill: the scenario's incidents moved to SITE, played by the automatic policy."""
    from sim.cli import MAX_SEED, check_count
    from sim.drill import scenario_from_text, snapshot_text
    from sim.i18n import t
    from sim.labels import verdict_lines
    from sim.scenario import load_scenario
    from sim.session import reference_drill

    check_count("--seed", args.seed, 0, MAX_SEED, "MAX_SEED")
    path = scenario_path(args.scenario)
    scenario = load_scenario(path)
    site_ids = [s.id for s in scenario.sites]
    if args.site not in site_ids:
        raise UsageError(
            f"--site: {args.site!r} is not a site of {path.name} (sites: {', '.join(site_ids)})"
        )
    if args.year is None:  # the season the scenario rehearses, as the drill page defaults to
        from sim.session import this_year

        args.year = this_year(scenario)
    if not 1900 <= args.year <= 2200:
        raise UsageError(f"--year: {args.year} is not a plausible year")
    if not scenario.incidents:
        raise UsageError(
            f"{path.name}: no scripted incidents (a season scenario cannot be a drill)"
        )
    incidents = [replace(inc, site=args.site) for inc in scenario.incidents]
    text = snapshot_text(path, incidents)
    played = scenario_from_text(text, path.name)
    card = reference_drill(played, args.seed)
    store = open_store(args)
    # the drill and its result in one transaction: a kill in between leaves neither
    drill_id = _store_call(
        store.create_drill,
        year=args.year,
        site=args.site,
        scenario_name=scenario.name,
        scenario_text=text,
        seed=args.seed,
        lang=args.lang,
        players=None,
        title=args.title or "",
        kind="auto",
        result=card.to_dict(),
    )
    if args.json:
        print(json.dumps({"id": drill_id, "counts": card.counts}, ensure_ascii=False))
    else:
        site = next((x for x in played.sites if x.id == args.site), None)
        site_name = (site.name_zh if args.lang == "zh" else site.name_en) if site else ""
        title = played.name_zh if args.lang == "zh" else played.name_en
        print(
            t(
                "cli_drill_auto_stored",
                args.lang,
                id=drill_id,
                scenario=title or scenario.name,
                site=site_name or args.site,
                year=args.year,
                seed=args.seed,
            )
        )
        lines = verdict_lines(
            card.verdicts,
            args.lang,
            played.plan,
            incidents=played.incidents,
            grades=card.true_grades,
        )
        print("\n".join(lines))
    return 0


# -- report -------------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    from sim.crypto import CryptoError, parse_recipient
    from sim.report import ReportError, build_report, file_name, render, to_markdown

    check_drill_id(args.drill_id)
    recipients = list(args.encrypt_to or [])
    passphrase = None
    if args.passphrase_env:
        passphrase = os.environ.get(args.passphrase_env)
        if not passphrase:
            raise UsageError(
                f"--passphrase-env: environment variable {args.passphrase_env} is not set or empty"
            )
    if recipients and passphrase:
        raise UsageError("encrypt either to --encrypt-to keys or with --passphrase-env, not both")
    try:
        for key in recipients:
            parse_recipient(key)
    except CryptoError as exc:
        raise UsageError(f"--encrypt-to: {exc}") from None
    encrypted = bool(recipients or passphrase)
    if args.include_contacts and not encrypted:
        print(
            "warning: this export holds contact details; encrypt it before e-mailing it",
            file=sys.stderr,
        )

    store = open_store(args)
    try:
        report = _store_call(
            build_report, store, args.drill_id, args.lang, include_contacts=args.include_contacts
        )
    except ReportError as exc:
        raise UsageError(str(exc)) from None

    out = Path(args.out).expanduser() if args.out and args.out != "-" else None
    try:
        if out is not None and out.is_dir():
            out = out / file_name(report, args.format, encrypted)
        elif out is None and args.out != "-":
            out = Path(file_name(report, args.format, encrypted))
    except OSError as exc:  # e.g. a name too long, a folder that cannot be searched
        raise UsageError(f"--out: cannot use {args.out} ({_reason(exc)})") from None

    chart_file = None
    if args.format == "md" and out is not None and not encrypted:
        # the chart as a PNG beside the Markdown file (a data: URI when it must stay one file)
        chart_file = out.with_name(out.stem + "-timeline.png")
        data = to_markdown(report, chart_href=chart_file.name).encode("utf-8")
    else:
        data = render(report, args.format)
    if encrypted:
        from sim.crypto import encrypt

        try:
            data = encrypt(data, recipients or None, passphrase, armored=args.armor)
        except CryptoError as exc:
            raise UsageError(str(exc)) from None

    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        if chart_file is not None:
            chart_file.write_bytes(report.chart_png)
    except OSError as exc:
        raise UsageError(f"--out: cannot write {out} ({_reason(exc)})") from None
    print(str(out))
    return 0


def _reason(exc: OSError) -> str:
    """An OS error in a few words (``strerror`` is None for some errors)."""
    return exc.strerror or str(exc) or type(exc).__name__


def check_drill_id(value: int) -> None:
    """A drill id SQLite can hold (1 .. MAX_ID), else a one-line UsageError."""
    from sim.store import MAX_ID

    if not 1 <= value <= MAX_ID:
        shown = (
            str(value)
            if len(str(value)) <= 25
            else f"{str(value)[:22]}… ({len(str(value))} digits)"
        )
        raise UsageError(
            f"drill id {shown}: not a drill id (ids are whole numbers from 1 to {MAX_ID})"
        )


# -- check-store ----------------------------------------------------------------------------------


def cmd_check_store(args: argparse.Namespace) -> int:
    """Check the store file without changing it: one line when sound (exit 0), else a line per
    problem on stderr (exit 2)."""
    from sim.store import check_store

    ok, lines = check_store(db_path(args))
    for line in lines:
        print(line, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 2


def _lang(value: str) -> str:
    if value not in ("zh", "en"):
        raise argparse.ArgumentTypeError("use zh or en")
    return value


def add_commands(sub) -> None:
    """Register ``drills``, ``drill-auto``, ``report`` and ``check-store`` on the ``python -m
    sim`` parser."""
    from sim.limits import REPORT_FORMATS as FORMATS

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--db", help="drill store file (default: $DRILLSIM_DB or the user's data folder)"
        )

    p = sub.add_parser("drills", help="list the stored drills, newest first")
    db_option(p)
    p.add_argument("--year", type=int, default=None, help="only this year's drills")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--include-contacts",
        action="store_true",
        help="show typed titles as typed (phone numbers and names are withheld by default)",
    )
    p.set_defaults(func=cmd_drills)

    p = sub.add_parser(
        "drill-auto", help="store a reference drill played by the plan-compliant policy"
    )
    p.add_argument(
        "scenario",
        help="scenario file, or a shipped scenario's name (e.g. drill_answer_sheet_loss)",
    )
    p.add_argument(
        "--site",
        required=True,
        help="the exam site the drill is held at (its incidents move there)",
    )
    p.add_argument(
        "--year",
        type=int,
        default=None,
        help="the programme year (default: the year of the scenario's exam calendar)",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")
    p.add_argument(
        "--lang",
        type=_lang,
        default="zh",
        help="the drill's language, and the verdicts' (default %(default)s)",
    )
    p.add_argument("--title", default="", help="a short title")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the new drill's id and its counts per status code as JSON",
    )
    db_option(p)
    p.set_defaults(func=cmd_drill_auto)

    p = sub.add_parser("report", help="write a drill's after-action report (optionally encrypted)")
    p.add_argument("drill_id", type=int)
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="pdf",
        help="default %(default)s; csv and xlsx hold the action log",
    )
    p.add_argument("--lang", type=_lang, default="zh", help="zh or en (default %(default)s)")
    p.add_argument(
        "--out",
        help="file or folder to write (default: a name in the current folder; - for stdout)",
    )
    p.add_argument(
        "--include-contacts", action="store_true", help="keep phone numbers and participants' names"
    )
    p.add_argument(
        "--encrypt-to",
        action="append",
        metavar="KEY",
        help="encrypt with age to this public key (age1… or ssh-ed25519 …); repeat for more recipients",
    )
    p.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="encrypt with age using the passphrase in environment variable VAR",
    )
    p.add_argument(
        "--armor", action="store_true", help="ASCII-armored age output (for pasting into a mail)"
    )
    db_option(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "check-store",
        help="check the drill store file (integrity, foreign keys, every record readable)",
    )
    db_option(p)
    p.set_defaults(func=cmd_check_store)
