# -*- coding: utf-8 -*-
"""The helpers behind service_node_info, with fake commands, a temporary tree and a local HTTP server.

The command outputs are those of iproute2 (`ip -4 -o route show default`, `ip -4 -o addr show dev
DEV scope global`) on a Debian 12 node, `nvidia-smi -L` on a p5.48xlarge, dpkg-query's ${Status}
and systemctl's is-enabled, is-active and show --property=LoadState --value.
"""

import hashlib
import os
import pwd
import sys
import threading
from http.server import BaseHTTPRequestHandler
from http.server import HTTPServer

import pytest
from fake_clock import FakeClock

from ansible_collections.nixl_efa.cluster.plugins.module_utils import service_node as sn

ROUTE = "default via 172.31.0.1 dev ens5 proto dhcp src 172.31.5.9 metric 100 \n"
ADDR = (
    "2: ens5    inet 172.31.5.9/20 metric 100 brd 172.31.15.255 scope global dynamic ens5\\"
    "       valid_lft 3412sec preferred_lft 3412sec\n"
)
NVIDIA_SMI_L = (
    "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-5b6d0d1e-1111-2222-3333-444444444444)\n"
    "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-5b6d0d1e-1111-2222-3333-555555555555)\n"
)


class FakeRun:
    """run(argv) -> (rc, stdout) from a table of argv prefixes; records every call."""

    def __init__(self, answers=None, fallback=(None, "")):
        self.answers = answers or {}
        self.fallback = fallback
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        for prefix, answer in self.answers.items():
            if tuple(argv[: len(prefix)]) == prefix:
                return answer
        return self.fallback


def node_commands(extra=None):
    answers = {
        ("ip", "-4", "-o", "route", "show", "default"): (0, ROUTE),
        ("ip", "-4", "-o", "addr", "show", "dev", "ens5"): (0, ADDR),
        ("dpkg-query", "-W", "-f=${Status}", "python3-venv"): (0, "install ok installed"),
        ("dpkg-query", "-W", "-f=${Status}", "python3-packaging"): (1, "unknown ok not-installed"),
        ("systemctl", "is-enabled", "mlflow.service"): (0, "enabled\n"),
        ("systemctl", "is-active", "mlflow.service"): (0, "active\n"),
        ("systemctl", "show", "--property=LoadState", "--value", "mlflow.service"): (0, "loaded\n"),
        ("systemctl", "is-enabled", "ray-worker.service"): (1, ""),
        ("systemctl", "is-active", "ray-worker.service"): (4, "inactive\n"),
        ("systemctl", "show", "--property=LoadState", "--value", "ray-worker.service"): (0, "not-found\n"),
    }
    answers.update(extra or {})
    return FakeRun(answers)


# --- parsers ----------------------------------------------------------------------------------


def test_default_route_dev():
    assert sn.parse_default_route_dev(ROUTE) == "ens5"
    assert sn.parse_default_route_dev("") == ""
    assert sn.parse_default_route_dev("default via 10.0.0.1 dev") == ""
    assert sn.parse_default_route_dev(None) == ""


def test_inet_address():
    assert sn.parse_inet_address(ADDR) == "172.31.5.9"
    assert sn.parse_inet_address("") == ""
    assert sn.parse_inet_address("2: ens5    inet6 fe80::1/64 scope link") == ""


def test_nvidia_smi_list():
    assert sn.parse_nvidia_smi_list(NVIDIA_SMI_L) == NVIDIA_SMI_L.strip().splitlines()
    assert sn.parse_nvidia_smi_list("No devices were found\n") == []
    assert sn.parse_nvidia_smi_list(None) == []


# --- local reads ------------------------------------------------------------------------------


def test_path_state(tmp_path):
    (tmp_path / "dir").mkdir(mode=0o750)
    os.chmod(tmp_path / "dir", 0o750)
    (tmp_path / "file").write_text("x")
    os.chmod(tmp_path / "file", 0o640)
    me = pwd.getpwuid(os.getuid()).pw_name
    state = sn.path_state(str(tmp_path / "dir"))
    assert state["owner"] == me and state["mode"] == "0750" and state["dir"] is True
    assert isinstance(state["group"], str) and state["group"]
    assert sn.path_state(str(tmp_path / "file"))["dir"] is False
    assert sn.path_state(str(tmp_path / "file"))["mode"] == "0640"
    assert sn.path_state(str(tmp_path / "missing")) is None


