"""The scripts the validation role runs on the nodes (roles/validation/files/).

node_probe.py's fi_info parsing, validation_http.py against stand-in MLflow and vLLM servers on
loopback (the REST calls, retries, the read-back comparison, the log-batch limits), and the pure
parts of nixl_transfer.py and nccl_allreduce.py. The real NIXL transfer, fi_pingpong and MLflow
are exercised by the lab run described in the role's README.
"""

import contextlib
import http.server
import importlib.util
import io
import json
import pathlib
import socket
import sys
import threading
import types
import urllib.parse

import pytest

FILES = pathlib.Path(__file__).resolve().parents[3] / "roles" / "validation" / "files"


def load(name):
    spec = importlib.util.spec_from_file_location(f"validation_{name}", FILES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probe = load("node_probe")
http_checks = load("validation_http")
nixl = load("nixl_transfer")
nccl = load("nccl_allreduce")

FI_INFO_EFA = """\
provider: efa
    fabric: efa
    domain: rdmap16s27-rdm
    version: 122.0
    type: FI_EP_RDM
    protocol: FI_PROTO_EFA
provider: efa
    fabric: efa-direct
    domain: rdmap16s27-rdm
    version: 122.0
    type: FI_EP_RDM
    protocol: FI_PROTO_EFA
provider: efa
    fabric: efa
    domain: rdmap16s27-dgrm
    version: 122.0
    type: FI_EP_DGRAM
    protocol: FI_PROTO_EFA
"""

FI_INFO_TCP = """\
provider: tcp;ofi_rxm
    fabric: 127.0.0.1/32
    domain: lo
    version: 117.0
    type: FI_EP_RDM
    protocol: FI_PROTO_RXM
provider: tcp
    fabric: 127.0.0.1/32
    domain: lo
    version: 117.0
    type: FI_EP_MSG
    protocol: FI_PROTO_SOCK_TCP
"""


def test_parse_fi_info_efa():
    entries = probe.parse_fi_info(FI_INFO_EFA)
    assert len(entries) == 3
    assert entries[1] == {
        "provider": "efa",
        "fabric": "efa-direct",
        "domain": "rdmap16s27-rdm",
        "version": "122.0",
        "type": "FI_EP_RDM",
        "protocol": "FI_PROTO_EFA",
    }


def test_layered_provider_matches_its_core_provider():
    entries = probe.parse_fi_info(FI_INFO_TCP)
    assert [probe.provider_matches(e["provider"], "tcp") for e in entries] == [True, True]
    assert not probe.provider_matches("tcp;ofi_rxm", "efa")


def fake_program(tmp_path, name, stdout, rc=0):
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{stdout}EOF\nexit {rc}\n")
    path.chmod(0o755)
    return str(path)


def test_fi_info_result(tmp_path):
    ok = probe.fi_info(fake_program(tmp_path, "fi_info", FI_INFO_EFA), "efa", 10)
    assert ok["rc"] == 0 and ok["matched"] == 3 and ok["error"] is None
    missing = probe.fi_info(fake_program(tmp_path, "fi_info_none", "", rc=61), "efa", 10)
    assert missing["rc"] == 61 and missing["matched"] == 0
    assert missing["error"] == "fi_info -p efa exited 61 with no output"
    assert probe.fi_info(None, "efa", 10)["error"].startswith("fi_info not found")


def test_read_facts_reports_broken_files(tmp_path):
    (tmp_path / "nixl_efa_nixl.fact").write_text('{"module": "nixl_cu12"}')
    (tmp_path / "nixl_efa_vllm.fact").write_text("{broken")
    (tmp_path / "other.fact").write_text("{}")
    facts = probe.read_facts(str(tmp_path), "nixl_efa_")
    assert facts["nixl_efa_nixl"] == {"module": "nixl_cu12"}
    assert "error" in facts["nixl_efa_vllm"]
    assert "other" not in facts


def test_torchrun_and_its_python(tmp_path):
    python = tmp_path / "python3"
    python.write_text("")
    python.chmod(0o755)
    torchrun = tmp_path / "torchrun"
    torchrun.write_text(f"#!{python}\nimport sys\n")
    torchrun.chmod(0o755)
    found = probe.find_executable(["", str(tmp_path / "absent"), str(torchrun)])
    assert found == str(torchrun)
    assert probe.script_interpreter(found) == str(python)
    assert probe.script_interpreter(None) is None


# --- HTTP: stand-in servers --------------------------------------------------------------


class FakeMlflow(http.server.BaseHTTPRequestHandler):
    """Enough of MLflow's REST API 2.0 for the validation commands, with a record of requests."""

    state = None

    def log_message(self, *args):
        pass

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def refused(self):
        """MLflow's basic-auth app: 401 unless the request carries the expected credentials."""
        wanted = self.state.get("authorization")
        if wanted and self.headers.get("Authorization") != wanted:
            self.state["refused"] = self.state.get("refused", 0) + 1
            self.answer(401, {"error_code": "UNAUTHENTICATED"})
            return True
        return False

    def do_GET(self):
        state = self.state
        url = urllib.parse.urlparse(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        state["requests"].append(("GET", url.path, query))
        if self.refused():
            return None
        if state["fail_next"]:
            state["fail_next"] -= 1
            return self.answer(503, {"error_code": "TEMPORARILY_UNAVAILABLE"})
        if url.path.endswith("/experiments/get-by-name"):
            if query["experiment_name"] in state["experiments"]:
                exp = {"experiment_id": state["experiments"][query["experiment_name"]]}
                return self.answer(200, {"experiment": exp})
            return self.answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})
        if url.path.endswith("/runs/get"):
            run = state["runs"][query["run_id"]]
            data = {
                "params": [{"key": k, "value": v} for k, v in run["params"].items()],
                "metrics": [{"key": k, "value": v} for k, v in run["metrics"].items()],
            }
            return self.answer(
                200, {"run": {"info": {"run_id": query["run_id"], "status": run["status"]}, "data": data}}
            )
        return self.answer(404, {})

    def do_POST(self):
        state = self.state
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        state["requests"].append(("POST", self.path, body))
        if self.refused():
            return None
        if self.path.endswith("/experiments/create"):
            state["experiments"][body["name"]] = "7"
            return self.answer(200, {"experiment_id": "7"})
        if self.path.endswith("/runs/create"):
            run_id = f"run{len(state['runs'])}"
            state["runs"][run_id] = {"params": {}, "metrics": {}, "tags": {}, "status": "RUNNING"}
            return self.answer(200, {"run": {"info": {"run_id": run_id}}})
        if self.path.endswith("/runs/log-batch"):
            run = state["runs"][body["run_id"]]
            run["params"].update({p["key"]: p["value"] for p in body.get("params", [])})
            run["metrics"].update({m["key"]: m["value"] for m in body.get("metrics", [])})
            run["tags"].update({t["key"]: t["value"] for t in body.get("tags", [])})
            return self.answer(200, {})
        if self.path.endswith("/runs/update"):
            state["runs"][body["run_id"]]["status"] = body["status"]
            return self.answer(200, {})
        return self.answer(404, {})


