"""A tiny Chrome DevTools Protocol client over ``--remote-debugging-pipe``: no port, no websocket library.

Chromium reads JSON commands from file descriptor 3 and writes replies and events to descriptor 4, each
message ending with a NUL byte (what Puppeteer's ``pipe: true`` does). Enough for the report's browser test:
open a page, evaluate JavaScript, collect console errors and dialogs, take screenshots.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["Browser", "Page", "find_chromium"]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)


def find_chromium() -> str | None:
    """``$KDBENCH_CHROMIUM``, else the first of chromium, chromium-browser, google-chrome on PATH."""
    named = os.environ.get("KDBENCH_CHROMIUM")
    if named:
        return named if Path(named).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """A headless Chromium with a fresh profile, driven over the debugging pipe. Use as a context manager."""

    def __init__(self, binary: str, *, width: int = 1400, height: int = 1000, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="kdbench-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def place_pipes() -> None:  # in the child: the pipe ends become descriptors 3 and 4
            read_end = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self._process = subprocess.Popen(
            [
                binary,
                *FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=place_pipes,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    # ---- protocol ---------------------------------------------------------------------------------------
    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict:
        """Send a command and wait for its reply (events that arrive meanwhile go to :attr:`events`)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self._record(reply)

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self._record(self._receive(deadline))
            except TimeoutError:
                return

    def _record(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        if event["method"] == "Page.javascriptDialogOpening":  # an open alert() blocks the page: dismiss it
            self.send("Page.handleJavaScriptDialog", {"accept": False}, session=event.get("sessionId"))

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the debugging pipe (it crashed or could not start)")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    # ---- pages ------------------------------------------------------------------------------------------
    def open(self, url: str) -> Page:
        """A new tab on ``url``, loaded (its load event fired), with console and dialogs recorded."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable", session=session)
        page.navigate(url)
        return page

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError):
            self.send("Browser.close")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._to_chrome, self._from_chrome):
            os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser, self.session = browser, session

    def _events(self, method: str) -> list[dict[str, Any]]:
        return [
            e for e in self.browser.events if e.get("sessionId") == self.session and e["method"] == method
        ]

    def navigate(self, url: str) -> None:
        loaded = len(self._events("Page.loadEventFired"))
        self.browser.send("Page.navigate", {"url": url}, session=self.session)
        deadline = time.monotonic() + self.browser.timeout
        while len(self._events("Page.loadEventFired")) == loaded:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading")
            self.browser.pump(0.1)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (promises awaited); a thrown error raises RuntimeError."""
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout} s for {expression!r}")
            self.browser.pump(0.1)

    def errors(self) -> list[str]:
        """Uncaught exceptions, ``console.error`` calls and error log entries, as text."""
        self.browser.pump(0.2)
        found = [
            json.dumps(e["params"]["exceptionDetails"])[:500] for e in self._events("Runtime.exceptionThrown")
        ]
        found += [
            " ".join(str(a.get("value", a.get("description", ""))) for a in e["params"]["args"])
            for e in self._events("Runtime.consoleAPICalled")
            if e["params"]["type"] in ("error", "assert")
        ]
        found += [
            e["params"]["entry"]["text"]
            for e in self._events("Log.entryAdded")
            if e["params"]["entry"]["level"] == "error"
        ]
        return found

    def dialogs(self) -> list[str]:
        """Messages of every alert/confirm/prompt the page opened (each was dismissed at once)."""
        return [e["params"]["message"] for e in self._events("Page.javascriptDialogOpening")]

    def screenshot(self, path: Path, *, clip: tuple[float, float, float, float] | None = None) -> Path:
        """A PNG of the whole page (at most 12,000 px tall), or of ``clip`` = (x, y, width, height)."""
        if clip is None:
            size = self.browser.send("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
            clip = (0, 0, size["width"], min(size["height"], 12000))
        x, y, width, height = clip
        params = {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": x, "y": y, "width": width, "height": height, "scale": 1},
        }
        data = self.browser.send("Page.captureScreenshot", params, session=self.session)["data"]
        path.write_bytes(base64.b64decode(data))
        return path