def test_path_state_unknown_ids_are_numbers(tmp_path, monkeypatch):
    def missing(_id):
        raise KeyError(_id)

    monkeypatch.setattr(sn.pwd, "getpwuid", missing)
    monkeypatch.setattr(sn.grp, "getgrgid", missing)
    state = sn.path_state(str(tmp_path))
    assert (state["owner"], state["group"]) == (str(os.getuid()), str(os.stat(tmp_path).st_gid))


def test_file_sha1_matches_what_the_roles_compare(tmp_path):
    text = "[Unit]\nDescription=Ray 2.60.0 head node on 127.0.2.1 – é\n"
    path = tmp_path / "ray-head.service"
    path.write_text(text, encoding="utf-8")
    # Ansible's hash('sha1') filter hashes the string's UTF-8 bytes; copy writes the same bytes.
    assert sn.file_sha1(str(path)) == hashlib.sha1(text.encode("utf-8")).hexdigest()  # noqa: S324
    assert sn.file_sha1(str(tmp_path / "missing")) is None
    assert sn.file_sha1(str(tmp_path)) is None  # a directory cannot be read as a file


def test_user_exists():
    assert sn.user_exists(pwd.getpwuid(os.getuid()).pw_name) is True
    assert sn.user_exists("no-such-user-for-service-node-tests") is False
    assert sn.user_exists("") is False
    assert sn.user_exists(None) is False


