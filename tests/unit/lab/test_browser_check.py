# -*- coding: utf-8 -*-
"""lab/browser_check.py with a real headless Chromium (Debian's package; `make unit` installs it through
lab/browser.sh) against a small single-page app on loopback behind HTTP basic auth.

The app's HTML holds nothing to read: its script fetches the figures after a delay and writes them into the
page, a worker of its own fetches too, and it loads one image from another origin. The check must wait for
the rendered text (not the HTML source), authorize every request of the page's origin (the worker's too)
with the header taken from the environment, send it to no other origin, and save the DOM and a screenshot
whether the texts were found or not.
"""

import base64
import contextlib
import http.server
import importlib.util
import json
import os
import pathlib
import struct
import subprocess
import sys
import threading

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SPEC = importlib.util.spec_from_file_location("browser_check", ROOT / "lab" / "browser_check.py")
browser_check = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(browser_check)

AUTHORIZATION = "Basic " + base64.b64encode(b"admin:Pw-browser-0123").decode()
PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

PAGE = """<!doctype html><html><head><title>app</title></head><body><div id="root">loading</div>
<img id="other" src="{other}/pixel.png">
<script>
setTimeout(async () => {{
  const data = await (await fetch("/api/run")).json();
  document.getElementById("root").innerText = "Metrics: " + data.metrics.join(", ");
  const extras = await fetch("/api/extras");
  if (!extras.ok) {{
    setTimeout(() => document.body.appendChild(document.createTextNode("Failed to load extras")), 1000);
  }}
  const worker = new Worker("/worker.js");
  worker.onmessage = (event) => {{
    const line = document.createElement("p");
    line.innerText = "worker says " + event.data;
    document.body.appendChild(line);
  }};
}}, 1500);
</script></body></html>"""
WORKER = 'fetch("/api/worker").then(r => r.json()).then(d => postMessage(d.word));'


class App(http.server.BaseHTTPRequestHandler):
    """The app's origin: every path needs the Authorization header (401 with a Basic challenge otherwise)."""

    state = None

    def log_message(self, *args):
        pass

    def send(self, code, body, kind):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        if code == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="app"')
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.state["requests"].append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != AUTHORIZATION:
            return self.send(401, "no", "text/plain")
        if self.path == "/":
            return self.send(200, PAGE.format(other=self.state["other"]), "text/html")
        if self.path == "/api/run":
            return self.send(200, json.dumps({"metrics": ["fabric.pingpong.largest_mb_per_s", "nixl.transfer.gbps"]}),
                             "application/json")  # fmt: skip
        if self.path == "/worker.js":
            return self.send(200, WORKER, "text/javascript")
        if self.path == "/api/worker":
            return self.send(200, json.dumps({"word": "pingpong_bandwidth.png"}), "application/json")
        return self.send(404, "none", "text/plain")


class Other(http.server.BaseHTTPRequestHandler):
    """Another origin the page loads an image from: it records the headers it was sent."""

    state = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.state["other_requests"].append((self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG_1x1)))
        self.end_headers()
        self.wfile.write(PNG_1x1)


@contextlib.contextmanager
def serve(handler, state):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("H", (handler,), {"state": state}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def app():
    state = {"requests": [], "other_requests": []}
    with serve(Other, state) as other:
        state["other"] = other
        with serve(App, state) as url:
            yield url, state


def png_size(path):
    data = pathlib.Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_browser_is_there():
    """make unit installs it (lab/browser.sh); without it every test below would say nothing."""
    assert browser_check.find_chromium(), "no Chromium: run lab/browser.sh"


def test_waits_for_the_rendered_text_with_the_header_on_its_origin_only(app, tmp_path):
    url, state = app
    pages = [{"url": url + "/", "expect": ["nixl.transfer.gbps", "worker says pingpong_bandwidth.png"],
              "expect_js": "document.getElementById('other').naturalWidth === 1",
              "dom": tmp_path / "page.html", "screenshot": tmp_path / "page.png"}]  # fmt: skip
    (result,) = browser_check.check_pages(pages, timeout=60, authorization=AUTHORIZATION)
    assert result["missing"] == [] and result["refused"] == [], result
    # The text came from the script after its delay: the HTML the server sent did not hold it.
    assert "nixl.transfer.gbps" not in PAGE and result["seconds"] >= 1.5
    assert "Metrics: fabric.pingpong.largest_mb_per_s, nixl.transfer.gbps" in (tmp_path / "page.html").read_text()
    assert png_size(tmp_path / "page.png") == browser_check.WINDOW
    # Every request to the app carried the header (the worker's too): the server never had to refuse one.
    paths = {path for path, _auth in state["requests"]}
    assert {"/", "/api/run", "/worker.js", "/api/worker"} <= paths
    assert {auth for _path, auth in state["requests"]} == {AUTHORIZATION}
    # The other origin got its image, and no credential.
    assert state["other_requests"] and {auth for _path, auth in state["other_requests"]} == {None}


def test_what_is_not_shown_is_named_and_the_page_still_saved(app, tmp_path):
    url, _state = app
    pages = [{"url": url + "/", "expect": ["nixl.transfer.gbps", "nccl_busbw.png"],
              "dom": tmp_path / "page.html", "screenshot": tmp_path / "page.png"}]  # fmt: skip
    (result,) = browser_check.check_pages(pages, timeout=6, authorization=AUTHORIZATION)
    assert result["found"] == ["nixl.transfer.gbps"] and result["missing"] == ["nccl_busbw.png"]
    assert result["seconds"] >= 6
    assert (tmp_path / "page.html").read_text().startswith("<html")
    assert png_size(tmp_path / "page.png") == browser_check.WINDOW


def test_an_error_the_page_shows_after_its_texts_is_caught(app, tmp_path):
    """The error panel appears a second after the figures: the texts it must not show are read once it settled."""
    url, _state = app
    pages = [{"url": url + "/", "expect": ["nixl.transfer.gbps"], "refuse": ["Failed to load", "Unauthorized"]}]
    (result,) = browser_check.check_pages(pages, timeout=30, authorization=AUTHORIZATION)
    assert result["missing"] == [] and result["refused"] == ["Failed to load"]


def test_without_the_credential_the_page_is_refused_and_nothing_is_found(app, tmp_path):
    url, state = app
    (result,) = browser_check.check_pages([{"url": url + "/", "expect": ["nixl.transfer.gbps"]}], timeout=4)
    assert result["missing"] == ["nixl.transfer.gbps"]
    assert state["requests"][0] == ("/", None)


def test_the_command_line_reads_the_header_from_the_environment(app, tmp_path):
    url, state = app
    env = dict(os.environ, APP_AUTHORIZATION=AUTHORIZATION)
    argv = [sys.executable, str(ROOT / "lab" / "browser_check.py"), url + "/", "--expect", "nixl.transfer.gbps",
            "--authorization-env", "APP_AUTHORIZATION", "--timeout", "60",
            "--screenshot", str(tmp_path / "s.png")]  # fmt: skip
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["missing"] == [] and (tmp_path / "s.png").exists()
    assert AUTHORIZATION not in " ".join(argv) and AUTHORIZATION not in result.stdout + result.stderr
    missing = subprocess.run(argv[:3] + ["--expect", "absent text", "--timeout", "3"], capture_output=True,
                             text=True, timeout=120, check=False)  # fmt: skip
    assert missing.returncode == 1 and json.loads(missing.stdout)["missing"] == ["absent text"]
    assert state["requests"]
