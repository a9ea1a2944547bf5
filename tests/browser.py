"""Open a local HTML file in headless Debian Chromium with the network off; screenshot it.

Reusable by any test that checks a generated page (maps, reports)::

    from browser import chromium_or_skip, visit, read_png

    chromium = chromium_or_skip()           # pytest.skip with the reason if absent
    page = visit(html_path, tmp_path / "shot.png", evaluate="() => document.title")
    assert not page.network_requests and not page.errors
    width, height, rgb = read_png(page.screenshot)

Every request that is not ``file:`` or ``data:`` is aborted and recorded, so a page that
tries to reach a CDN or tile server fails the test instead of passing by luck.
Playwright drives the Debian ``chromium`` (``playwright install`` cannot download a
browser on these machines; FIELD.md §6). If ``TP_SCREENSHOT_DIR`` is set, screenshots are
copied there as well, for a human to look at.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Page

SKIP_REASON = "Debian chromium not installed: apt-get install chromium (done by .ci/run)"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def chromium_or_skip() -> str:
    """Path of Debian's chromium, or skip the calling test with the reason."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip(SKIP_REASON)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright (python) not installed: pip install -e '.[dev]'")
    return path


@dataclass
class PageVisit:
    """What happened when the page was opened."""

    screenshot: Path
    network_requests: list[str] = field(default_factory=list)  # attempted and aborted
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions
    value: object = None  # result of ``evaluate``
    interaction: object = None  # result of ``interact``

    @property
    def errors(self) -> list[str]:
        return self.console_errors + self.page_errors


def visit(
    html_path: str | Path,
    screenshot_path: str | Path,
    *,
    evaluate: str | None = None,
    interact: Callable[[Page], object] | None = None,
    wait_for: str | None = None,
    viewport: tuple[int, int] = (900, 650),
    settle_ms: int = 400,
    timeout_ms: int = 10_000,
) -> PageVisit:
    """Load ``html_path`` offline, wait for ``wait_for`` (a CSS selector), screenshot it.

    ``evaluate`` is a JavaScript function expression run in the page after it settled;
    its JSON-able result is returned in ``PageVisit.value``. ``interact`` then gets the
    Playwright page (click, hover, read popups); its result is ``PageVisit.interaction``.
    The screenshot is taken before ``interact``, of the page as it opened. Dialogs
    (``alert()``…) are dismissed and recorded as page errors: a page must not raise any.
    """
    from playwright.sync_api import sync_playwright

    executable = chromium_or_skip()
    html_path = Path(html_path).resolve()
    screenshot_path = Path(screenshot_path)
    result = PageVisit(screenshot=screenshot_path)

    def route(route_, request) -> None:
        url = request.url
        if url.startswith(("file:", "data:", "about:")):
            route_.continue_()
        else:
            result.network_requests.append(url)
            route_.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
            context.route("**/*", route)
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            page.on("console", lambda msg: msg.type == "error" and result.console_errors.append(msg.text))
            page.on("pageerror", lambda exc: result.page_errors.append(str(exc)))
            page.on("dialog", lambda d: (result.page_errors.append(f"dialog: {d.message}"), d.dismiss()))
            page.on(
                "requestfailed",
                lambda req: None if req.url.startswith(("file:", "data:")) or req.url in result.network_requests
                else result.network_requests.append(req.url),
            )
            page.goto(html_path.as_uri(), wait_until="load")
            if wait_for:
                page.wait_for_selector(wait_for, state="attached")
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            page.wait_for_timeout(settle_ms)
            if evaluate:
                result.value = page.evaluate(evaluate)
            screenshot_path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot_path))
            if interact:
                result.interaction = interact(page)
        finally:
            browser.close()

    keep = os.environ.get("TP_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy2(screenshot_path, Path(keep) / screenshot_path.name)
    return result


# ------------------------------------------------------------------------- PNG decoding


def read_png(path: str | Path) -> tuple[int, int, np.ndarray]:
    """Decode an 8-bit, non-interlaced RGB/RGBA/grey PNG: (width, height, uint8 (h, w, 3)).

    A tiny decoder (zlib + struct) so tests need no imaging library; enough for browser
    screenshots. Alpha is dropped.
    """
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path} is not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError(f"{path}: no IHDR chunk")
    width, height, depth, color_type, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color_type)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"{path}: only 8-bit non-interlaced grey/RGB/RGBA PNGs are supported")
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:]
        if kind == 0:  # None
            cur = line.copy()
        elif kind == 1:  # Sub: running sum per channel
            cur = np.cumsum(line.reshape(width, channels).astype(np.uint64), axis=0).astype(np.uint8).reshape(-1)
        elif kind == 2:  # Up
            cur = line + prev
        elif kind in (3, 4):
            cur = _unfilter_sequential(kind, line, prev, channels)
        else:
            raise ValueError(f"{path}: bad PNG filter type {kind} in row {y}")
        out[y] = cur
        prev = cur
    pixels = out.reshape(height, width, channels)
    if channels in (1, 2):
        pixels = np.repeat(pixels[:, :, :1], 3, axis=2)
    return width, height, np.ascontiguousarray(pixels[:, :, :3])


def _unfilter_sequential(kind: int, line: np.ndarray, prev: np.ndarray, bpp: int) -> np.ndarray:
    """Average (3) and Paeth (4) filters depend on the byte to the left: a plain loop."""
    cur = bytearray(len(line))
    filt, up = line.tolist(), prev.tolist()
    for i in range(len(filt)):
        left = cur[i - bpp] if i >= bpp else 0
        if kind == 3:
            cur[i] = (filt[i] + ((left + up[i]) >> 1)) & 0xFF
        else:
            upleft = up[i - bpp] if i >= bpp else 0
            p = left + up[i] - upleft
            pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - upleft)
            pred = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else upleft)
            cur[i] = (filt[i] + pred) & 0xFF
    return np.frombuffer(bytes(cur), dtype=np.uint8)


def pixels_near(pixels: np.ndarray, color: tuple[int, int, int], tolerance: int = 6) -> int:
    """How many pixels are within ``tolerance`` of ``color`` in every channel."""
    diff = np.abs(pixels.astype(np.int16) - np.array(color, dtype=np.int16))
    return int((diff.max(axis=2) <= tolerance).sum())


def assert_loads_nothing_from_the_network(text: str) -> None:
    """A generated page's HTML names no http(s) resource: scripts and styles are inlined
    data: URIs, no CDN library, no tile layer (the page must work offline)."""
    import re

    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text, re.I)
    for url in re.findall(r"""<script[^>]*\ssrc\s*=\s*["']?([^"'\s>]+)""", text, re.I):
        assert url.startswith("data:"), url[:80]
    for url in re.findall(r"""<link[^>]*\shref\s*=\s*["']?([^"'\s>]+)""", text, re.I):
        assert url.startswith("data:"), url[:80]
    for name in ("jquery", "bootstrap", "awesome-markers", "fontawesome", "cdn.jsdelivr", "cdnjs"):
        assert name not in text.lower()
    assert "L.tileLayer" not in text