@pytest.fixture
def http_server():
    """A local server: /health answers 200 on the first, 503 on the second; yields both ports."""

    def handler(status):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(status if self.path == "/health" else 404)
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    servers = [HTTPServer(("127.0.0.1", 0), handler(200)), HTTPServer(("127.0.0.1", 0), handler(503))]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [server.server_address[1] for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def free_port():
    server = HTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return port


def test_healthy(http_server, monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    ok, failing = http_server
    assert sn.healthy(f"http://127.0.0.1:{ok}/health") is True
    assert sn.healthy(f"http://127.0.0.1:{failing}/health") is False
    assert sn.healthy(f"http://127.0.0.1:{free_port()}/health") is False
    assert sn.healthy("") is False
    assert sn.healthy("not a url") is False


# --- commands ---------------------------------------------------------------------------------


def test_dpkg_units_address_and_gpus():
    node = sn.ServiceNode(node_commands({("nvidia-smi", "-L"): (0, NVIDIA_SMI_L)}))
    assert node.dpkg_installed("python3-venv") is True
    assert node.dpkg_installed("python3-packaging") is False
    assert node.dpkg_installed("not-asked") is False
    assert node.unit_state("mlflow.service") == {"enabled": True, "active": True, "exists": True}
    assert node.unit_state("ray-worker.service") == {"enabled": False, "active": False, "exists": False}
    assert node.unit_state("no-systemctl.service") == {"enabled": False, "active": False, "exists": False}
    assert node.default_address() == "172.31.5.9"
    assert node.gpus("nvidia-smi") == NVIDIA_SMI_L.strip().splitlines()


def test_no_gpu_when_nvidia_smi_fails_or_is_missing():
    failing = sn.ServiceNode(FakeRun({("nvidia-smi", "-L"): (9, "NVIDIA-SMI has failed\n")}))
    assert failing.gpus("nvidia-smi") == []
    assert sn.ServiceNode(FakeRun()).gpus("/usr/bin/nvidia-smi") == []


def test_no_address_without_a_default_route():
    assert sn.ServiceNode(FakeRun({("ip",): (0, "")})).default_address() == ""
    assert sn.ServiceNode(FakeRun()).default_address() == ""


def run_for_real(argv):
    import subprocess  # noqa: PLC0415 (only these tests run real commands)

    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError:
        return None, ""
    return proc.returncode, proc.stdout


def test_versions_in_a_venv_are_asked_of_its_interpreter(tmp_path):
    node = sn.ServiceNode(run_for_real)
    import pytest as installed  # noqa: PLC0415

    versions = node.installed_versions(sys.executable, ["pytest", "no-such-distribution-here"])
    assert versions == {"pytest": installed.__version__}
    assert node.installed_versions(str(tmp_path / "venv" / "bin" / "python"), ["pytest"]) == {}
    assert node.installed_versions(None, ["pytest"]) == {}
    assert node.installed_versions(sys.executable, []) == {}
    assert node.python_version(sys.executable) == "{}.{}.{}".format(*sys.version_info[:3])
    assert node.python_version(str(tmp_path / "missing-python")) == ""
    assert node.python_version(None) == ""


def test_versions_when_the_interpreter_fails_or_prints_nonsense(tmp_path):
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    assert sn.ServiceNode(FakeRun(fallback=(1, ""))).installed_versions(str(python), ["x"]) == {}
    assert sn.ServiceNode(FakeRun(fallback=(0, "oops"))).installed_versions(str(python), ["x"]) == {}
    assert sn.ServiceNode(FakeRun(fallback=(0, "[1]"))).installed_versions(str(python), ["x"]) == {}


# --- facts ------------------------------------------------------------------------------------


def test_facts_of_a_service_node(tmp_path, http_server, monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    ok, failing = http_server
    (tmp_path / "env").write_text("A=1\n")
    run = node_commands()
    facts = sn.ServiceNode(run).facts(
        python=str(tmp_path / "venv" / "bin" / "python"),
        distributions=["mlflow"],
        debs=["python3-venv", "python3-packaging"],
        user="no-such-user-for-service-node-tests",
        paths=[str(tmp_path), str(tmp_path / "nope")],
        files=[str(tmp_path / "env"), str(tmp_path / "none")],
        units=["mlflow.service", "ray-worker.service"],
        host="127.0.0.1",
        health_ports=[ok, failing],
    )
    assert facts["gpus"] == []
    assert facts["address"] == "172.31.5.9"
    assert facts["python"] == ""  # no base_python asked for
    assert facts["debs"] == {"python3-venv": True, "python3-packaging": False}
    assert facts["installed"] == {}  # no venv yet
    assert facts["user"] is False
    assert facts["paths"][str(tmp_path)]["dir"] is True
    assert facts["paths"][str(tmp_path / "nope")] is None
    assert facts["files"] == {
        str(tmp_path / "env"): hashlib.sha1(b"A=1\n").hexdigest(),  # noqa: S324
        str(tmp_path / "none"): None,
    }
    assert facts["units"] == {
        "mlflow.service": {"enabled": True, "active": True, "exists": True},
        "ray-worker.service": {"enabled": False, "active": False, "exists": False},
    }
    assert facts["health"] == {str(ok): True, str(failing): False}
    assert not any(call[0] == "nvidia-smi" for call in run.calls)


def test_facts_health_takes_the_default_route_address_without_host():
    run = node_commands()
    facts = sn.ServiceNode(run).facts(health_ports=[5000])
    assert facts["address"] == "172.31.5.9"
    assert set(facts) == {
        "gpus", "address", "python", "debs", "installed", "user", "paths", "files", "units", "health",
        "health_seconds",
    }  # fmt: skip
    assert list(facts["health"]) == ["5000"]


def test_facts_without_a_gpu_ask_nothing_of_the_venv_or_the_servers(tmp_path, http_server):
    ok, _failing = http_server
    run = node_commands({("nvidia-smi", "-L"): (6, "No devices were found\n")})
    facts = sn.ServiceNode(run).facts(
        python=sys.executable,
        distributions=["pytest"],
        base_python=sys.executable,
        debs=["python3-venv"],
        host="127.0.0.1",
        health_ports=[ok],
        list_gpus=True,
        gpus_required=True,
    )
    assert facts["gpus"] == []
    assert (facts["python"], facts["installed"], facts["health"]) == ("", {}, {str(ok): False})
    # The rest is still read: the role writes its fact file and reports the address.
    assert facts["address"] == "172.31.5.9" and facts["debs"] == {"python3-venv": True}
    assert not any(call[0] == sys.executable for call in run.calls)


def test_facts_with_gpus_ask_the_venv_and_the_servers(http_server, monkeypatch):
    monkeypatch.delenv("http_proxy", raising=False)
    ok, _failing = http_server
    fake = node_commands({("/opt/nvidia-smi", "-L"): (0, NVIDIA_SMI_L)})

    def run(argv):
        return run_for_real(argv) if argv[0] == sys.executable else fake(argv)

    facts = sn.ServiceNode(run).facts(
        python=sys.executable,
        distributions=["pytest"],
        base_python=sys.executable,
        host="127.0.0.1",
        health_ports=[ok],
        list_gpus=True,
        nvidia_smi="/opt/nvidia-smi",
        gpus_required=True,
    )
    assert len(facts["gpus"]) == 2 and facts["gpus"][0].startswith("GPU 0: NVIDIA H100 80GB HBM3")
    assert facts["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert list(facts["installed"]) == ["pytest"]
    assert facts["health"] == {str(ok): True}


# --- the runner over AnsibleModule.run_command ------------------------------------------------


class FakeModule:
    def __init__(self, error=None):
        self.error = error
        self.calls = []

    def run_command(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        if self.error:
            raise self.error
        return 0, "out\n", "err\n"


def test_module_runner_limits_each_command_and_expands_nothing(monkeypatch):
    monkeypatch.setattr(sn.os, "access", lambda path, mode: path == "/usr/bin/timeout")
    module = FakeModule()
    run = sn.module_runner(module, 7)
    assert run(["dpkg-query", "-W", "-f=${Status}", "x"]) == (0, "out\n")
    argv, kwargs = module.calls[0]
    assert argv == ["/usr/bin/timeout", "-k", "5", "7", "dpkg-query", "-W", "-f=${Status}", "x"]
    assert kwargs == {"expand_user_and_vars": False, "handle_exceptions": False}


def test_command_runner_refuses_a_timeout_that_is_not_positive_naming_the_option():
    class Refused(Exception):
        pass

    class Failing(FakeModule):
        def fail_json(self, msg):
            raise Refused(msg)

    for timeout in (0, -3):
        with pytest.raises(Refused, match="^probe_timeout must be greater than 0$"):
            sn.command_runner(Failing(), timeout, option="probe_timeout")
    assert sn.command_runner(Failing(), 1) is not None


def test_command_runner_adds_its_environment_and_says_when_the_timeout_stopped_a_command(monkeypatch):
    monkeypatch.setattr(sn.os, "access", lambda path, mode: path == "/usr/bin/timeout")

    class TimedOut(FakeModule):
        def run_command(self, argv, **kwargs):
            self.calls.append((argv, kwargs))
            return 124, "", "partial\n"

    module = TimedOut()
    run = sn.command_runner(module, 3, environ={"LC_ALL": "C"})
    assert run(["fi_info"], env={"FI_PROVIDER": "efa"}) == (124, "", "timed out after 3 s. partial\n")
    assert module.calls[0][1]["environ_update"] == {"LC_ALL": "C", "FI_PROVIDER": "efa"}
    assert sn.command_runner(FakeModule(), 3)(["true"])[2] == "err\n"  # an answer in time is left as it is


def test_module_runner_without_timeout_and_a_command_that_cannot_start(monkeypatch):
    monkeypatch.setattr(sn.os, "access", lambda path, mode: False)
    module = FakeModule(error=FileNotFoundError(2, "No such file or directory"))
    run = sn.module_runner(module, 7)
    assert run(["nvidia-smi", "-L"]) == (None, "")
    assert module.calls[0][0] == ["nvidia-smi", "-L"]


def test_wait_healthy_tries_once_without_a_wait():
    calls = []
    state, waited = sn.wait_healthy(["u1"], check=lambda url: calls.append(url) or False)
    assert state == {"u1": False} and calls == ["u1"] and waited == 0


def test_wait_healthy_asks_again_only_what_has_not_answered_until_all_have():
    clock = FakeClock()
    up_at = {"a": 0, "b": 7}
    calls = []

    def check(url):
        calls.append(url)
        return clock.now >= up_at[url]

    state, waited = sn.wait_healthy(["a", "b"], wait=60, interval=2, check=check, clock=clock, sleep=clock.sleep)
    assert state == {"a": True, "b": True} and waited == 8
    assert calls.count("a") == 1 and calls.count("b") == 5


def test_wait_healthy_stops_at_the_deadline_and_says_which_did_not_answer():
    clock = FakeClock()

    def only_a(url):
        return url == "a"

    state, waited = sn.wait_healthy(["a", "b"], wait=10, interval=2, check=only_a, clock=clock, sleep=clock.sleep)
    assert state == {"a": True, "b": False} and waited == 10