@contextlib.contextmanager
def serve(handler, state=None):
    handler = type("Handler", (handler,), {"state": state})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def mlflow_state():
    return {"experiments": {}, "runs": {}, "requests": [], "fail_next": 0}


def run_cli(monkeypatch, argv):
    out = io.StringIO()
    monkeypatch.setattr(sys, "argv", ["validation_http.py"] + argv)
    monkeypatch.setattr(sys, "stdout", out)
    rc = http_checks.main()
    return rc, json.loads(out.getvalue())


def test_mlflow_write_read_log_round_trip(monkeypatch):
    state = mlflow_state()
    state["fail_next"] = 2  # two 503s: retried, not fatal
    with serve(FakeMlflow, state) as url:
        rc, written = run_cli(
            monkeypatch,
            [
                "--timeout",
                "20",
                "mlflow-write",
                "--url",
                url,
                "--experiment",
                "nixl-efa-validation",
                "--run-name",
                "demo-20261125T000000Z",
                "--params-json",
                '{"validation.cluster": "demo"}',
                "--metrics-json",
                '{"validation.written": 1}',
            ],
        )
        assert rc == 0 and written["ok"] and written["experiment_created"]
        assert written["attempts"] >= 6
        assert set(written["params"]) == {"validation.cluster", "validation.token"}
        run_id = written["run_id"]
        assert state["runs"][run_id]["status"] == "FINISHED"
        expect = json.dumps({"params": written["params"], "metrics": written["metrics"]})
        rc, read = run_cli(monkeypatch, ["mlflow-read", "--url", url, "--run-id", run_id, "--expect-json", expect])
        assert rc == 0 and read["match"] and read["problems"] == []
        payload = {
            "params": {f"p{i}": i for i in range(150)},
            "metrics": {f"m{i}": i for i in range(1200)},
            "tags": {"validation.status": "passed"},
        }
        rc, logged = run_cli(
            monkeypatch,
            [
                "mlflow-log",
                "--url",
                url,
                "--run-id",
                run_id,
                "--payload-json",
                json.dumps(payload),
                "--status",
                "FAILED",
            ],
        )
        assert rc == 0 and logged["requests"] == 2  # 150 params need two requests; the metrics fit
        assert len(state["runs"][run_id]["metrics"]) == 1200 + 2
        assert state["runs"][run_id]["status"] == "FAILED"
    batches = [body for method, path, body in state["requests"] if path.endswith("log-batch")]
    for batch in batches:
        assert len(batch.get("params", [])) <= 100 and len(batch.get("metrics", [])) <= 1000
        assert len(batch["params"]) + len(batch["metrics"]) + len(batch["tags"]) <= 1000


