# -*- coding: utf-8 -*-
"""lab/labctl.py, the lab's entry point, without Docker and without moto.

The lab server is a stand-in named moto_lab.py (what labctl recognizes a lab server by) that
answers every GET on the port it is given; docker is recorded. Pid files point at real processes:
one that is the "lab", the test process itself (a pid reused by another program), one that ended.
"""

import contextlib
import http.server
import importlib.util
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SPEC = importlib.util.spec_from_file_location("labctl", ROOT / "lab" / "labctl.py")
labctl = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(labctl)

FAKE_SERVER = """\
import http.server, json, os, sys
port = int(sys.argv[sys.argv.index("-p") + 1])
with open(os.environ["FAKE_LAB_ENV"], "w") as out:
    json.dump({k: v for k, v in os.environ.items() if k.startswith(("LAB_", "MOTO_"))}, out)
class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Answer).serve_forever()
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    def __init__(self):
        self.lines = []

    def __call__(self, line):
        self.lines.append(line)

    @property
    def text(self):
        return "\n".join(self.lines)


class FakeDocker:
    """labctl.docker recorded; `ps` lists `ids`."""

    def __init__(self, ids=(), rm_rc=0):
        self.calls, self.ids, self.rm_rc = [], list(ids), rm_rc

    def __call__(self, *args):
        self.calls.append(list(args))
        if args[0] == "ps":
            return types.SimpleNamespace(returncode=0, stdout="\n".join(self.ids), stderr="")
        return types.SimpleNamespace(returncode=self.rm_rc, stdout="", stderr="no such container")


@pytest.fixture
def docker(monkeypatch):
    fake = FakeDocker()
    monkeypatch.setattr(labctl, "docker", fake)
    return fake


@pytest.fixture
def lab(tmp_path):
    return labctl.Lab(free_port(), tmp_path / "lab")


@contextlib.contextmanager
def process(*args, code="import time; time.sleep(120)", words=()):
    """A sleeping Python process whose command line carries `args`."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args, *words], stdout=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


