#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""A real headless browser on the lab's web pages: Chromium (Debian's package, lab/browser.sh installs it),
driven over the DevTools protocol on a pipe, waiting for a single-page app to show what it should.

    lab/browser_check.py URL --expect TEXT [--expect TEXT ...] [--refuse TEXT ...] [--expect-js EXPRESSION]
                         [--dom FILE] [--screenshot FILE] [--timeout SECONDS] [--authorization-env NAME]

For each page: Chromium (--headless, --no-sandbox when run as root, its own throw-away profile) opens it,
and the page's text (document.body.innerText, what a reader sees, not the HTML source) is read again every
half second until it holds every expected text or the time is up: a wait on what the app renders, not on a
fixed delay; texts it must not show (--refuse: an error panel) are looked for a few seconds after that, once
its last requests have answered. Then its DOM (document.documentElement.outerHTML) and a screenshot (PNG,
1280 x 1000) are saved, found or not, so a failure can be looked at. Exit 0 when every text was found and
none refused, 1 naming what was missing or shown.

A server behind HTTP basic auth (MLflow's basic-auth app): the Authorization header, taken from the
environment variable --authorization-env names (never from the command line), is added by the browser to
each request the page makes to the page's own origin (scheme, host and port), and to no other: the DevTools
Fetch domain pauses those requests only and continues them with the header, as a logged-in user's browser
sends it. The server is not changed in any way.

Lab tooling under lab/, never shipped; Python standard library only.
"""

import argparse
import base64
import fcntl
import json
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WINDOW = (1280, 1000)
POLL_SECONDS = 0.5
# Once every expected text is there, the page goes on loading this long before the texts it must not show
# are looked for: its last requests (an error panel among them) have answered by then.
SETTLE_SECONDS = 3.0


class BrowserError(Exception):
    """The browser could not be started or stopped answering."""


def find_chromium(explicit=None):
    """The browser's path: explicit, $CHROMIUM, then the usual names on PATH; None when there is none."""
    for name in (explicit, os.environ.get("CHROMIUM"), *CANDIDATES):
        if name:
            found = shutil.which(name)
            if found:
                return found
    return None


def origin_of(url):
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Chromium:
    """Chromium with --remote-debugging-pipe: DevTools messages as JSON, each ended by a NUL byte, written to
    its fd 3 and read from its fd 4."""

    def __init__(self, binary, timeout=60.0):
        self.profile = tempfile.mkdtemp(prefix="nixl-efa-browser-")
        args = [
            binary,
            "--headless",
            "--remote-debugging-pipe",
            f"--user-data-dir={self.profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--mute-audio",
            "about:blank",
        ]
        if os.geteuid() == 0:
            # Chromium refuses to run its sandbox as root; the lab runs as root in a machine of its own.
            args.insert(2, "--no-sandbox")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire():
            # In the child: fd 3 reads our commands, fd 4 carries its answers (moved above 10 first, so that
            # neither overwrites the other); dup2 leaves them inheritable. Python opens every other fd
            # non-inheritable, so nothing else reaches the browser.
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        self.process = subprocess.Popen(  # noqa: S603 (a fixed program and flags)
            args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, preexec_fn=wire,  # noqa: PLW1509
            close_fds=False,
        )  # fmt: skip
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.deadline = time.monotonic() + timeout
        self.handlers = {}

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self.next_id

    def _read_message(self, until=None):
        """The next message; None when `until` (a monotonic time) comes first."""
        while b"\0" not in self.buffer:
            now = time.monotonic()
            if now >= self.deadline:
                raise BrowserError("the browser stopped answering (deadline passed)")
            if until is not None and now >= until:
                return None
            wait = min(self.deadline, until if until is not None else self.deadline) - now
            ready = select.select([self._from_browser], [], [], min(wait, 1.0))[0]
            if not ready:
                if self.process.poll() is not None:
                    raise BrowserError(f"the browser exited with status {self.process.returncode}: {self.log_tail()}")
                continue
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"the browser closed its pipe: {self.log_tail()}")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def _dispatch(self, message):
        handler = self.handlers.get(message.get("method"))
        if handler:
            handler(message.get("params", {}), message.get("sessionId"))

    def call(self, method, params=None, session=None):
        """Send a command and return its result, handling the events that arrive meanwhile."""
        wanted = self.send(method, params, session)
        while True:
            message = self._read_message()
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method}: {message['error'].get('message')}")
                return message.get("result", {})
            self._dispatch(message)

    def pump(self, seconds):
        """Handle events (paused requests among them) for this many seconds."""
        until = time.monotonic() + seconds
        while True:
            message = self._read_message(until)
            if message is None:
                return
            self._dispatch(message)

    def log_tail(self, lines=8):
        self.log.seek(0)
        return " | ".join(self.log.read().decode("utf-8", "replace").strip().splitlines()[-lines:])

    def close(self):
        try:
            if self.process.poll() is None:
                self.send("Browser.close")
                self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait(timeout=10)
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)


def _authorize(browser, origin, authorization):
    """Fetch.requestPaused handler: the page's own origin gets the Authorization header, nothing else is paused."""

    def handler(params, session):
        request = params["request"]
        headers = {k: v for k, v in request.get("headers", {}).items() if k.lower() != "authorization"}
        if origin_of(request["url"]) == origin:
            headers["Authorization"] = authorization
        entries = [{"name": k, "value": v} for k, v in headers.items()]
        browser.send("Fetch.continueRequest", {"requestId": params["requestId"], "headers": entries}, session)

    return handler