def test_mlflow_read_reports_differences(monkeypatch):
    state = mlflow_state()
    state["runs"]["r1"] = {"params": {"a": "1"}, "metrics": {"m": 2.0}, "tags": {}, "status": "FINISHED"}
    with serve(FakeMlflow, state) as url:
        expect = json.dumps({"params": {"a": "2", "b": "x"}, "metrics": {"m": 2.0}})
        rc, read = run_cli(
            monkeypatch, ["--timeout", "1", "mlflow-read", "--url", url, "--run-id", "r1", "--expect-json", expect]
        )
    assert rc == 1 and not read["match"]
    assert read["problems"] == ["param a is '1', wrote '2'", "param b missing"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_mlflow_unreachable_gives_up_at_the_deadline(monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    rc, answer = run_cli(
        monkeypatch, ["--timeout", "1.5", "mlflow-write", "--url", url, "--experiment", "e", "--run-name", "r"]
    )
    assert rc == 1 and not answer["ok"]
    assert "gave up after" in answer["error"] and answer["attempts"] >= 2
    assert answer["seconds"] < 5


def test_batches_respect_the_limits():
    params = [{"key": str(i), "value": "v"} for i in range(250)]
    metrics = [{"key": str(i), "value": 1.0} for i in range(2500)]
    tags = [{"key": str(i), "value": "v"} for i in range(30)]
    out = http_checks.batches(params, metrics, tags)
    assert sum(len(b["params"]) for b in out) == 250
    assert sum(len(b["metrics"]) for b in out) == 2500
    assert sum(len(b["tags"]) for b in out) == 30
    for b in out:
        assert len(b["params"]) <= 100 and len(b["tags"]) <= 100 and len(b["metrics"]) <= 1000
        assert len(b["params"]) + len(b["metrics"]) + len(b["tags"]) <= 1000


def test_metric_list_drops_nan_and_inf():
    metrics = http_checks.metric_list({"a": 1, "b": float("nan"), "c": float("inf"), "d": "2.5"}, 5)
    assert [(m["key"], m["value"]) for m in metrics] == [("a", 1.0), ("d", 2.5)]


class FakeVllm(http.server.BaseHTTPRequestHandler):
    """/health and /v1/completions, as the vLLM OpenAI server and the proxy answer them."""

    state = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        code = 200 if self.path == "/health" and not self.state.get("sick") else 503
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.state.get("key")
        if key and self.headers.get("Authorization") != f"Bearer {key}" and not self.state.get("open"):
            self.state["refused"] = self.state.get("refused", 0) + 1
            data = json.dumps({"error": "Unauthorized"}).encode()
            self.send_response(401)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.state["completions"].append((self.path, body))
        data = json.dumps({"choices": [{"text": " Paris."}], "usage": {"completion_tokens": 3}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_vllm_health_and_completion(monkeypatch):
    state = {"completions": []}
    with serve(FakeVllm, state) as url:
        argv = ["vllm", "--prefill", url, "--decode", url, "--proxy", url, "--model", "m", "--max-tokens", "3"]
        rc, answer = run_cli(monkeypatch, argv)
    assert rc == 0 and answer["ok"]
    assert answer["health"]["prefill"]["status"] == 200
    assert answer["completion"]["text"] == " Paris." and answer["completion"]["completion_tokens"] == 3
    assert state["completions"] == [
        ("/v1/completions", {"prompt": "The capital of France is", "max_tokens": 3, "temperature": 0, "model": "m"})
    ]


def test_vllm_unhealthy_server_fails(monkeypatch):
    state = {"completions": [], "sick": True}
    with serve(FakeVllm, state) as url:
        rc, answer = run_cli(monkeypatch, ["--timeout", "1", "vllm", "--prefill", url, "--decode", url])
    assert rc == 1 and not answer["ok"]
    assert answer["health"]["decode"]["status"] == 503


MLFLOW_USER, MLFLOW_PASSWORD = "admin", "Pw-from-secrets-manager-0123"
VLLM_KEY = "vllm-key-from-secrets-manager-0123456789"


def test_mlflow_credentials_come_from_the_environment(monkeypatch):
    """MLflow's basic-auth app: without MLFLOW_TRACKING_USERNAME/PASSWORD 401, with them the run is written."""
    state = dict(mlflow_state(), authorization="Basic YWRtaW46UHctZnJvbS1zZWNyZXRzLW1hbmFnZXItMDEyMw==")
    argv = ["--timeout", "5", "mlflow-write", "--url", "", "--experiment", "e", "--run-name", "r"]
    with serve(FakeMlflow, state) as url:
        argv[4] = url
        monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
        monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
        rc, answer = run_cli(monkeypatch, argv)
        assert rc == 1 and answer["status"] == 401 and answer["attempts"] == 1
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", MLFLOW_USER)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", MLFLOW_PASSWORD)
        rc, answer = run_cli(monkeypatch, argv)
    assert rc == 0 and answer["ok"], answer
    assert state["refused"] == 1
    assert MLFLOW_PASSWORD not in json.dumps(answer)


def test_authorization_header_per_command():
    env = {"MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p", "VLLM_API_KEY": "k"}
    assert http_checks.authorization("mlflow-write", env) == "Basic dTpw"
    assert http_checks.authorization("vllm", env) == "Bearer k"
    assert http_checks.authorization("mlflow-log", {"MLFLOW_TRACKING_USERNAME": "u"}) is None
    assert http_checks.authorization("vllm", {}) is None


def test_vllm_with_a_key_checks_the_proxy_refuses_a_request_without_it(monkeypatch):
    state = {"completions": [], "key": VLLM_KEY}
    monkeypatch.setenv("VLLM_API_KEY", VLLM_KEY)
    with serve(FakeVllm, state) as url:
        rc, answer = run_cli(monkeypatch, ["vllm", "--prefill", url, "--decode", url, "--proxy", url])
    assert rc == 0 and answer["ok"], answer
    assert answer["without_key"] == {"url": f"{url}/v1/completions", "status": 401, "ok": True}
    assert state["refused"] == 1 and len(state["completions"]) == 1
    assert VLLM_KEY not in json.dumps(answer)


def test_vllm_proxy_open_without_the_key_fails_the_check(monkeypatch):
    state = {"completions": [], "key": VLLM_KEY, "open": True}
    monkeypatch.setenv("VLLM_API_KEY", VLLM_KEY)
    with serve(FakeVllm, state) as url:
        rc, answer = run_cli(monkeypatch, ["vllm", "--proxy", url])
    assert rc == 1 and not answer["ok"]
    assert answer["without_key"]["status"] == 200
    assert "without the API key with HTTP 200, expected 401" in answer["error"]


def test_completions_url():
    assert http_checks.completions_url("http://x:8000/") == "http://x:8000/v1/completions"
    assert http_checks.completions_url("http://x:8000/v1/completions") == "http://x:8000/v1/completions"


# --- nixl_transfer.py and nccl_allreduce.py --------------------------------------------------


def test_gbps_is_decimal_gigabytes_per_second():
    assert nixl.gbps(64 * 1024 * 1024, 0.05) == pytest.approx(1.342, abs=1e-3)
    assert nixl.gbps(1, 0) is None


def test_pattern_is_reproducible_and_seeded():
    np = pytest.importorskip("numpy")
    a = nixl.pattern(np, 4096, 7)
    assert a.dtype == np.uint8 and a.nbytes == 4096
    assert (a == nixl.pattern(np, 4096, 7)).all()
    assert not (a == nixl.pattern(np, 4096, 8)).all()


def test_warm_gbps_leaves_out_the_first_run():
    assert nixl.warm_gbps(10**9, [10.0, 0.5, 0.5]) == 2.0
    assert nixl.warm_gbps(10**9, [0.5]) == 2.0


def test_memcpy_figures_time_a_plain_copy_of_the_buffer():
    np = pytest.importorskip("numpy")
    src = nixl.pattern(np, 1 << 20, 3)
    figures = nixl.memcpy_figures(np, src, 4)
    assert len(figures["memcpy_seconds"]) == 4
    assert figures["memcpy_gbps"] > 0 and figures["memcpy_gbps_first"] > 0
    assert figures["memcpy_gbps_best"] >= figures["memcpy_gbps"]


class FakeNixlAgent:
    """Just enough of nixl._api.nixl_agent for the initiator's side: every transfer is DONE at once."""

    def __init__(self, name, config):
        self.backends = {"UCX": object()}

    def register_memory(self, descs, kind):
        return descs

    def deregister_memory(self, reg):
        pass

    def fetch_remote_metadata(self, name, ip, port):
        pass

    def send_local_metadata(self, ip, port):
        pass

    def get_new_notifs(self):
        return {nixl.TARGET: [json.dumps({"addr": 4096, "len": 1 << 20, "dev": 0}).encode()]}

    def check_remote_metadata(self, name):
        return True

    def get_xfer_descs(self, descs, kind):
        return descs

    def initialize_xfer(self, op, local, remote, peer, tag):
        return "handle"

    def transfer(self, handle, notif):
        return "DONE"

    def release_xfer_handle(self, handle):
        pass

    def remove_remote_agent(self, name):
        pass

    def invalidate_local_metadata(self, ip, port):
        pass


class FakeNixlApi:
    nixl_agent = FakeNixlAgent

    @staticmethod
    def nixl_agent_config(**kwargs):
        return kwargs


def test_port_holders_reads_the_kernel_tables(tmp_path):
    table = tmp_path / "tcp"
    table.write_text(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        "   0: 0100007F:B96A 0100007F:A0F3 06 00000000:00000000 03:00000F3A 00000000     0        0 0\n"
        "   1: 00000000:B96A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1\n"
        "   2: 0100007F:1F90 0100007F:B96A 01 00000000:00000000 00:00000000 00000000     0        0 2\n"
    )
    assert nixl.port_holders(0xB96A, tables=(str(table), str(tmp_path / "missing"))) == [
        "TIME_WAIT :47466 -> :41203",
        "LISTEN :47466",
    ]


class BindFailsApi:
    """nixl._api whose agent cannot bind its listener the first `failures` times."""

    def __init__(self, failures):
        self.failures = failures
        self.attempts = 0

    def nixl_agent_config(self, **kwargs):
        return kwargs

    def nixl_agent(self, name, config):
        self.attempts += 1
        if self.attempts <= self.failures:
            raise RuntimeError("Failed to bind metadata listener socket")
        return FakeNixlAgent(name, config)


def test_target_retries_a_listener_port_held_for_a_moment(monkeypatch):
    monkeypatch.setattr(nixl.time, "sleep", lambda s: None)
    api = BindFailsApi(failures=2)
    agent = nixl.make_agent(api, nixl.TARGET, "UCX", 28594, nixl.time.monotonic() + 30)
    assert isinstance(agent, FakeNixlAgent) and api.attempts == 3


def test_target_names_what_holds_its_port_at_the_deadline(monkeypatch):
    monkeypatch.setattr(nixl, "port_holders", lambda port: [f"ESTABLISHED :{port} -> :5000"])
    api = BindFailsApi(failures=100)
    with pytest.raises(nixl.PortInUse, match=r"port 28594: Failed to bind .*ESTABLISHED :28594 -> :5000"):
        nixl.make_agent(api, nixl.TARGET, "UCX", 28594, nixl.time.monotonic())
    assert api.attempts == 1


def test_other_agent_errors_are_not_retried():
    class Broken(BindFailsApi):
        def nixl_agent(self, name, config):
            self.attempts += 1
            raise RuntimeError("no plugins")

    api = Broken(0)
    with pytest.raises(RuntimeError, match="no plugins"):
        nixl.make_agent(api, nixl.TARGET, "UCX", 28594, nixl.time.monotonic() + 30)
    assert api.attempts == 1


def test_initiator_reports_the_transfer_and_the_memory_copy():
    np = pytest.importorskip("numpy")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        args = types.SimpleNamespace(
            backend="UCX", ip="127.0.0.1", port=port, size_mib=1, iterations=3, seed=1, timeout=10
        )
        result = {}
        nixl.run_initiator(np, FakeNixlApi, args, result)
    assert result["ok"] and result["phase"] == "done" and "memcpy_error" not in result
    assert len(result["seconds"]) == len(result["memcpy_seconds"]) == 3
    assert result["memcpy_gbps"] > 0 and result["memcpy_gbps_best"] >= result["memcpy_gbps"]
    assert result["share_of_memcpy"] == nixl.share(result["gbps"], result["memcpy_gbps"])


def test_initiator_times_the_memory_copy_before_its_agent_exists(monkeypatch):
    np = pytest.importorskip("numpy")
    order = []
    copy = nixl.memcpy_figures

    class Agent(FakeNixlAgent):
        def __init__(self, name, config):
            order.append("agent")
            super().__init__(name, config)

    class Api(FakeNixlApi):
        nixl_agent = Agent

    monkeypatch.setattr(nixl, "memcpy_figures", lambda *a: order.append("memcpy") or copy(*a))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        args = types.SimpleNamespace(
            backend="UCX", ip="127.0.0.1", port=listener.getsockname()[1], size_mib=1, iterations=2, seed=1, timeout=10
        )
        nixl.run_initiator(np, Api, args, {})
    assert order == ["memcpy", "agent"]


def test_memcpy_failure_leaves_the_transfer_alone(monkeypatch):
    np = pytest.importorskip("numpy")

    def broken(*args):
        raise RuntimeError("the memory copy differs from its source")

    monkeypatch.setattr(nixl, "memcpy_figures", broken)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        args = types.SimpleNamespace(
            backend="UCX", ip="127.0.0.1", port=listener.getsockname()[1], size_mib=1, iterations=2, seed=1, timeout=10
        )
        result = {}
        nixl.run_initiator(np, FakeNixlApi, args, result)
    assert result["ok"] and result["gbps"] > 0
    assert result["memcpy_error"] == "RuntimeError: the memory copy differs from its source"
    assert "share_of_memcpy" not in result and "memcpy_gbps" not in result


def test_share_of_memcpy():
    assert nixl.share(1.0, 8.0) == 0.125
    assert nixl.share(None, 8.0) is None
    assert nixl.share(1.0, None) is None
    assert nixl.share(1.0, 0) is None


def test_wait_for_times_out_with_what_it_waited_for():
    with pytest.raises(nixl.PeerTimeout, match="the peer"):
        nixl.wait_for(lambda: False, 0, "the peer")
    assert nixl.wait_for(lambda: 5, 0, "x") == 5


def test_bus_bandwidth_is_nccl_tests_formula():
    assert nccl.bus_bandwidth(10.0, 16) == pytest.approx(18.75)
    assert nccl.bus_bandwidth(10.0, 2) == pytest.approx(10.0)
    assert nccl.bus_bandwidth(10.0, 1) == 0.0
