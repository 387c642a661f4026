"""Seats in a real browser: three Chromium contexts — the trainer, the duty desk and the chief
examiner — play a short drill on the app started by README's command, then the server is
restarted mid-drill and every seat resumes.

The delay from one seat's action to another seat's screen is measured here and written to
``test-artifacts/seat_delays.json`` (the note's timing figures come from
``uv run python tests/bench_seats.py``, which repeats it).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _free_port, serving

from sim import session as ds
from sim.i18n import label
from sim.store import DrillStore

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "drill_answer_sheet_loss.yaml"
TIMEOUT = 20_000


def settle(page) -> None:
    page.wait_for_timeout(200)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')",
        timeout=TIMEOUT,
    )


def join(page, url: str, code: str, name: str, words: dict[str, str]) -> None:
    page.goto(url)
    page.get_by_label(words["code"]).fill(code)
    page.get_by_label(words["name"]).fill(name)
    page.get_by_role("button", name=words["join"], exact=True).click()


def _pill(page, text: str):
    return page.get_by_test_id("stButtonGroup").get_by_text(text, exact=True)


def _code(db: Path, drill_id: int, seat: str, wait_s: float) -> str | None:
    """The seat's unused join code in the store, waiting up to ``wait_s`` for one."""
    deadline = time.monotonic() + wait_s
    while True:
        with DrillStore(db) as store:
            code = (store.seats(drill_id).get(seat) or {}).get("code")
        if code or time.monotonic() > deadline:
            return code
        time.sleep(0.2)


def _written(db: Path, drill_id: int) -> bool:
    """Whether the chief examiner's seat has stored its written first report."""
    with DrillStore(db) as store:
        return any(
            a["payload"].get("seat") == "chief_examiner"
            and a["payload"].get("step") == "written_report"
            for a in store.actions(drill_id)
        )