@contextlib.contextmanager
def other_server(port):
    """Something that is not the lab answering on `port`."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", port), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def reap(pid):
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def write_pid(lab, pid, image=None):
    lab.dir.mkdir(parents=True, exist_ok=True)
    lab.pid_file.write_text(f"{pid}\n")
    if image is not None:
        lab.image_file.write_text(f"{image}\n")


# --- what counts as a running lab ---------------------------------------------------------------


def test_no_pid_file_empty_or_garbage_is_not_running(lab):
    assert lab.running_pid() is None
    write_pid(lab, "")
    assert lab.recorded_pid() is None and lab.running_pid() is None
    lab.pid_file.write_text("not a pid\n")
    assert lab.running_pid() is None


def test_a_pid_reused_by_another_program_is_stale(lab):
    write_pid(lab, os.getpid())  # alive, but pytest, not moto_lab.py
    assert labctl.alive(os.getpid())
    assert lab.recorded_pid() == os.getpid()
    assert lab.running_pid() is None


def test_a_pid_that_ended_is_stale(lab):
    with process() as proc:
        pid = proc.pid
    write_pid(lab, pid)
    assert not labctl.alive(pid)
    assert lab.running_pid() is None


def test_a_process_running_moto_lab_is_the_lab_and_a_zombie_is_not(lab):
    with process(str(ROOT / "lab" / "moto_lab.py"), "-p", str(lab.port)) as proc:
        write_pid(lab, proc.pid)
        assert lab.running_pid() == proc.pid
        os.kill(proc.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while labctl.alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        # not reaped yet: a zombie, which kill -0 would still find
        assert proc.returncode is None
        assert lab.running_pid() is None


# --- status ---------------------------------------------------------------------------------------


def test_status_of_a_running_lab_names_pid_log_image_and_prints_the_exports(lab):
    out = Recorder()
    with process("moto_lab.py") as proc:
        write_pid(lab, proc.pid, image="nixl-efa/debian12-systemd:abc")
        assert labctl.status(lab, out) == 0
    assert out.lines == [
        f"The lab is running (pid {proc.pid}, log {lab.log}, node image nixl-efa/debian12-systemd:abc)",
        f"export AWS_ENDPOINT_URL=http://127.0.0.1:{lab.port} AWS_ACCESS_KEY_ID=testing "
        "AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1",
    ]


def test_status_without_node_image(lab):
    out = Recorder()
    with process("moto_lab.py") as proc:
        write_pid(lab, proc.pid, image="")
        assert labctl.status(lab, out) == 0
    assert out.lines[0].endswith(", no node containers)")


def test_status_not_running(lab):
    out = Recorder()
    assert labctl.status(lab, out) == labctl.NOT_RUNNING == 3
    assert out.lines == ["The lab is not running"]


def test_status_says_the_pid_file_is_stale_and_who_answers_instead(lab):
    out = Recorder()
    write_pid(lab, os.getpid())
    with other_server(lab.port):
        assert labctl.status(lab, out) == 3
    assert out.lines == [
        f"The lab is not running (stale pid file {lab.pid_file}: pid {os.getpid()} is not the lab); "
        f"something else answers on {lab.url}"
    ]


# --- up -------------------------------------------------------------------------------------------


def test_up_refuses_a_port_something_else_answers_on(lab):
    out = Recorder()
    with other_server(lab.port):
        assert labctl.up(lab, out=out) == 1
    assert out.lines == [f"Something else already answers on {lab.url}; choose another LAB_PORT"]
    assert not lab.pid_file.exists()


def test_up_on_a_running_lab_keeps_it_with_the_same_image_and_refuses_another(lab):
    with process("moto_lab.py") as proc:
        write_pid(lab, proc.pid, image="img:1")
        out = Recorder()
        assert labctl.up(lab, node_image="img:1", out=out) == 0
        assert out.lines[0] == f"The lab is already running (pid {proc.pid}, log {lab.log})"
        assert out.lines[1].startswith(f"export AWS_ENDPOINT_URL={lab.url} ")
        out = Recorder()
        assert labctl.up(lab, node_image="img:2", out=out) == 1
        assert out.lines == ["The lab is running with node image 'img:1', not 'img:2': make lab-down first"]
        assert lab.running_pid() == proc.pid


def test_up_starts_the_server_waits_for_it_and_down_stops_it(lab, tmp_path, monkeypatch, docker):
    server = tmp_path / "fake" / "moto_lab.py"
    server.parent.mkdir()
    server.write_text(FAKE_SERVER)
    monkeypatch.setattr(labctl, "SERVER", server)
    monkeypatch.setenv("FAKE_LAB_ENV", str(tmp_path / "env.json"))
    monkeypatch.setenv("LAB_THROTTLE_SHARE", "0.25")
    out = Recorder()
    assert labctl.up(lab, node_image="", wheelhouse="/wheels", wait=30, out=out) == 0
    pid = lab.recorded_pid()
    try:
        assert out.lines == [
            f"The lab is up (pid {pid}, log {lab.log}, without node containers)",
            f"export {lab.env_words()}",
        ]
        assert lab.running_pid() == pid and lab.answers()
        assert lab.image_file.read_text() == "\n"
        env = json.loads((tmp_path / "env.json").read_text())
        assert env == {
            "MOTO_IAM_LOAD_MANAGED_POLICIES": "true", "LAB_NODE_IMAGE": "", "LAB_WHEELHOUSE": "/wheels",
            "LAB_NAME": str(lab.port), "LAB_THROTTLE_SHARE": "0.25",
        }  # fmt: skip
        # its own session: a terminal's hang-up (make interrupted) does not reach it
        assert os.getsid(pid) == pid

        docker.ids = ["c1", "c2"]
        out = Recorder()
        assert labctl.down(lab, out=out) == 0
        assert out.lines == [f"The lab (pid {pid}) is stopped", "Removed the lab's node containers"]
        assert docker.calls == [
            ["ps", "-aq", "--filter", f"label=nixl-efa.lab={lab.port}"],
            ["rm", "-f", "c1", "c2"],
        ]
        assert not lab.pid_file.exists() and not lab.image_file.exists()
        assert not lab.answers()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        reap(pid)


def test_up_reports_a_server_that_exits_and_forgets_its_pid(lab, tmp_path, monkeypatch):
    server = tmp_path / "moto_lab.py"
    server.write_text("import sys\nprint('port in use, says the server')\nsys.exit(1)\n")
    monkeypatch.setattr(labctl, "SERVER", server)
    out = Recorder()
    assert labctl.up(lab, wait=30, out=out) == 1
    assert out.lines[0] == f"The lab did not come up (it exited, or did not answer within 30 s); {lab.log}:"
    assert "port in use, says the server" in out.lines[1]
    assert not any(line.startswith("export") for line in out.lines)
    assert not lab.pid_file.exists() and not lab.image_file.exists()


# --- down -----------------------------------------------------------------------------------------


def test_down_without_a_lab_still_clears_its_files_and_containers(lab, docker):
    write_pid(lab, os.getpid(), image="img:1")  # stale: never killed
    docker.ids = ["c1"]
    out = Recorder()
    assert labctl.down(lab, out=out) == 0
    assert out.lines == ["The lab is not running", "Removed the lab's node containers"]
    assert not lab.pid_file.exists() and not lab.image_file.exists()


def test_down_without_docker_or_containers_says_nothing_of_them(lab, monkeypatch):
    monkeypatch.setattr(labctl, "docker", lambda *args: None)
    out = Recorder()
    assert labctl.down(lab, out=out) == 0
    assert out.lines == ["The lab is not running"]


def test_down_fails_when_the_containers_cannot_be_removed(lab, monkeypatch):
    monkeypatch.setattr(labctl, "docker", FakeDocker(ids=["c1"], rm_rc=1))
    out = Recorder()
    assert labctl.down(lab, out=out) == 1
    assert out.lines[-1] == "Could not remove the lab's node containers: no such container"


def test_down_fails_when_the_lab_does_not_stop(lab, docker):
    ignores_sigterm = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(120)"
    )
    with process(code=ignores_sigterm, words=["moto_lab.py"]) as proc:
        assert proc.stdout.readline() == "ready\n"
        write_pid(lab, proc.pid, image="")
        out = Recorder()
        assert labctl.down(lab, out=out, tries=2, interval=0.01) == 1
        assert out.lines == [f"The lab (pid {proc.pid}) did not stop"]
        assert lab.pid_file.exists(), "kept: the lab still runs"
        assert docker.calls == []


# --- arguments ------------------------------------------------------------------------------------


def test_options_default_to_the_makefiles_environment_variables(monkeypatch):
    for name in ("LAB_PORT", "LAB_DIR", "LAB_NODE_IMAGE", "LAB_WHEELHOUSE", "LAB_WAIT"):
        monkeypatch.delenv(name, raising=False)
    args = labctl.parser().parse_args(["up"])
    assert (args.port, args.dir, args.node_image, args.wheelhouse, args.wait) == (5055, None, "", "", 60)
    monkeypatch.setenv("LAB_PORT", "5071")
    monkeypatch.setenv("LAB_DIR", "/tmp/somewhere")
    monkeypatch.setenv("LAB_NODE_IMAGE", "img:1")
    monkeypatch.setenv("LAB_WHEELHOUSE", "/wheels")
    monkeypatch.setenv("LAB_WAIT", "5")
    args = labctl.parser().parse_args(["up"])
    assert (args.port, args.dir, args.node_image, args.wheelhouse, args.wait) == (5071, "/tmp/somewhere", "img:1",
                                                                                  "/wheels", 5)  # fmt: skip
    args = labctl.parser().parse_args(["up", "--port", "5080", "--node-image", ""])
    assert (args.port, args.node_image) == (5080, "")


def test_the_default_directory_is_dot_lab_port_in_the_repository(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert labctl.Lab(5071).dir == pathlib.Path(".lab/5071")
    assert labctl.Lab(5071).pid_file == pathlib.Path(".lab/5071/moto.pid")
    monkeypatch.chdir("/")
    assert labctl.Lab(5071).dir == ROOT / ".lab" / "5071"


def test_env_prints_the_variables_as_words(capsys):
    assert labctl.main(["env", "--port", "5099"]) == 0
    assert capsys.readouterr().out == (
        "AWS_ENDPOINT_URL=http://127.0.0.1:5099 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
        "AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1\n"
    )


def test_main_passes_status_exit_code(tmp_path, capsys):
    assert labctl.main(["status", "--port", str(free_port()), "--dir", str(tmp_path)]) == 3
    assert capsys.readouterr().out == "The lab is not running\n"


@pytest.mark.parametrize(
    "argv",
    [[], ["start"], ["up", "--port", "abc"], ["nodes"], ["nodes", "up", "x"], ["nodes", "up", "x", "0"],
     ["nodes", "sideways", "x"]],
)  # fmt: skip
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        labctl.main(argv)
    assert stop.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_nodes_subcommands_call_lab_nodes(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(labctl.lab_nodes, "up", lambda *args: calls.append(("up", *args)) or {"e-0": "running"})
    monkeypatch.setattr(labctl.lab_nodes, "down", lambda *args: calls.append(("down", *args)) or 1)
    assert labctl.main(["nodes", "up", "e", "1", "--image", "img:1"]) == 0
    assert labctl.main(["nodes", "down", "e"]) == 0
    assert calls == [("up", "e", 1, "img:1"), ("down", "e")]
    assert capsys.readouterr().out == "e-0: running\nremoved e-*\n"


# --- the Makefile is the front door, the supervision is here ----------------------------------


def test_the_makefile_leaves_the_lab_to_labctl():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LAB = .* lab/labctl\.py$", makefile, re.M)
    for word in ("moto_lab.py", "nohup", "kill", "moto.pid", "docker ps", "docker rm", "tests/lab", "tools/node_image",
                 "tools/docker_engine"):  # fmt: skip
        assert word not in makefile, word
    recipes = {}
    for match in re.finditer(r"^([a-z-]+):[^\n]*\n((?:\t[^\n]*\n)*)", makefile, re.M):
        recipes[match.group(1)] = match.group(2)
    for target, command in [("lab-up", "$(LAB) up"), ("lab-down", "$(LAB) down"), ("lab-status", "$(LAB) status"),
                            ("demo", "$(LAB) engine"), ("demo-down", "$(LAB) status"), ("bench", "$(LAB) image"),
                            ("molecule", "$(LAB) image"), ("release-test", "$(LAB) engine")]:  # fmt: skip
        assert command in recipes[target], (target, recipes[target])


def test_scheduler_fire_posts_the_as_of_time_and_invocations_reads_the_record(tmp_path):
    seen = []

    class Answer(http.server.BaseHTTPRequestHandler):
        def _answer(self, body):
            seen.append((self.command, self.path, body))
            payload = json.dumps({"invocations": []}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self):
            self._answer(None)

        def do_POST(self):
            self._answer(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        lab = labctl.Lab(server.server_address[1], tmp_path)
        out = []
        assert labctl.scheduler(lab, "fire", "2030-01-01T00:00:30Z", out=out.append) == 0
        assert labctl.scheduler(lab, "invocations", out=out.append) == 0
    finally:
        server.shutdown()
    assert seen == [("POST", "/lab/scheduler/fire", {"as_of": "2030-01-01T00:00:30Z"}),
                    ("GET", "/lab/scheduler/invocations", None)]  # fmt: skip
    assert json.loads(out[0]) == {"invocations": []}
    args = labctl.parser().parse_args(["scheduler", "fire", "--as-of", "2030-01-01T00:00:30Z", "--port", "5099"])
    assert (args.command, args.action, args.as_of, args.port) == ("scheduler", "fire", "2030-01-01T00:00:30Z", 5099)


def test_scheduler_says_when_the_lab_does_not_answer(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = []
    assert labctl.scheduler(labctl.Lab(port, tmp_path), "invocations", out=out.append) == 1
    assert f"The lab on http://127.0.0.1:{port} did not answer" in out[0]
