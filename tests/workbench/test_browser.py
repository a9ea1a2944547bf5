"""The workbench end to end: ``territory-planner serve`` and the page in headless Chromium.

One planner's session on the demo data (3,000 accounts × 30 reps, the shipped files, the
demo scenario at a 10 s limit so that the test stays short): open it, move an account to
another rep and see both territories' KPIs change, undo and redo, rebalance and see the
proven gap, save under a label and find the run in ``territory-planner runs list``, make
one more edit, restart the server and see every edit kept. The network is off for the
page: any request to another host than the server fails the test. A screenshot is kept
(in ``TP_SCREENSHOT_DIR`` when set, as CI's artifact).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser import CHROMIUM_ARGS, chromium_or_skip

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Serve:
    """``territory-planner serve`` in a child process, as a planner starts it."""

    def __init__(self, args: list[str], env: dict, cwd: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "territory_planner.cli", "serve", *args, "--no-browser"],
                                     cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        deadline = time.time() + 120
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            match = re.search(r"open (http://\S+)", line)
            if match:
                self.url = match.group(1)
                return
        self.stop()
        pytest.fail("serve did not start:\n" + "".join(self.lines))

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl-C in its terminal
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def _open(context, url: str, errors: list[str]):
    """A new page on the workbench, its console errors recorded: (page, its state once ready)."""
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("() => window.workbench && window.workbench.state() !== null")
    page.evaluate("() => window.workbench.ready")
    return page, page.evaluate("() => window.workbench.state()")


def _kpi(page, rep: str, column: str = "potential") -> str:
    return page.locator(f'[data-testid=territory-row][data-rep-id="{rep}"] [data-testid=kpi-{column}]').inner_text()


def _count(page, rep: str) -> int:
    text = page.locator(f'[data-testid=territory-row][data-rep-id="{rep}"] [data-testid=n-accounts]').inner_text()
    return int(text.replace(",", ""))


def _territory_of(page, item: str) -> str:
    return page.evaluate("""(id) => { const s = window.workbench.state(); const i = s.items.ids.indexOf(id);
                                      return s.territories[s.items.territory[i]].rep_id; }""", item)


def test_a_planner_edits_rebalances_saves_and_restarts_without_losing_work(tmp_path):
    executable = chromium_or_skip()
    from playwright.sync_api import expect, sync_playwright

    scenario = tmp_path / "demo.yaml"
    scenario.write_text(f"extends: {ROOT / 'scenarios' / 'demo.yaml'}\nname: demo\n"
                        "solver: {time_limit: 10}\n", encoding="utf-8")
    store = tmp_path / "runs"
    env = {**os.environ, "TERRITORY_PLANNER_STORE": str(store), "PYTHONUNBUFFERED": "1"}
    port = str(_free_port())
    off_server: list[str] = []
    errors: list[str] = []
    server = Serve([str(scenario), "--port", port], env, tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                # bypass_csp: Playwright's wait_for_function evaluates its predicate as a string, which
                # the page's Content-Security-Policy (script-src 'self', no eval) forbids.
                context = browser.new_context(viewport={"width": 1400, "height": 860}, bypass_csp=True)

                def route(route_, request):
                    if request.url.startswith(f"http://127.0.0.1:{port}/"):
                        route_.continue_()
                    else:
                        off_server.append(request.url)
                        route_.abort()

                context.route("**/*", route)
                page, state = _open(context, server.url, errors)
                assert state["items"]["kind"] == "account" and len(state["items"]["ids"]) == 3000
                expect(page.get_by_test_id("gap")).to_contain_text("%")

                # Move one account of the first territory to the second territory's rep.
                source, target = state["territories"][0]["rep_id"], state["territories"][1]["rep_id"]
                item = state["items"]["ids"][state["items"]["territory"].index(0)]
                before = {rep: (_kpi(page, rep), _count(page, rep)) for rep in (source, target)}
                assert page.evaluate("(id) => window.workbench.selectItems([id])", item) == 1
                page.get_by_test_id("move-to").select_option(target)
                page.get_by_test_id("move-button").click()
                expect(page.locator(f'[data-testid=territory-row][data-rep-id="{target}"] [data-testid=n-accounts]')
                       ).to_have_text(str(before[target][1] + 1))
                assert _count(page, source) == before[source][1] - 1
                assert _kpi(page, source) != before[source][0] and _kpi(page, target) != before[target][0]
                assert _territory_of(page, item) == target
                moved = {rep: (_kpi(page, rep), _count(page, rep)) for rep in (source, target)}

                # Undo, then redo.
                page.get_by_test_id("undo").click()
                expect(page.locator(f'[data-testid=territory-row][data-rep-id="{target}"] [data-testid=n-accounts]')
                       ).to_have_text(str(before[target][1]))
                assert {rep: (_kpi(page, rep), _count(page, rep)) for rep in (source, target)} == before
                page.get_by_test_id("redo").click()
                expect(page.locator(f'[data-testid=territory-row][data-rep-id="{target}"] [data-testid=n-accounts]')
                       ).to_have_text(str(moved[target][1]))
                assert {rep: (_kpi(page, rep), _count(page, rep)) for rep in (source, target)} == moved

                # Rebalance around the edit; the moved account stays (it is locked).
                page.get_by_test_id("time-limit").fill("5")
                page.get_by_test_id("rebalance").click()
                expect(page.get_by_test_id("rebalance-state")).to_have_text(re.compile("done", re.I), timeout=60_000)
                expect(page.get_by_test_id("rebalance-gap")).to_contain_text("%")
                expect(page.get_by_test_id("gap")).to_contain_text("%")
                assert _territory_of(page, item) == target
                after_rebalance = page.evaluate("() => window.workbench.state().items.territory")

                # Save under a label; the run is in `runs list`.
                page.get_by_test_id("save-label").fill("e2e board pick")
                page.get_by_test_id("save").click()
                expect(page.locator("[data-testid=run-row]").filter(has_text="e2e board pick")).to_have_count(1)
                listing = subprocess.run([sys.executable, "-m", "territory_planner.cli", "runs", "list"], env=env,
                                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
                assert listing.returncode == 0 and "e2e board pick" in listing.stdout, listing.stdout

                # One more edit, not saved; then the server restarts.
                state = page.evaluate("() => window.workbench.state()")
                second = state["items"]["ids"][state["items"]["territory"].index(2)]
                page.evaluate("(id) => window.workbench.selectItems([id])", second)
                page.get_by_test_id("move-to").select_option(target)
                page.get_by_test_id("move-button").click()
                page.wait_for_function("(id) => { const s = window.workbench.state(); "
                                       "return s.territories[s.items.territory[s.items.ids.indexOf(id)]].rep_id === '"
                                       + target + "'; }", arg=second)
                version = page.evaluate("() => window.workbench.state().draft.version")
                shot = tmp_path / "workbench.png"
                page.screenshot(path=str(shot))
                page.close()
                server.stop()

                server = Serve(["--port", port], env, tmp_path)
                page, state = _open(context, server.url, errors)
                assert state["draft"]["version"] == version
                assert _territory_of(page, item) == target and _territory_of(page, second) == target
                moved_items = [i for i, (a, b) in enumerate(zip(after_rebalance, state["items"]["territory"],
                                                                 strict=True)) if a != b]
                assert [state["items"]["ids"][i] for i in moved_items] == [second]
                assert state["items"]["locked"][state["items"]["ids"].index(second)]
            finally:
                browser.close()
    finally:
        server.stop()
    assert not off_server, f"the page reached beyond the server: {off_server[:3]}"
    assert not errors, errors
    keep = os.environ.get("TP_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, Path(keep) / shot.name)
    assert shot.stat().st_size > 50_000