def _attach_worker(browser, patterns):
    """Target.attachedToTarget handler: a worker's requests are intercepted like the page's, then it starts."""

    def handler(params, _parent):
        session = params["sessionId"]
        if "worker" in params.get("targetInfo", {}).get("type", ""):
            browser.send("Fetch.enable", patterns, session)
        browser.send("Runtime.runIfWaitingForDebugger", {}, session)

    return handler


def evaluate(browser, session, expression):
    """A JavaScript expression's value in the page (None when it throws)."""
    result = browser.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
    if result.get("exceptionDetails"):
        return None
    return result.get("result", {}).get("value")


def page_text(browser, session):
    return str(evaluate(browser, session, "document.body ? document.body.innerText : ''") or "")


def check_pages(pages, binary=None, timeout=90.0, authorization=None):
    """Open each page and wait until its text holds every expected text, or until timeout seconds have passed.

    pages: [{url, expect: [text], expect_js: a JavaScript expression that must become true (optional), refuse:
    [text the page must not show once loaded] (optional), dom: path or None, screenshot: path or None}], in one
    browser, one tab. Returns [{url, found: [text], missing: [text], refused: [text shown that must not be],
    seconds, text_chars}] in the same order.
    """
    binary = find_chromium(binary)
    if not binary:
        raise BrowserError(f"no Chromium found (tried {', '.join(CANDIDATES)}): lab/browser.sh installs Debian's")
    browser = Chromium(binary, timeout=timeout * len(pages) + 60)
    results = []
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        browser.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
            session,
        )
        origins = sorted({origin_of(page["url"]) for page in pages})
        if authorization:
            if len(origins) != 1:
                raise BrowserError(f"the Authorization header goes to one origin only, not to {origins}")
            patterns = {"patterns": [{"urlPattern": origins[0] + "/*"}]}
            browser.handlers["Fetch.requestPaused"] = _authorize(browser, origins[0], authorization)
            browser.call("Fetch.enable", patterns, session)
            # The page's workers (the app's own scripts, its telemetry among them) request on their own: each is
            # attached paused, given the same interception, then let run.
            browser.handlers["Target.attachedToTarget"] = _attach_worker(browser, patterns)
            auto = {"autoAttach": True, "waitForDebuggerOnStart": True, "flatten": True}
            browser.call("Target.setAutoAttach", auto, session)
            browser.call("Target.setAutoAttach", dict(auto, filter=[{"type": "page", "exclude": True}, {}]))
        for page in pages:
            started = time.monotonic()
            browser.call("Page.navigate", {"url": page["url"]}, session)
            expected = list(page["expect"])
            condition = page.get("expect_js")
            text = ""
            while True:
                text = page_text(browser, session)
                missing = [e for e in expected if e not in text]
                if condition and not evaluate(browser, session, condition):
                    missing.append(f"js: {condition}")
                if not missing or time.monotonic() - started > timeout:
                    break
                # The page goes on loading meanwhile: its paused requests are answered while waiting.
                browser.pump(POLL_SECONDS)
            refused = []
            if page.get("refuse"):
                browser.pump(SETTLE_SECONDS)
                text = page_text(browser, session)
                refused = [r for r in page["refuse"] if r in text]
            if page.get("dom"):
                html = browser.call(
                    "Runtime.evaluate",
                    {"expression": "document.documentElement.outerHTML", "returnByValue": True},
                    session,
                )
                pathlib.Path(page["dom"]).write_text(str(html.get("result", {}).get("value") or ""))
            if page.get("screenshot"):
                shot = browser.call("Page.captureScreenshot", {"format": "png"}, session)
                pathlib.Path(page["screenshot"]).write_bytes(base64.b64decode(shot["data"]))
            results.append(
                {
                    "url": page["url"],
                    "found": [e for e in expected + ([f"js: {condition}"] if condition else []) if e not in missing],
                    "missing": missing,
                    "refused": refused,
                    "seconds": round(time.monotonic() - started, 2),
                    "text_chars": len(text),
                }
            )
    finally:
        browser.close()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("url")
    parser.add_argument("--expect", action="append", default=[], help="a text the page must show (repeatable)")
    parser.add_argument("--refuse", action="append", default=[], help="a text the page must not show (repeatable)")
    parser.add_argument("--expect-js", help="a JavaScript expression that must become true, e.g. an image loaded")
    parser.add_argument("--dom", help="save the page's DOM here")
    parser.add_argument("--screenshot", help="save a PNG screenshot here")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the texts (90)")
    parser.add_argument("--authorization-env", help="environment variable holding an Authorization header value")
    parser.add_argument("--chromium", help="the browser (default: $CHROMIUM, then chromium on PATH)")
    args = parser.parse_args(argv)
    authorization = os.environ.get(args.authorization_env) if args.authorization_env else None
    if args.authorization_env and not authorization:
        parser.error(f"{args.authorization_env} is not set")
    page = {"url": args.url, "expect": args.expect, "expect_js": args.expect_js, "refuse": args.refuse,
            "dom": args.dom, "screenshot": args.screenshot}  # fmt: skip
    try:
        (result,) = check_pages([page], args.chromium, args.timeout, authorization)
    except BrowserError as e:
        print(json.dumps({"url": args.url, "error": str(e)}))
        return 2
    print(json.dumps(result))
    return 0 if not result["missing"] and not result["refused"] else 1


if __name__ == "__main__":
    sys.exit(main())
