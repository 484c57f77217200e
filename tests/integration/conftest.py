# -*- coding: utf-8 -*-
"""Integration fixtures: the lab's local AWS on loopback, and an ansible-playbook runner.

The local AWS is moto plus the stand-ins in tests/lab/moto_lab.py.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def lab_aws(tmp_path_factory):
    """URL of a fresh local AWS, stopped at the end of the session."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("lab") / "moto.log"
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "lab" / "moto_lab.py"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2)  # noqa: S310 (loopback only)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the lab AWS did not start: {log.read_text()}")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def run_playbook(tmp_path):
    """Run a playbook on localhost with this checkout's ansible.cfg; return what it wrote to `report`.

    The playbook ends by writing its findings as JSON to the path in the `report` variable.
    """

    def run(text, env=None):
        path = tmp_path / "play.yml"
        path.write_text(text)
        report = tmp_path / "report.json"
        environ = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **(env or {}))
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            environ.pop(name, None)
        result = subprocess.run(
            [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
             "-e", f"ansible_python_interpreter={sys.executable}", "-e", f"report={report}", str(path)],
            cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(report.read_text())

    return run