def test_three_devices_play_a_drill_and_resume_after_a_restart(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    db, log, port = tmp_path / "drills.sqlite", tmp_path / "server.log", _free_port()
    with DrillStore(db) as store:
        drill_id = ds.create_drill(
            store, year=2027, site="site_a", path=SCENARIO, seed=3, lang="zh", players={}
        )
        chief_code = store.issue_seat_code(drill_id, "chief_examiner")
        live = ds.DrillSession.load(store, drill_id)
        scenario = live.scenario
        iid = next(iter(live.drill.incidents))
        grade_words = [
            label(scenario.plan, "grades", live.drill.true_grade(iid), lang)
            for lang in ("zh", "en")
        ]
    phones = [p.phone for p in scenario.roster.people if p.phone]
    zh = {"code": "加入码", "name": "或填写你的姓名", "join": "加入"}
    en = {"code": "Join code", "name": "Or type your name", "join": "Join"}
    delays: dict[str, float] = {}

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        expect.set_options(timeout=TIMEOUT)
        contexts = []

        def context(locale: str):
            ctx = browser.new_context(locale=locale, viewport={"width": 1366, "height": 768})
            ctx.set_default_timeout(TIMEOUT)
            contexts.append(ctx)
            return ctx.new_page()

        try:
            with serving(db, log, port) as server:
                base = server.url
                trainer, desk, chief = context("zh-CN"), context("zh-CN"), context("en-US")

                # the trainer gives the duty desk a code on the console's seat panel
                trainer.goto(f"{base}/?drill={drill_id}")
                expect(trainer.get_by_test_id("drill-clock")).to_be_visible(timeout=40_000)
                trainer.get_by_text("席位与玩家设备（勿投屏）").click()
                settle(trainer)
                trainer.get_by_test_id("stSelectbox").filter(has_text="管理席位").click()
                trainer.get_by_role("option", name="考务指挥中心值班").click()
                settle(trainer)
                desk_code = None
                for _ in range(3):  # a click landing while the panel redraws can be lost
                    settle(trainer)
                    trainer.get_by_role("button", name="生成新加入码").click()
                    desk_code = _code(db, drill_id, "duty_desk", wait_s=8)
                    if desk_code:
                        break
                assert desk_code, "the panel issued no code"
                expect(trainer.get_by_text(f"加入码：{desk_code}")).to_be_visible()
                link = trainer.get_by_text(re.compile(r"/seat\?drill=")).first.inner_text()
                assert f"drill={drill_id}" in link and "seat=duty_desk" in link

                # two seats join on their own devices
                join(desk, f"{base}/seat?drill={drill_id}&seat=duty_desk", desk_code, "张晓明", zh)
                expect(desk.get_by_text("持有人：张晓明")).to_be_visible(timeout=40_000)
                desk_url = desk.url
                assert "t=" in desk_url
                join(
                    chief,
                    f"{base}/seat?drill={drill_id}&seat=chief_examiner&lang=en",
                    chief_code,
                    "Li Hong",
                    en,
                )
                expect(chief.get_by_text("Held by Li Hong")).to_be_visible(timeout=40_000)
                chief_url = chief.url

                # a seat cannot open another seat's page without its code
                other = context("zh-CN")
                token = re.search(r"[?&]t=([^&]+)", desk_url).group(1)
                other.goto(f"{base}/seat?drill={drill_id}&seat=chief_examiner&t={token}")
                expect(other.get_by_label("加入码")).to_be_visible(timeout=40_000)
                assert "事件" not in other.inner_text("body").replace("事件与通报", "")
                expect(other.get_by_text("Held by Li Hong")).to_have_count(0)

                # the trainer runs the clock to the inject; the chief examiner's seat sees it
                settle(trainer)
                trainer.get_by_role("button", name="到下一条情况").click()
                expect(chief.get_by_text(re.compile("Incident 1")).first).to_be_visible()
                expect(desk.get_by_text("还没有事件通报到本席位", exact=False)).to_be_visible()

                # the chief examiner reports verbally to the working group: the desk rings
                settle(chief)
                _pill(chief, "Verbal report (verbal first)").click()
                settle(chief)
                chief.get_by_role("button", name="Do it").click()
                clicked = time.monotonic()
                ringing = desk.get_by_text(re.compile("值班员甲（白班）的电话在响"))
                expect(ringing).to_be_visible()
                delays["action_to_other_seat_s"] = round(time.monotonic() - clicked, 2)
                expect(trainer.get_by_text(re.compile("正在振铃")).first).to_be_visible()
                delays["action_to_trainer_s"] = round(time.monotonic() - clicked, 2)
                desk.screenshot(path=str(ARTIFACTS / "seat_ringing_zh.png"))

                # the duty desk answers: the report reaches the office
                desk.get_by_role("button", name="接听").click()
                clicked = time.monotonic()
                expect(ringing).to_have_count(0)
                expect(desk.get_by_text(re.compile("事件1")).first).to_be_visible()
                expect(trainer.get_by_text(re.compile("正在振铃"))).to_have_count(0)
                delays["answer_to_trainer_s"] = round(time.monotonic() - clicked, 2)

                # the seats never show the plan's grade or a phone number
                for page in (desk, chief):
                    html = page.content()
                    assert not any(g in html for g in grade_words), "a seat shows the grade"
                    assert not any(ph in html for ph in phones), "a seat shows a phone number"
                chief.screenshot(path=str(ARTIFACTS / "seat_chief_en.png"))

            # the server restarts mid-drill: every seat resumes where it was
            with serving(db, log, port):
                for page, held in ((desk, "持有人：张晓明"), (chief, "Held by Li Hong")):
                    page.reload()
                    expect(page.get_by_text(held)).to_be_visible(timeout=40_000)
                    expect(page.get_by_text(re.compile("Incident 1|事件1")).first).to_be_visible()
                assert desk.url == desk_url and chief.url == chief_url
                trainer.reload()
                expect(trainer.get_by_test_id("drill-clock")).to_be_visible(timeout=40_000)
                # the written first report from the chief examiner's seat after the restart
                settle(chief)
                _pill(chief, "Written first report").click()
                settle(chief)
                chief.get_by_role("button", name="Do it").click()
                settle(chief)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and not _written(db, drill_id):
                    time.sleep(0.2)
        finally:
            for ctx in contexts:
                ctx.close()
            browser.close()

    with DrillStore(db) as store:
        live = ds.DrillSession.load(store, drill_id)
        calls = [(a.target, a.outcome) for a in live.drill.records if a.action == "call"]
        assert ("duty_day", "answered") in calls
        seats = [d.get("seat") for d in live.drill.decisions if d.get("kind") == "answer"]
        assert seats == ["duty_desk"]
        assert any(
            d.get("seat") == "chief_examiner" and d.get("step") == "written_report"
            for d in live.drill.decisions
        )
    (ARTIFACTS / "seat_delays.json").write_text(json.dumps(delays, indent=2))
    assert delays["action_to_other_seat_s"] < 10
