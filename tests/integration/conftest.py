# -*- coding: utf-8 -*-
"""Integration fixtures: the lab's local AWS on loopback, and an ansible-playbook runner.

The local AWS is moto plus the stand-ins in lab/moto_lab.py.
"""

import contextlib
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_lab(directory, **extra_env):
    """URL of a fresh local AWS on a free loopback port, its log in `directory`, stopped on exit.

    `extra_env` switches lab behaviours on for this lab only (LAB_CAPACITY_DESCRIBE_DELAY, ...).
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = directory / "moto.log"
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true", **extra_env)
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "lab" / "moto_lab.py"), "-H", "127.0.0.1", "-p", str(port)],
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


@pytest.fixture(scope="session")
def lab_aws(tmp_path_factory):
    """URL of a fresh local AWS, stopped at the end of the session."""
    with running_lab(tmp_path_factory.mktemp("lab")) as url:
        yield url


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


class PlaybookRun:
    """The outcome of one ansible-playbook run: return code, output and localhost's recap."""

    RECAP = re.compile(r"^localhost\s+:\s+(.*)$", re.MULTILINE)

    def __init__(self, result):
        self.rc = result.returncode
        self.stdout = result.stdout + result.stderr
        found = self.RECAP.findall(result.stdout)
        self.recap = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", found[-1])} if found else {}

    def changed_tasks(self):
        """The task headers followed by a 'changed' line, to say which task broke idempotence."""
        tasks, current = [], None
        for line in self.stdout.splitlines():
            if line.startswith("TASK ["):
                current = line
            elif line.startswith("changed:") and current:
                tasks.append(current)
        return tasks


def lab_environ(url):
    """How users reach the lab: botocore honours AWS_ENDPOINT_URL for every client.

    Each lab gets a cache directory of its own (provision.yml keeps its fast path's state there), so that
    runs against other labs, or the user's own, never share it.
    """
    cache = pathlib.Path(tempfile.gettempdir()) / "nixl-efa-tests-cache" / str(urllib.parse.urlparse(url).port)
    environ = dict(
        os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), AWS_ENDPOINT_URL=url, XDG_CACHE_HOME=str(cache)
    )
    environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", ANSIBLE_FORCE_COLOR="0")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        environ.pop(name, None)
    return environ


@pytest.fixture(scope="session")
def ansible_playbook():
    """Run one of this checkout's playbooks as a user would, against the lab at `url`."""

    def run(playbook, url, extra_vars, check=False, expect_rc=0, inventory="aws", args=()):
        command = [str(BIN / "ansible-playbook"), "-i", str(ROOT / "inventories" / inventory), playbook,
                   "-e", json.dumps(extra_vars)] + (["--check"] if check else []) + list(args)  # fmt: skip
        result = subprocess.run(
            command, cwd=ROOT, env=lab_environ(url), capture_output=True, text=True, timeout=600, check=False
        )
        run_ = PlaybookRun(result)
        assert run_.rc == expect_rc, f"rc={run_.rc}, wanted {expect_rc}:\n{run_.stdout[-6000:]}"
        return run_

    return run


@pytest.fixture
def ansible_inventory(lab_aws, tmp_path):
    """The shipped aws_ec2 inventory, filtered on one cluster, as ansible-inventory --list sees it."""

    def run(cluster):
        text = (ROOT / "inventories" / "aws" / "aws_ec2.yml").read_text()
        text, count = re.subn(r"(tag:nixl-efa:cluster:) \S+", rf"\1 {cluster}", text)
        assert count == 1, "aws_ec2.yml no longer filters on the cluster tag"
        path = tmp_path / "aws_ec2.yml"
        path.write_text(text)
        result = subprocess.run(
            [str(BIN / "ansible-inventory"), "-i", str(path), "--list"],
            cwd=ROOT, env=lab_environ(lab_aws), capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return _plain(json.loads(result.stdout))

    return run


def _plain(value):
    """ansible-inventory --list marks templated values as {"__ansible_unsafe": value}: unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.fixture(scope="session")
def lab_throttle(lab_aws):
    """Context manager: answer `share` of the lab's calls with throttling errors, then stop."""

    def call(payload=None):
        request = urllib.request.Request(
            f"{lab_aws}/lab/throttle",
            data=None if payload is None else json.dumps(payload).encode(),
            method="GET" if payload is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback only)
            return json.loads(response.read())

    @contextlib.contextmanager
    def throttled(share):
        call({"share": share})
        try:
            yield call
        finally:
            call({"share": 0})

    return throttled
