"""A real browser: Debian's Chromium, driven by Playwright, plays a short drill by clicking.

The app is started with README's command (see ``app_server`` in conftest.py). Screenshots of the
console, the projector and the scorecard in both languages go to ``test-artifacts/``.
"""

from __future__ import annotations

import re

import pytest
from conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"),
]

TIMEOUT = 20_000


def settle(page) -> None:
    """Wait until Streamlit has finished the script run the last click started.

    While a run is under way the previous run's elements are marked ``data-stale``; they are
    removed when it ends.
    """
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')",
        timeout=TIMEOUT,
    )


def test_play_a_short_drill_in_chromium(app_server):
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 2000})
            context.set_default_timeout(TIMEOUT)
            expect.set_options(timeout=TIMEOUT)
            page = context.new_page()
            page.goto(f"{app_server.url}/")

            # set up: Chinese by default from the browser's language; a fixed seed
            expect(page.get_by_role("heading", name="应急演练控制台")).to_be_visible(timeout=40_000)
            expect(page.get_by_text("建议考点")).to_be_visible()
            page.get_by_label("组长", exact=True).fill("测试员")
            page.get_by_text("高级选项").click()
            seed = page.get_by_label("随机种子", exact=True)
            seed.fill("3")
            seed.press("Enter")
            settle(page)
            page.get_by_role("button", name="开始演练").click()
            expect(page).to_have_url(re.compile(r"drill=\d+"))
            drill_url = page.url

            # run: the clock to the inject, then act through the menu
            page.get_by_role("button", name="到下一条情况").click()
            expect(page.get_by_text("事件1 · 答卷遗失").first).to_be_visible()
            settle(page)
            page.get_by_role("radio", name="研究确定事件级别").click()
            settle(page)
            page.locator('[data-testid="stRadio"]').get_by_text("Ⅲ级 较大").click()
            settle(page)
            page.get_by_role("button", name="执行").click()
            expect(page.get_by_text("已定级：Ⅲ级 较大")).to_be_visible()
            settle(page)
            page.get_by_role("radio", name="口头报告").click()
            expect(page.get_by_text("报告对象")).to_be_visible()
            settle(page)
            page.get_by_role("button", name="执行").click()
            expect(page.get_by_text(re.compile("已接听|无人接听|占线")).first).to_be_visible()
            settle(page)
            page.get_by_role("radio", name="书面首报").click()
            settle(page)
            page.get_by_label("时间", exact=True).fill("D0 11:45")
            page.get_by_label("地点", exact=True).fill("第一考点第12、13考场")
            page.get_by_label("规模", exact=True).fill("130份答卷")
            settle(page)
            page.get_by_role("button", name="执行").click()
            expect(page.get_by_text("首报缺少").first).to_be_visible()
            settle(page)
            clock = page.get_by_test_id("drill-clock").inner_text()
            page.screenshot(path=str(ARTIFACTS / "drill_running_zh.png"))

            # a refresh resumes the drill exactly where it was
            page.reload()
            expect(page.get_by_text("事件1 · 答卷遗失").first).to_be_visible(timeout=40_000)
            expect(page.get_by_test_id("drill-clock")).to_have_text(clock)

            # the projector: clock, injects, board — no controls
            proj = context.new_page()
            proj.goto(drill_url.replace("/?", "/projector?").replace("/drill?", "/projector?"))
            expect(proj.get_by_role("heading", name="演练投屏")).to_be_visible(timeout=40_000)
            expect(proj.get_by_text(clock).first).to_be_visible()
            expect(proj.get_by_text("首报不得超过3小时")).to_be_visible()
            expect(proj.get_by_role("button", name="执行")).to_have_count(0)
            proj.screenshot(path=str(ARTIFACTS / "projector_zh.png"))
            proj.close()

            # end: the scorecard
            settle(page)
            page.get_by_text("确认结束（结束后不能再操作）").click()
            settle(page)
            page.get_by_role("button", name="结束演练并评分").click()
            expect(page.get_by_role("heading", name="评分表")).to_be_visible()
            expect(page.get_by_text("首报不得超过3小时").first).to_be_visible()
            expect(page.get_by_text("✓ 是")).to_be_visible()  # the team's Ⅲ agrees with the plan
            expect(page.get_by_text(re.compile("的模拟运行更快")).first).to_be_visible()
            settle(page)
            page.screenshot(path=str(ARTIFACTS / "drill_zh.png"))

            # the language switch (a drill opened by its URL starts with the sidebar folded)
            page.get_by_test_id("stExpandSidebarButton").click()
            page.get_by_test_id("stSidebar").get_by_text("English").click()
            expect(page.get_by_role("heading", name="Scorecard")).to_be_visible()
            expect(page.get_by_text("First report within 3 hours").first).to_be_visible()
            expect(page.get_by_text("✓ yes")).to_be_visible()
            settle(page)
            page.screenshot(path=str(ARTIFACTS / "drill_en.png"))
        finally:
            browser.close()
    assert (ARTIFACTS / "drill_zh.png").stat().st_size > 10_000
    assert (ARTIFACTS / "drill_en.png").stat().st_size > 10_000


def test_the_drill_fits_one_laptop_screen(app_server):
    """At 1366×768 the clock, "due next" and the action menu are all in view, unscrolled."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 768})
            context.set_default_timeout(TIMEOUT)
            page = context.new_page()
            page.goto(f"{app_server.url}/")
            page.get_by_role("button", name="Start the drill").click(timeout=40_000)
            expect(page).to_have_url(re.compile(r"drill=\d+"))
            settle(page)
            page.get_by_role("button", name="To next inject").click()
            settle(page)
            page.reload()  # as a trainer opens it: by its URL
            expect(page.get_by_text("Due next")).to_be_visible(timeout=40_000)
            settle(page)

            def in_view(locator) -> bool:
                box = locator.bounding_box()
                return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 768

            assert page.evaluate("window.scrollY") == 0
            assert in_view(page.get_by_text("Actions", exact=True))
            assert in_view(page.locator('[data-testid="stButtonGroup"]').first)  # the menu
            assert in_view(page.get_by_role("button", name="Do it"))
            assert in_view(page.get_by_text("Due next"))
            assert in_view(page.locator("tr[data-status]").first)
            clock = page.get_by_test_id("drill-clock")
            assert in_view(clock) and re.fullmatch(r"\d\d:\d\d", clock.inner_text())
            # the steps with the longest clause and the most fields keep "Do it" in view too
            for name in ("Follow-up report", "Written first report"):
                page.get_by_role("radio", name=name).click()
                settle(page)
                assert page.evaluate("window.scrollY") == 0
                do_it = page.get_by_role("button", name="Do it")
                assert in_view(do_it), (name, do_it.bounding_box())
        finally:
            browser.close()
