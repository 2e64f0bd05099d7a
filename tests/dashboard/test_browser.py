"""End to end: `vlaser dashboard` on 127.0.0.1, opened in headless Chromium; the correlation chart and its
r value are on the page; the screenshot is kept under tests/artifacts/."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from tests.dashboard.sweeps import KNOWN

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dashboard exited with {proc.returncode}")
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("dashboard never became healthy")


@pytest.mark.browser
def test_dashboard_renders_correlation_chart_and_r_in_chromium(known_sweep, repo_root, tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "dashboard.log", "w")  # noqa: SIM115 - closed in finally, after the server
    server = subprocess.Popen([sys.executable, "-m", "vlaser", "--params", str(repo_root / "params.yaml"),
                               "dashboard", "--port", str(port), "--reports", str(known_sweep)],
                              cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    from tests.dashboard.browser import Browser

    browser = None
    try:
        _wait_healthy(url, server)
        browser = Browser(tmp_path / "chromium-profile")
        browser.call("Page.enable")
        browser.call("Page.navigate", url=url)
        browser.wait_for("[...document.querySelectorAll('[role=tab]')].some(b => b.innerText.trim() === "
                         "'Correlation')")
        browser.evaluate("[...document.querySelectorAll('[role=tab]')].find(b => b.innerText.trim() === "
                         "'Correlation').click()")
        text = browser.wait_for("document.querySelector('[data-testid=stVegaLiteChart] canvas, "
                                "[data-testid=stVegaLiteChart] svg') && document.body.innerText.includes("
                                "'Pearson r = ') && document.body.innerText")
        time.sleep(2)  # let vega finish painting before the screenshot
        ARTIFACTS.mkdir(exist_ok=True)
        shot = browser.screenshot(ARTIFACTS / "dashboard_correlation.png")
        print(f"screenshot: {shot}")
        variants = sorted(KNOWN)
        x = [np.mean(KNOWN[v][1]) / 20 for v in variants]
        y = [np.mean(KNOWN[v][0]) / 10 for v in variants]
        r = stats.pearsonr(x, y).statistic
        assert f"Pearson r = {r:.3f}" in text
        n_charts = browser.evaluate("document.querySelectorAll('[data-testid=stVegaLiteChart]').length")
        assert n_charts >= 2  # the scatter and the heat map
        assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 10_000
    finally:
        if browser is not None:
            browser.close()
        server.terminate()
        server.wait(timeout=30)
        log.close()

