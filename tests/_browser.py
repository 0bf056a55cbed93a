"""Headless Chromium for tests: the rendered DOM, the console's errors, screenshots. No Python packages needed.

Chromium runs with --virtual-time-budget, so a page's scripts (and an SPA's fetches) run to quiet
before the DOM is dumped; console messages come from --enable-logging=stderr. Each call gets a
fresh profile folder. Tests skip when no chromium is installed (`apt-get install chromium`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]
_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]?\s*\"(?P<message>.*)\", source:")


@dataclass(frozen=True)
class RenderedPage:
    dom: str
    console: list[str]  # every console message, in order

    @property
    def errors(self) -> list[str]:
        """Uncaught exceptions and console messages that report an error."""
        return [m for m in self.console if re.search(r"Uncaught|Error|Failed to load", m)]


def chromium() -> str:
    """The chromium executable; a developer machine without one skips, CI (which installs it) fails."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed: .ci/run installs it (apt-get install -y chromium)")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def render(url: str, budget_ms: int = 8000, timeout: float = 60) -> RenderedPage:
    """The DOM after the page's scripts have run for budget_ms of virtual time."""
    result = _run([f"--virtual-time-budget={budget_ms}", "--dump-dom", url], timeout)
    return RenderedPage(result.stdout, [m["message"] for m in _CONSOLE.finditer(result.stderr)])


def render_until(url: str, expected: list[str], tries: int = 4, budget_ms: int = 6000) -> RenderedPage:
    """Render again (with more virtual time) until every expected string is in the DOM, or give up."""
    page = render(url, budget_ms)
    for attempt in range(1, tries):
        if all(text in page.dom for text in expected):
            break
        page = render(url, budget_ms * (attempt + 1))
    return page


def screenshot(url: str, path: Path, size: tuple[int, int] = (1280, 900), budget_ms: int = 8000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    _run([f"--window-size={size[0]},{size[1]}", f"--virtual-time-budget={budget_ms}", f"--screenshot={path}", url], 60)
    assert path.is_file() and path.stat().st_size > 1000, f"chromium wrote no screenshot at {path}"
    return path


def _run(arguments: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *arguments],
                              capture_output=True, text=True, timeout=timeout, check=False)
