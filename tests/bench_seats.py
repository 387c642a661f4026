"""Bench: how long one seat's action takes to reach the other screens, in real browsers.

Starts the app (README's command, a fresh store), joins the chief examiner's and the duty
desk's seats in their own Chromium contexts beside the trainer's console, then repeats: the
chief examiner reports verbally to the working group (→ the duty desk's screen rings, → the
trainer's board shows the call), the duty desk answers (→ the call leaves the trainer's board).
Prints the median and the maximum of each delay, and, as the reference measured in the same
run, the seat page's own refresh interval (a change can wait up to one interval to show).

    uv run python tests/bench_seats.py [rounds]      # default 10 rounds = 30 delays
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import CHROMIUM, CHROMIUM_ARGS, serving  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from sim import session as ds  # noqa: E402
from sim.store import DrillStore  # noqa: E402
from ui.seat import REFRESH_SECONDS  # noqa: E402

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "drill_answer_sheet_loss.yaml"


def main(rounds: int = 10) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench_seats_"))
    db = tmp / "drills.sqlite"
    with DrillStore(db) as store:
        drill_id = ds.create_drill(
            store, year=2027, site="site_a", path=SCENARIO, seed=3, lang="zh", players={}
        )
        codes = {s: store.issue_seat_code(drill_id, s) for s in ("duty_desk", "chief_examiner")}
        live = ds.DrillSession.load(store, drill_id)
        live.apply(store, {"kind": "advance", "to": live.drill.upcoming()[0]["at"]})
    seat_delay, trainer_delay, answer_delay = [], [], []
    with serving(db, tmp / "server.log") as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        expect.set_options(timeout=30_000)
        pages = {}
        for who in ("trainer", "duty_desk", "chief_examiner"):
            ctx = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
            pages[who] = ctx.new_page()
        trainer, desk, chief = pages["trainer"], pages["duty_desk"], pages["chief_examiner"]
        trainer.goto(f"{server.url}/?drill={drill_id}")
        for seat, page in (("duty_desk", desk), ("chief_examiner", chief)):
            page.goto(f"{server.url}/seat?drill={drill_id}&seat={seat}")
            page.get_by_label("加入码").fill(codes[seat])
            page.get_by_label("或填写你的姓名").fill(f"玩家{seat[:4]}")
            page.get_by_role("button", name="加入", exact=True).click()
            expect(page.get_by_text(re.compile("持有人："))).to_be_visible(timeout=60_000)
        expect(trainer.get_by_test_id("drill-clock")).to_be_visible(timeout=60_000)
        ringing_desk = desk.get_by_text(re.compile("的电话在响"))
        ringing_board = trainer.get_by_text(re.compile("正在振铃"))
        for _ in range(rounds):
            chief.get_by_test_id("stButtonGroup").get_by_text("口头报告（先口头）").click()
            chief.wait_for_timeout(500)
            chief.get_by_role("button", name="执行").click()
            t0 = time.monotonic()
            expect(ringing_desk.first).to_be_visible()
            seat_delay.append(time.monotonic() - t0)
            expect(ringing_board.first).to_be_visible()
            trainer_delay.append(time.monotonic() - t0)
            desk.get_by_role("button", name="接听").first.click()
            t1 = time.monotonic()
            expect(ringing_board).to_have_count(0)
            answer_delay.append(time.monotonic() - t1)
            expect(ringing_desk).to_have_count(0)
        browser.close()
    every = seat_delay + trainer_delay + answer_delay
    rows = [
        ("delays", len(every)),
        ("seat_action_to_other_seat_median_s", statistics.median(seat_delay)),
        ("seat_action_to_other_seat_max_s", max(seat_delay)),
        ("seat_action_to_trainer_median_s", statistics.median(trainer_delay)),
        ("seat_action_to_trainer_max_s", max(trainer_delay)),
        ("answer_to_trainer_median_s", statistics.median(answer_delay)),
        ("answer_to_trainer_max_s", max(answer_delay)),
        ("all_median_s", statistics.median(every)),
        ("all_max_s", max(every)),
        ("reference_seat_refresh_interval_s", REFRESH_SECONDS),
        ("ratio_median_to_reference", statistics.median(every) / REFRESH_SECONDS),
    ]
    for name, value in rows:
        print(f"{name:<38}{value:.3f}" if isinstance(value, float) else f"{name:<38}{value}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
