"""Headless Chromium for tests: the rendered DOM, the console's errors, screenshots. No Python packages needed.

Chromium runs with --virtual-time-budget, so a page's scripts (and an SPA's fetches) run to quiet
before the DOM is dumped; console messages come from --enable-logging=stderr. Each call gets a
fresh profile folder. Tests skip when no chromium is installed (`apt-get install chromium`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
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


FIRST_SCREEN_TEXT = """(() => {
  const out = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(node);
    const box = range.getBoundingClientRect();
    if (box.height > 0 && box.top >= 0 && box.bottom <= innerHeight && box.left >= 0 && box.right <= innerWidth)
      out.push(node.textContent);
  }
  return out.join(' ');
})()"""


def first_screen_text(url: str, size: tuple[int, int] = (1400, 1000), expected: str = "",
                      seconds: float = 30) -> str:
    """The text that lies wholly inside the first screen of `size` (no scrolling), once `expected` is on the page
    (or after `seconds`). Chromium's DevTools protocol over --remote-debugging-pipe (JSON messages ended by NUL on
    fds 3 and 4): what a DOM dump cannot say, where on the screen a text is, without a Python CDP package."""
    to_chromium, from_chromium = os.pipe(), os.pipe()

    def wire() -> None:  # the child reads commands on fd 3 and writes answers on fd 4
        os.dup2(to_chromium[0], 3)
        os.dup2(from_chromium[1], 4)

    # chromium's helper processes can still write the profile as the browser exits: cleanup errors are not the test's
    with tempfile.TemporaryDirectory(prefix="chromium-profile-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen([chromium(), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe",
                                    f"--window-size={size[0]},{size[1]}", "about:blank"],
                                   preexec_fn=wire, pass_fds=(3, 4), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        os.close(to_chromium[0])
        os.close(from_chromium[1])
        session = _DevTools(to_chromium[1], from_chromium[0])
        try:
            target = session.call("Target.createTarget", url="about:blank")["targetId"]
            page = session.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            session.call("Emulation.setDeviceMetricsOverride", page, width=size[0], height=size[1],
                         deviceScaleFactor=1, mobile=False)
            session.call("Page.navigate", page, url=url)
            deadline, text = time.monotonic() + seconds, ""
            while time.monotonic() < deadline:
                time.sleep(0.5)
                body = session.call("Runtime.evaluate", page, expression="document.body.innerText",
                                    returnByValue=True)["result"].get("value", "")
                if expected and expected in " ".join(body.split()):
                    time.sleep(1.0)  # let the layout settle
                    break
            text = session.call("Runtime.evaluate", page, expression=FIRST_SCREEN_TEXT,
                                returnByValue=True)["result"].get("value", "")
            return " ".join(text.split())
        finally:
            process.kill()
            process.wait(timeout=30)
            os.close(to_chromium[1])
            os.close(from_chromium[0])


class _DevTools:
    """Just enough of the DevTools protocol: a call and its answer, events skipped."""

    def __init__(self, write_fd: int, read_fd: int):
        self.write_fd, self.read_fd, self.buffer, self.next_id = write_fd, read_fd, b"", 0

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params, **({"sessionId": session} if session else {})}
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def _read(self) -> dict:
        while b"\0" not in self.buffer:
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)
