"""Bench: click-to-render time of the drill page's interactions, in a real browser.

Starts the app (the README's command, on a free port, with a fresh drill record), opens the
drill page at 1366×768 in zh-CN and en-US, starts the shipped drill and times each click —
clock steps, choosing an action, doing it — until the page has rendered again. Prints the median
and the maximum, and, as the reference measured in the same run, the median of a bare rerun
(the page reloaded with nothing to do), so figures from a loaded machine can be compared.

    uv run python tests/bench_pages.py            # needs /usr/bin/chromium (./run-tests installs it)
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout_s: float = 60.0) -> None:
    """Until the server answers its health check."""
    from urllib.error import URLError
    from urllib.request import urlopen

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (URLError, OSError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)


def _settled(page: Page) -> None:
    """Until Streamlit has no script running and nothing on the page is stale."""
    page.wait_for_timeout(100)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')",
        timeout=30_000,
    )


SLOWEST: list[tuple[float, str]] = []


def _timed(page: Page, click, out: list[float], what: str = "", target=None) -> None:
    """Time ``click`` to the page rendered again. ``target`` (the locator clicked) is first
    waited for until it can take a click — after a reload the page keeps settling (fonts,
    layout) for a second or two, and a trainer cannot click before: that is page load, not
    the click's own time."""
    if target is not None:
        target.click(trial=True)
    t0 = time.perf_counter()
    click()
    _settled(page)
    out.append(time.perf_counter() - t0)
    SLOWEST.append((out[-1], what))


def bench(url: str) -> dict[str, float]:
    clicks: list[float] = []
    reruns: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        for locale in ("zh-CN", "en-US"):
            ctx = browser.new_context(locale=locale, viewport={"width": 1366, "height": 768})
            page = ctx.new_page()
            page.goto(url + "/")
            page.wait_for_selector("[data-testid='stButton']", timeout=60_000)
            _settled(page)
            page.get_by_role("button", name=re.compile("开始演练|Start the drill")).click()
            page.wait_for_url(re.compile(r"drill=\d+"))
            _settled(page)
            for _ in range(3):
                _timed(page, page.reload, reruns)
            step = page.get_by_role("button", name=re.compile("到下一条情况|To next inject"))
            _timed(page, step.click, clicks, f"{locale} next inject", step)
            for label in ("+5", "+15", "+5", "+15"):
                button = page.get_by_role("button", name=re.compile(re.escape(label))).first
                _timed(page, button.click, clicks, f"{locale} {label}", button)
            menu = page.locator("[data-testid='stButtonGroup'] button")
            for k in range(min(menu.count(), 6)):
                _timed(
                    page, menu.nth(k).click, clicks, f"{locale} choose action {k + 1}", menu.nth(k)
                )
                do_it = page.get_by_role("button", name=re.compile("^(执行|Do it)$"))
                _timed(page, do_it.click, clicks, f"{locale} do action {k + 1}", do_it)
            ctx.close()
        browser.close()
    return {
        "interactions": len(clicks),
        "median_s": round(statistics.median(clicks), 3),
        "max_s": round(max(clicks), 3),
        "reference_bare_rerun_median_s": round(statistics.median(reruns), 3),
        "ratio_median_to_reference": round(
            statistics.median(clicks) / statistics.median(reruns), 2
        ),
        "slowest": ", ".join(f"{w} {t:.2f}s" for t, w in sorted(SLOWEST, reverse=True)[:3] if w),
    }


def main() -> None:
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DRILLSIM_DB": str(Path(tmp) / "bench.db")}
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for(url + "/_stcore/health")
            figures = bench(url)
        finally:
            server.terminate()
            server.wait(timeout=30)
    for key, value in figures.items():
        print(f"{key:<36}{value}")


if __name__ == "__main__":
    main()
