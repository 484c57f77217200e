"""The scripts the validation role runs on the nodes (roles/validation/files/).

validation_http.py against stand-in MLflow and vLLM servers on
loopback (the REST calls, retries, the read-back comparison, the log-batch limits; vLLM's streamed
completions, decode's NIXL counters on /metrics and the single server, whose systemctl calls are
recorded, never made), and the pure parts of nixl_transfer.py and nccl_allreduce.py. The real NIXL
transfer, fi_pingpong and MLflow are exercised by the lab run described in the role's README.
"""

import base64
import contextlib
import ctypes
import faulthandler
import http.server
import importlib.util
import io
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
import urllib.parse

import pytest

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import nixl_command
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.yardsticks import pair_yardsticks

FILES = pathlib.Path(__file__).resolve().parents[3] / "roles" / "validation" / "files"


def load(name):
    spec = importlib.util.spec_from_file_location(f"validation_{name}", FILES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


http_checks = load("validation_http")
nixl = load("nixl_transfer")
nccl = load("nccl_allreduce")

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
            info = {"run_id": query["run_id"], "status": run["status"], "artifact_uri": self.artifact_uri(query)}
            return self.answer(200, {"run": {"info": info, "data": data}})
        if url.path == "/api/2.0/mlflow/artifacts/list":
            # As MLflow lists one folder: its direct entries, paths relative to the run's root.
            root = self.artifact_uri(query).split(":", 1)[1].strip("/") + "/"
            folder = query.get("path", "")
            files = [
                {"path": key[len(root) :], "is_dir": False, "file_size": len(data)}
                for key, data in sorted(state["artifacts"].items())
                if key.startswith(root) and key[len(root) :].rpartition("/")[0] == folder
            ]
            return self.answer(200, {"root_uri": self.artifact_uri(query), "files": files})
        return self.answer(404, {})

    def artifact_uri(self, query):
        run_id = query.get("run_id")
        return self.state.get("artifact_uri") or f"mlflow-artifacts:/7/{run_id}/artifacts"

    def do_PUT(self):
        """The proxied artifact store: PUT /api/2.0/mlflow-artifacts/artifacts/<path>, the body as the file."""
        state = self.state
        data = self.rfile.read(int(self.headers["Content-Length"]))
        state["requests"].append(("PUT", self.path, {"type": self.headers.get("Content-Type"), "bytes": len(data)}))
        if self.refused():
            return None
        prefix = "/api/2.0/mlflow-artifacts/artifacts/"
        if not self.path.startswith(prefix):
            return self.answer(404, {})
        if state.get("artifact_status"):
            return self.answer(state["artifact_status"], {"error_code": "PERMISSION_DENIED"})
        state["artifacts"][urllib.parse.unquote(self.path[len(prefix) :])] = data
        return self.answer(200, {})

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
    return {"experiments": {}, "runs": {}, "requests": [], "fail_next": 0, "artifacts": {}}


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


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def log_with_artifacts(monkeypatch, state, artifacts, status="FINISHED"):
    state["runs"]["r1"] = {"params": {}, "metrics": {}, "tags": {}, "status": "RUNNING"}
    monkeypatch.setattr(http_checks, "ARTIFACTS", artifacts)
    with serve(FakeMlflow, state) as url:
        payload = json.dumps({"metrics": {"checks.passed": 7}, "params": {}, "tags": {}})
        argv = ["--timeout", "5", "mlflow-log", "--url", url, "--run-id", "r1", "--payload-json", payload]
        return run_cli(monkeypatch, argv + ["--status", status])


def test_mlflow_log_uploads_the_plots_through_the_tracking_server_and_lists_them(monkeypatch):
    state = dict(mlflow_state(), authorization="Basic YWRtaW46cHc=")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw")
    encoded = base64.b64encode(PNG).decode()
    rc, answer = log_with_artifacts(monkeypatch, state, {"plots/a.png": encoded, "plots/b c.png": encoded})
    assert rc == 0 and answer["ok"] and answer["status"] == "FINISHED"
    assert answer["artifacts"] == [
        {"path": "plots/a.png", "bytes": len(PNG), "listed": True},
        {"path": "plots/b c.png", "bytes": len(PNG), "listed": True},
    ]
    # Under the run's own artifact root, byte for byte, as PNGs, with the credentials (no 401 on the way).
    assert state["artifacts"] == {"7/r1/artifacts/plots/a.png": PNG, "7/r1/artifacts/plots/b c.png": PNG}
    puts = [(path, info) for method, path, info in state["requests"] if method == "PUT"]
    assert puts[1][0] == "/api/2.0/mlflow-artifacts/artifacts/7/r1/artifacts/plots/b%20c.png"
    assert {info["type"] for _path, info in puts} == {"image/png"}
    assert state.get("refused", 0) == 0
    # The status is set last, after the upload.
    assert state["requests"][-1][1].endswith("/runs/update") and state["runs"]["r1"]["status"] == "FINISHED"


def test_mlflow_log_without_artifacts_uploads_nothing(monkeypatch):
    state = mlflow_state()
    rc, answer = log_with_artifacts(monkeypatch, state, {})
    assert rc == 0 and answer["ok"] and answer["artifacts"] == []
    assert not [r for r in state["requests"] if r[0] == "PUT" or r[1].endswith("/runs/get")]


def test_a_run_whose_artifacts_the_server_does_not_serve_fails_the_logging(monkeypatch):
    state = dict(mlflow_state(), artifact_uri="s3://bucket/mlflow/7/r1/artifacts")
    rc, answer = log_with_artifacts(monkeypatch, state, {"plots/a.png": base64.b64encode(PNG).decode()})
    assert rc == 1 and not answer["ok"] and answer["artifact_error"]
    assert answer["error"] == (
        "artifact upload: the run's artifacts go to 's3://bucket/mlflow/7/r1/artifacts', which the tracking server "
        "does not serve (mlflow server --serve-artifacts with --artifacts-destination): nothing uploaded"
    )
    # Nothing sent, and the run says it failed rather than finished.
    assert state["artifacts"] == {} and state["runs"]["r1"]["status"] == "FAILED" and answer["status"] == "FAILED"


def test_an_upload_the_server_refuses_fails_the_logging(monkeypatch):
    state = dict(mlflow_state(), artifact_status=403)
    rc, answer = log_with_artifacts(monkeypatch, state, {"plots/a.png": base64.b64encode(PNG).decode()})
    assert rc == 1 and answer["artifact_error"] and "HTTP 403 from PUT" in answer["error"]
    assert state["runs"]["r1"]["status"] == "FAILED"


def test_the_role_preamble_carries_the_artifacts_into_the_script(tmp_path):
    """As the role runs it: `python3 -` with ARTIFACTS and the credentials in a preamble on stdin."""
    state = dict(mlflow_state(), authorization="Basic YWRtaW46cHc=")
    state["runs"]["r1"] = {"params": {}, "metrics": {}, "tags": {}, "status": "RUNNING"}
    artifacts = {"plots/a.png": base64.b64encode(PNG).decode()}
    preamble = (
        f"ARTIFACTS = {json.dumps(artifacts)}\n"
        "import os\n"
        f"os.environ.update({json.dumps({'MLFLOW_TRACKING_USERNAME': 'admin', 'MLFLOW_TRACKING_PASSWORD': 'pw'})})\n"
    )
    with serve(FakeMlflow, state) as url:
        result = subprocess.run(
            [sys.executable, "-", "--timeout", "10", "mlflow-log", "--url", url, "--run-id", "r1",
             "--payload-json", "{}"],
            input=preamble + (FILES / "validation_http.py").read_text(), capture_output=True, text=True,
            timeout=60, check=False, env={"PATH": os.environ["PATH"]},
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["artifacts"] == [{"path": "plots/a.png", "bytes": len(PNG), "listed": True}]
    assert state["artifacts"] == {"7/r1/artifacts/plots/a.png": PNG}


def test_artifact_root_of_a_run():
    assert http_checks.artifact_root("mlflow-artifacts:/7/r1/artifacts") == "7/r1/artifacts"
    assert http_checks.artifact_root("mlflow-artifacts://10.0.0.5:5000/7/r1/artifacts") == "7/r1/artifacts"
    assert http_checks.artifact_root("s3://bucket/7/r1/artifacts") is None
    assert http_checks.artifact_root(None) is None


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
    """/health, /metrics and /v1/completions, as the vLLM OpenAI server and the proxy answer them.

    Streamed completions (stream: true) come as server-sent events: one `data: {...}` line per
    piece of state["pieces"] (choices[].text), then the usage event and `data: [DONE]`. /metrics is
    Prometheus text with decode's NIXL counters over two label sets; each completion that goes
    through makes them grow (state["pulls"] false: they stay, as when decode computed the prompt
    itself; state["fail_transfers"]: one failed transfer each).
    """

    state = None

    def log_message(self, *args):
        pass

    def send(self, code, data=b"", content_type="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/metrics":
            return self.send(200, metrics_text(self.state).encode(), "text/plain; version=0.0.4")
        code = 200 if self.path == "/health" and not self.state.get("sick") else 503
        return self.send(code)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.state.get("key")
        if key and self.headers.get("Authorization") != f"Bearer {key}" and not self.state.get("open"):
            self.state["refused"] = self.state.get("refused", 0) + 1
            return self.send(401, json.dumps({"error": "Unauthorized"}).encode())
        self.state["completions"].append((self.path, body))
        counters = self.state.setdefault("counters", {"transfers": 0, "bytes": 0, "failed": 0})
        if self.state.get("fail_transfers"):
            counters["failed"] += 1
        elif self.state.get("pulls", True):
            counters["transfers"] += 1
            counters["bytes"] += 65536
        pieces = self.state.get("pieces", [" Par", "is", "."])
        # The server's inter-token latency: 20 ms between tokens after the first (50 tokens/s).
        counters["itl_count"] = counters.get("itl_count", 0) + max(len(pieces) - 1, 0)
        counters["itl_sum"] = counters.get("itl_sum", 0.0) + 0.02 * max(len(pieces) - 1, 0)
        if not body.get("stream"):
            answer = {"choices": [{"text": "".join(pieces)}], "usage": {"completion_tokens": len(pieces)}}
            return self.send(200, json.dumps(answer).encode())
        # No Content-Length: the stream ends when the connection closes (HTTP/1.0).
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in pieces:
            event = {"id": "cmpl-1", "object": "text_completion", "choices": [{"index": 0, "text": piece}]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
            time.sleep(self.state.get("delay", 0.01))
        usage = {"prompt_tokens": 12, "completion_tokens": len(pieces), "total_tokens": 12 + len(pieces)}
        self.wfile.write(f"data: {json.dumps({'id': 'cmpl-1', 'choices': [], 'usage': usage})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


def metrics_text(state):
    """decode's /metrics: the NIXL counters split over two engines, among other samples and comments."""
    counters = state.get("counters", {"transfers": 0, "bytes": 0, "failed": 0})
    lines = [
        "# HELP vllm:nixl_xfer_time_seconds Histogram of transfer duration for NIXL KV Cache transfers.",
        "# TYPE vllm:nixl_xfer_time_seconds histogram",
    ]
    for engine, share in (("0", 1), ("1", 0)):
        labels = f'engine="{engine}",model_name="m"'
        lines += [
            f'vllm:nixl_xfer_time_seconds_bucket{{{labels},le="0.001"}} {counters["transfers"] * share}.0',
            f"vllm:nixl_xfer_time_seconds_count{{{labels}}} {counters['transfers'] * share}.0",
            f"vllm:nixl_xfer_time_seconds_sum{{{labels}}} {0.004 * counters['transfers'] * share}",
            f"vllm:nixl_bytes_transferred_sum{{{labels}}} {counters['bytes'] * share}.0",
            f"vllm:nixl_bytes_transferred_count{{{labels}}} {counters['transfers'] * share}.0",
            f"vllm:nixl_num_failed_transfers_total{{{labels}}} {counters['failed'] * share}.0",
            f"vllm:num_requests_running{{{labels}}} 0.0",
            f"vllm:inter_token_latency_seconds_count{{{labels}}} {counters.get('itl_count', 0) * share}.0",
            f"vllm:inter_token_latency_seconds_sum{{{labels}}} {counters.get('itl_sum', 0.0) * share}",
        ]
    return "\n".join(lines) + "\n"


def test_vllm_health_and_completion(monkeypatch):
    state = {"completions": []}
    with serve(FakeVllm, state) as url:
        argv = ["vllm", "--prefill", url, "--decode", url, "--proxy", url, "--model", "m", "--max-tokens", "3"]
        rc, answer = run_cli(monkeypatch, argv)
    assert rc == 0 and answer["ok"], answer
    assert answer["problems"] == []
    assert answer["health"]["prefill"]["status"] == 200
    completion = answer["completion"]
    assert completion["text"] == " Paris." and completion["completion_tokens"] == 3
    assert completion["prompt_tokens"] == 12
    assert 0 <= completion["ttft_seconds"] <= completion["seconds"]
    # 2 inter-token gaps of 20 ms on the server: 50 tokens per second after the first.
    assert completion["tokens_per_second"] == 50.0
    # decode's counters read before and after: the difference is this completion's pull.
    assert answer["nixl"] == {"transfers": 1.0, "bytes": 65536.0, "failed": 0.0, "expired": 0.0}
    assert "single" not in answer and "without_key" not in answer
    ((path, body),) = state["completions"]
    assert path == "/v1/completions"
    # A random tag in front of the prompt: no server has it cached.
    assert re.fullmatch(r"\[[0-9a-f]{8}\] The capital of France is", body.pop("prompt"))
    assert body == {
        "max_tokens": 3,
        "temperature": 0,
        "ignore_eos": True,
        "model": "m",
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_vllm_prompt_tag_differs_between_runs(monkeypatch):
    state = {"completions": []}
    with serve(FakeVllm, state) as url:
        for _run in range(2):
            rc, _answer = run_cli(monkeypatch, ["vllm", "--decode", url, "--proxy", url])
            assert rc == 0
    first, second = (body["prompt"] for _path, body in state["completions"])
    assert first != second and first[11:] == second[11:] == "The capital of France is"


def test_prometheus_totals_sums_label_sets_and_ignores_the_rest():
    text = (
        "# HELP vllm:nixl_bytes_transferred Bytes.\n"
        "# TYPE vllm:nixl_bytes_transferred histogram\n"
        "# vllm:nixl_bytes_transferred_sum 1e9 (a comment, not a sample)\n"
        'vllm:nixl_bytes_transferred_sum{engine="0",model_name="a b"} 1024.0\n'
        'vllm:nixl_bytes_transferred_sum{engine="1",model_name="a b"} 3072.0\n'
        'vllm:nixl_bytes_transferred_count{engine="0"} 7.0\n'
        "vllm:nixl_bytes_transferred_sum_total 99.0\n"
        "vllm:nixl_num_failed_transfers_total 2\n"
        'vllm:nixl_num_failed_transfers_total{engine="1"} not-a-number\n'
        "\n"
    )
    names = ["vllm:nixl_bytes_transferred_sum", "vllm:nixl_num_failed_transfers_total", "vllm:absent_total"]
    assert http_checks.prometheus_totals(text, names) == {
        "vllm:nixl_bytes_transferred_sum": 4096.0,
        "vllm:nixl_num_failed_transfers_total": 2.0,
        "vllm:absent_total": 0.0,
    }
    assert http_checks.prometheus_totals("", names) == dict.fromkeys(names, 0.0)


def test_vllm_completion_without_a_kv_pull_fails(monkeypatch):
    """decode answered, but its NIXL counters did not grow: it computed the prompt itself."""
    state = {"completions": [], "pulls": False}
    with serve(FakeVllm, state) as url:
        rc, answer = run_cli(monkeypatch, ["vllm", "--prefill", url, "--decode", url, "--proxy", url])
    assert rc == 1 and not answer["ok"]
    assert answer["completion"]["ok"] and answer["nixl"]["transfers"] == 0
    (problem,) = answer["problems"]
    assert problem.startswith("decode pulled no KV blocks from prefill through NIXL")
    assert "vllm:nixl_xfer_time_seconds_count did not grow" in problem


def test_vllm_failed_transfer_fails_as_recomputed(monkeypatch):
    """kv_load_failure_policy recompute still answers after a failed pull: that is no disaggregation."""
    state = {"completions": [], "fail_transfers": True, "counters": {"transfers": 5, "bytes": 1 << 20, "failed": 1}}
    with serve(FakeVllm, state) as url:
        rc, answer = run_cli(monkeypatch, ["vllm", "--decode", url, "--proxy", url])
    assert rc == 1 and not answer["ok"]
    assert answer["nixl"]["failed"] == 1 and answer["nixl"]["transfers"] == 0
    (problem,) = answer["problems"]
    assert problem.startswith("decode counted 1 failed NIXL transfer(s): it recomputed the prompt")
    assert "kv_load_failure_policy recompute" in problem


class SystemctlCalls:
    """Stands in for subprocess.run in validation_http: records each systemctl call, answers rc."""

    def __init__(self, start_rc=0, stderr=""):
        self.calls = []
        self.start_rc = start_rc
        self.stderr = stderr

    def __call__(self, argv, **kwargs):
        self.calls.append(list(argv))
        rc = self.start_rc if argv[:2] == ["systemctl", "start"] else 0
        return subprocess.CompletedProcess(argv, rc, stdout="", stderr=self.stderr if rc else "")


SINGLE_UNIT = "nixl-efa-vllm-single.service"


def run_with_single(monkeypatch, single_state, systemctl=None, timeout="20"):
    systemctl = systemctl or SystemctlCalls()
    monkeypatch.setattr(http_checks.subprocess, "run", systemctl)
    state = {"completions": []}
    with serve(FakeVllm, state) as url, serve(FakeVllm, single_state) as single:
        argv = ["--timeout", timeout, "vllm", "--prefill", url, "--decode", url, "--proxy", url]
        rc, answer = run_cli(monkeypatch, argv + ["--single", single, "--single-unit", SINGLE_UNIT])
    return rc, answer, systemctl.calls


def test_vllm_single_server_with_the_same_text_passes(monkeypatch):
    single_state = {"completions": []}
    rc, answer, calls = run_with_single(monkeypatch, single_state)
    assert rc == 0 and answer["ok"], answer
    assert calls == [["systemctl", "start", SINGLE_UNIT], ["systemctl", "stop", SINGLE_UNIT]]
    single = answer["single"]
    assert single["ok"] and single["unit"] == SINGLE_UNIT and single["completion"]["text"] == " Paris."
    assert single["completion"]["ttft_seconds"] is not None and single["start_seconds"] >= 0
    # The very same request (prompt with its tag included) went to the single server.
    ((_path, body),) = single_state["completions"]
    assert body["prompt"].endswith("] The capital of France is") and body["stream"] is True


def test_vllm_single_server_text_mismatch_fails(monkeypatch):
    rc, answer, calls = run_with_single(monkeypatch, {"completions": [], "pieces": [" Lyon", "."]})
    assert rc == 1 and not answer["ok"]
    assert answer["single"]["ok"]  # it answered; its text differs
    (problem,) = answer["problems"]
    assert problem == "greedy text differs: disaggregated ' Paris.', single server ' Lyon.'"
    assert calls[-1] == ["systemctl", "stop", SINGLE_UNIT]


def test_vllm_single_server_that_does_not_start_fails(monkeypatch):
    systemctl = SystemctlCalls(start_rc=5, stderr="Unit nixl-efa-vllm-single.service not found.")
    single_state = {"completions": []}
    rc, answer, calls = run_with_single(monkeypatch, single_state, systemctl)
    assert rc == 1 and not answer["ok"]
    assert calls[0] == ["systemctl", "start", SINGLE_UNIT]
    assert single_state["completions"] == []
    assert answer["problems"] == [
        f"single server ({SINGLE_UNIT}): systemctl start {SINGLE_UNIT}: Unit nixl-efa-vllm-single.service not found."
    ]


def test_single_server_is_stopped_even_when_its_health_fails(monkeypatch):
    systemctl = SystemctlCalls()
    monkeypatch.setattr(http_checks.subprocess, "run", systemctl)
    state = {"completions": [], "sick": True}
    with serve(FakeVllm, state) as url:
        args = types.SimpleNamespace(single=url, single_unit=SINGLE_UNIT)
        client = http_checks.Client(1.0)
        result = http_checks.single_server(args, client, {"prompt": "x", "max_tokens": 1})
    assert not result["ok"]
    assert result["error"].startswith("it did not answer on /health: HTTP 503")
    assert state["completions"] == []
    assert systemctl.calls == [["systemctl", "start", SINGLE_UNIT], ["systemctl", "stop", SINGLE_UNIT]]


def test_single_server_is_stopped_when_unreachable(monkeypatch):
    systemctl = SystemctlCalls()
    monkeypatch.setattr(http_checks.subprocess, "run", systemctl)
    args = types.SimpleNamespace(single=f"http://127.0.0.1:{free_port()}", single_unit=SINGLE_UNIT)
    result = http_checks.single_server(args, http_checks.Client(0.5), {"prompt": "x"})
    assert not result["ok"] and "gave up after" in result["error"]
    assert [c[1] for c in systemctl.calls] == ["start", "stop"]


def test_stream_completion_without_text_is_not_ok(monkeypatch):
    state = {"completions": [], "pieces": []}
    with serve(FakeVllm, state) as url:
        answer = http_checks.stream_completion(http_checks.Client(5.0), f"{url}/v1/completions", {"prompt": "x"})
    assert answer["status"] == 200 and not answer["ok"]
    assert answer["error"] == "the answer has no completion text"
    assert answer["ttft_seconds"] is None and answer["last_token_seconds"] is None


def test_stream_completion_http_error(monkeypatch):
    state = {"completions": [], "key": VLLM_KEY}
    with serve(FakeVllm, state) as url:
        answer = http_checks.stream_completion(http_checks.Client(5.0), f"{url}/v1/completions", {"prompt": "x"})
    assert answer["status"] == 401 and not answer["ok"]
    assert answer["error"].startswith(f"HTTP 401 from POST {url}/v1/completions")


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
    assert answer["completion"]["ok"]
    assert answer["without_key"]["status"] == 200
    (problem,) = answer["problems"]
    assert "without the API key with HTTP 200, expected 401" in problem


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


class FakeShmAgent(FakeNixlAgent):
    """nixl._api.nixl_agent with a UCX plugin whose WRITE is a memmove in this process, DONE at once."""

    agents = {}

    def __init__(self, name, config):
        super().__init__(name, config)
        self.name, self.regions, self.remote = name, [], {}
        FakeShmAgent.agents[name] = self

    def get_plugin_list(self):
        return ["UCX"]

    def create_backend(self, name, params):
        assert params == {"ucx_error_handling_mode": "none"}
        FakeShmAgent.tls = os.environ.get("UCX_TLS")

    def get_agent_metadata(self):
        return self.name.encode()

    def add_remote_agent(self, metadata):
        return metadata.decode()

    def initialize_xfer(self, op, local, remote, peer, tag):
        if peer != nixl.SHM_TARGET:
            return "handle"
        return (int(local[0][0]), int(remote[0][0]), int(local[0][1]))

    def transfer(self, handle, notif):
        if handle == "handle":  # the main agent's transfer to the (fake) target
            return "DONE"
        src, dst, size = handle
        ctypes.memmove(dst, src, size)
        return "DONE"


class FakeShmApi(FakeNixlApi):
    nixl_agent = FakeShmAgent


def initiator_args(port, tcp_port=0, **kwargs):
    return types.SimpleNamespace(
        **dict(
            dict(backend="UCX", ip="127.0.0.1", port=port, tcp_port=tcp_port, shm_tls="shm,self"),
            **dict(dict(size_mib=1, iterations=3, seed=1, timeout=10), **kwargs),
        )
    )


@contextlib.contextmanager
def tcp_target(np, iterations, size=1 << 20):
    """The target's side of the plain TCP copy (tcp_serve) in a thread: yields (port, what it received)."""
    port = free_port()
    got = {"buf": np.zeros(size, dtype=np.uint8)}

    def serve():
        try:
            got["received"] = nixl.tcp_serve(port, got["buf"], 10, time.monotonic() + 10)
        except Exception as e:  # noqa: BLE001
            got["error"] = repr(e)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    # Yield once the thread listens: an initiator that finds the copy's port refused while the NIXL port is
    # open goes on without the copy, as it should on a node. A bind to the port fails once it is taken
    # (a probe connection would be taken for the initiator).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "error" not in got:
        with socket.socket() as probe:
            # SO_REUSEADDR, as the listener has: this probe never keeps the thread from binding, and Linux
            # still refuses it a port that a socket listens on.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                break
        time.sleep(0.01)
    try:
        yield port, got
    finally:
        thread.join(10)


def test_plain_tcp_copy_receives_the_whole_buffer_each_time():
    np = pytest.importorskip("numpy")
    src = nixl.pattern(np, 1 << 20, 5)
    with tcp_target(np, 4) as (port, got):
        figures = nixl.tcp_figures(src, "127.0.0.1", port, 4, time.monotonic() + 10, free_port())
    assert got["received"] == 4 and np.array_equal(got["buf"], src)
    assert len(figures["tcp_seconds"]) == 4
    assert figures["tcp_gbps"] > 0 and figures["tcp_gbps_best"] >= figures["tcp_gbps"]
    # tcp_seconds are rounded to the microsecond, the GB/s come from the unrounded times.
    assert figures["tcp_gbps_first"] == pytest.approx(nixl.gbps(src.nbytes, figures["tcp_seconds"][0]), rel=0.01)


def test_plain_tcp_copy_with_another_size_is_refused_by_the_target():
    np = pytest.importorskip("numpy")
    with tcp_target(np, 1, size=4096) as (port, got), pytest.raises(OSError):
        nixl.tcp_figures(nixl.pattern(np, 8192, 1), "127.0.0.1", port, 1, time.monotonic() + 5, free_port())
    assert "unexpected header" in got["error"] and "8192 bytes (expected 4096)" in got["error"]


def test_plain_tcp_copy_without_a_port_or_a_listener():
    np = pytest.importorskip("numpy")
    src = nixl.pattern(np, 4096, 1)
    with pytest.raises(nixl.Skipped, match=r"no port for the plain TCP copy"):
        nixl.tcp_figures(src, "127.0.0.1", 0, 1, time.monotonic() + 5, free_port())
    with pytest.raises(nixl.Skipped, match=r"no port for the plain TCP copy"):
        nixl.tcp_listener(0)
    port = free_port()
    # Nobody listens on either port: retried until the deadline.
    with pytest.raises(nixl.PeerTimeout, match=rf"timed out connecting to 127.0.0.1:{port} for the plain TCP copy"):
        nixl.tcp_figures(src, "127.0.0.1", port, 1, time.monotonic() + 0.5, free_port())
    # NIXL's listener is open: the target went on without the copy.
    went_on = rf"the target opened NIXL's listener without taking the plain TCP copy on port {port} \(last try: "
    with socket.create_server(("127.0.0.1", 0)) as nixl_listener, pytest.raises(nixl.Skipped, match=went_on):
        nixl.tcp_figures(src, "127.0.0.1", port, 1, time.monotonic() + 5, nixl_listener.getsockname()[1])


def test_target_gives_up_on_the_plain_tcp_copy_after_its_wait():
    np = pytest.importorskip("numpy")
    start = time.monotonic()
    with pytest.raises(nixl.Skipped, match=r"no plain TCP copy came within 0.3 s \(the initiator's answer says why\)"):
        nixl.tcp_serve(free_port(), np.zeros(16, dtype=np.uint8), 0.3, time.monotonic() + 5)
    assert time.monotonic() - start < 3


def test_plain_tcp_listener_names_what_holds_its_port():
    with socket.create_server(("", 0)) as holder:
        port = holder.getsockname()[1]
        with pytest.raises(
            nixl.Skipped, match=rf"cannot listen on port {port} for the plain TCP copy: .*LISTEN :{port}"
        ):
            nixl.tcp_listener(port)


def test_shared_memory_transfer_runs_in_a_child_with_its_own_ucx_tls():
    np = pytest.importorskip("numpy")
    src = nixl.pattern(np, 1 << 20, 9)
    before = os.environ.get("UCX_TLS")
    figures = nixl.shm_figures(np, FakeShmApi, src, 3, "posix,self", 20)
    assert figures["shm_match"] is True and len(figures["shm_seconds"]) == 3
    assert figures["shm_gbps"] > 0 and figures["shm_gbps_best"] >= figures["shm_gbps"]
    # The memory copy timed in turn with the transfers.
    assert figures["shm_memcpy_gbps"] > 0 and figures["shm_memcpy_gbps_best"] >= figures["shm_memcpy_gbps"]
    # UCX_TLS was set in the child only.
    assert os.environ.get("UCX_TLS") == before


def test_shared_memory_transfer_reports_why_it_did_not_run():
    np = pytest.importorskip("numpy")
    src = nixl.pattern(np, 4096, 1)

    class NoUcx(FakeShmAgent):
        def get_plugin_list(self):
            return ["LIBFABRIC", "POSIX"]

    class Crashes(FakeShmAgent):
        def transfer(self, handle, notif):
            faulthandler.disable()  # pytest's, inherited by the child: no traceback dump on stderr
            os.kill(os.getpid(), signal.SIGSEGV)

    class Hangs(FakeShmAgent):
        def transfer(self, handle, notif):
            return "PROC"

        def check_xfer_state(self, handle):
            return "PROC"

    class Wrong(FakeShmAgent):
        def transfer(self, handle, notif):
            return "DONE"  # nothing copied

    def api(agent):
        return type("Api", (FakeNixlApi,), {"nixl_agent": agent})

    assert nixl.shm_figures(np, api(NoUcx), src, 2, "shm,self", 20) == {
        "shm_error": "NIXL has no UCX plugin here (plugins: LIBFABRIC, POSIX)"
    }
    assert nixl.shm_figures(np, api(Crashes), src, 2, "shm,self", 20) == {
        "shm_error": "the shared-memory transfer ended without an answer (killed by SIGSEGV)"
    }
    assert nixl.shm_figures(np, api(Hangs), src, 2, "shm,self", 1) == {
        "shm_error": "the shared-memory transfer did not finish within 1 s"
    }
    assert nixl.shm_figures(np, api(Wrong), src, 2, "shm,self", 20) == {
        "shm_error": "RuntimeError: the shared-memory transfer's bytes differ from the source"
    }


def test_initiator_reports_the_transfer_and_its_yardsticks():
    np = pytest.importorskip("numpy")
    with socket.socket() as listener, tcp_target(np, 3) as (tcp_port, got):
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        result = {}
        nixl.run_initiator(np, FakeShmApi, initiator_args(listener.getsockname()[1], tcp_port), result)
    assert result["ok"] and result["phase"] == "done"
    assert not {"memcpy_error", "shm_error", "tcp_error"} & set(result)
    assert len(result["seconds"]) == len(result["memcpy_seconds"]) == len(result["tcp_seconds"]) == 3
    assert len(result["shm_seconds"]) == 3 and result["shm_tls"] == "shm,self"
    assert result["memcpy_gbps"] > 0 and result["memcpy_gbps_best"] >= result["memcpy_gbps"]
    assert result["share_of_memcpy"] == nixl.share(result["gbps"], result["memcpy_gbps"])
    assert result["share_of_tcp"] == nixl.share(result["gbps"], result["tcp_gbps"])
    assert result["shm_share_of_memcpy"] == nixl.share(result["shm_gbps"], result["shm_memcpy_gbps"])
    assert got["received"] == 3 and np.array_equal(got["buf"], nixl.pattern(np, 1 << 20, 1))


def test_initiator_measures_the_yardsticks_before_its_agent_exists(monkeypatch):
    np = pytest.importorskip("numpy")
    order = []
    copy, shm, tcp = nixl.memcpy_figures, nixl.shm_figures, nixl.tcp_figures

    class Agent(FakeNixlAgent):
        def __init__(self, name, config):
            order.append("agent")
            super().__init__(name, config)

    class Api(FakeNixlApi):
        nixl_agent = Agent

    monkeypatch.setattr(nixl, "memcpy_figures", lambda *a: order.append("memcpy") or copy(*a))
    monkeypatch.setattr(nixl, "shm_figures", lambda *a: order.append("shm") or shm(*a))
    monkeypatch.setattr(nixl, "tcp_figures", lambda *a: order.append("tcp") or tcp(*a))
    monkeypatch.setattr(nixl, "port_open", lambda *a: order.append("nixl listener") or True)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        nixl.run_initiator(np, Api, initiator_args(listener.getsockname()[1], iterations=2), {})
    # The plain TCP copy before the target's NIXL listener is even waited for (the target takes it
    # before it has an agent), the local yardsticks before this side's agent.
    assert order == ["tcp", "nixl listener", "memcpy", "shm", "agent"]


def test_yardstick_failures_leave_the_transfer_alone(monkeypatch):
    np = pytest.importorskip("numpy")

    def broken(*args):
        raise RuntimeError("the memory copy differs from its source")

    monkeypatch.setattr(nixl, "memcpy_figures", broken)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        result = {}
        # FakeNixlApi has no UCX plugin list: the shared-memory child fails; no TCP listener, and NIXL's
        # listening: the target went on without the plain copy.
        nixl.run_initiator(
            np, FakeNixlApi, initiator_args(listener.getsockname()[1], free_port(), iterations=2), result
        )
    assert result["ok"] and result["gbps"] > 0
    assert result["memcpy_error"] == "RuntimeError: the memory copy differs from its source"
    assert result["shm_error"].startswith("AttributeError: ")
    assert result["tcp_error"].startswith("the target opened NIXL's listener without taking the plain TCP copy")
    assert not {"share_of_memcpy", "memcpy_gbps", "share_of_tcp", "tcp_gbps", "shm_gbps"} & set(result)


class FakeTargetAgent(FakeNixlAgent):
    """The target's agent: the initiator's metadata at once, then every notification."""

    def check_remote_metadata(self, name):
        return True

    def send_notif(self, name, message):
        pass

    def get_new_notifs(self):
        return {nixl.INITIATOR: [nixl.TAG + b":0", nixl.TAG + b":1"]}


class TargetApi(FakeNixlApi):
    nixl_agent = FakeTargetAgent


def test_target_takes_the_plain_tcp_copy_before_it_has_an_agent(monkeypatch):
    np = pytest.importorskip("numpy")
    order = []
    serve = nixl.tcp_serve
    monkeypatch.setattr(nixl, "tcp_serve", lambda *a: order.append("tcp") or serve(*a))
    monkeypatch.setattr(nixl, "make_agent", lambda *a: order.append("agent") or FakeTargetAgent(a[1], {}))
    args = types.SimpleNamespace(
        backend="UCX", port=free_port(), tcp_port=free_port(), size_mib=1, iterations=2, seed=4, timeout=20
    )
    src = nixl.pattern(np, 1 << 20, 4)
    sent = {}
    # The initiator's side, retried until the target listens (its NIXL port stays closed meanwhile).
    thread = threading.Thread(
        target=lambda: sent.update(
            nixl.tcp_figures(src, "127.0.0.1", args.tcp_port, 2, time.monotonic() + 10, args.port)
        ),
        daemon=True,
    )
    thread.start()
    result = {}
    nixl.run_target(np, TargetApi, args, result)
    thread.join(10)
    assert order == ["tcp", "agent"]
    assert sent["tcp_gbps"] > 0 and result["tcp_received"] == 2 and result["tcp_match"] is True
    assert result["tcp_port"] == args.tcp_port and "tcp_error" not in result
    # The fake NIXL wrote nothing into the target's buffer: the plain copy's bytes do not count for it.
    assert result["match"] is False and not result["ok"]


def test_target_without_a_plain_tcp_copy_goes_on_after_half_its_time():
    np = pytest.importorskip("numpy")
    args = types.SimpleNamespace(
        backend="UCX", port=free_port(), tcp_port=free_port(), size_mib=1, iterations=2, seed=4, timeout=2
    )
    result = {}
    nixl.run_target(np, TargetApi, args, result)
    assert result["tcp_error"] == "no plain TCP copy came within 1 s (the initiator's answer says why)"
    assert "tcp_match" not in result and "tcp_received" not in result and result["phase"] == "done"


def test_share_of_memcpy():
    assert nixl.share(1.0, 8.0) == 0.125
    assert nixl.share(None, 8.0) is None
    assert nixl.share(1.0, None) is None
    assert nixl.share(1.0, 0) is None


def test_wait_for_times_out_with_what_it_waited_for():
    with pytest.raises(nixl.PeerTimeout, match="the peer"):
        nixl.wait_for(lambda: False, 0, "the peer")
    assert nixl.wait_for(lambda: 5, 0, "x") == 5


def test_nccl_sweep_doubles_from_the_smallest_size_up_to_the_tensor():
    assert nccl.sweep_sizes(1, 256) == [1, 2, 4, 8, 16, 32, 64, 128]
    # A size between powers of two starts the sweep, then the powers of two above it.
    assert nccl.sweep_sizes(3, 100) == [3, 4, 8, 16, 32, 64]
    # The tensor's own size is timed by the main measurement, not again; no sweep without a smaller size.
    assert nccl.sweep_sizes(256, 256) == [] and nccl.sweep_sizes(0, 256) == []


def test_nccl_size_row_is_nccl_tests_figures():
    row = nccl.size_row(2**20, 0.001, 16)
    assert row == {"size_bytes": 2**20, "seconds_per_iteration": 0.001, "algbw_gbps": 1.049, "busbw_gbps": 1.966}


def test_bus_bandwidth_is_nccl_tests_formula():
    assert nccl.bus_bandwidth(10.0, 16) == pytest.approx(18.75)
    assert nccl.bus_bandwidth(10.0, 2) == pytest.approx(10.0)
    assert nccl.bus_bandwidth(10.0, 1) == 0.0


def test_prometheus_totals_ignores_a_sample_timestamp():
    text = (
        'vllm:nixl_xfer_time_seconds_count{engine="0",le="a b"} 3 1733450000000\nvllm:nixl_xfer_time_seconds_count 2\n'
    )
    assert http_checks.prometheus_totals(text, ["vllm:nixl_xfer_time_seconds_count"]) == {
        "vllm:nixl_xfer_time_seconds_count": 5.0
    }


def test_single_server_without_systemctl_is_reported_not_raised(monkeypatch):
    def missing(argv, **_kwargs):
        raise FileNotFoundError(2, "No such file or directory", argv[0])

    monkeypatch.setattr(http_checks.subprocess, "run", missing)
    args = types.SimpleNamespace(single="http://127.0.0.1:9", single_unit=SINGLE_UNIT)
    result = http_checks.single_server(args, http_checks.Client(0.5), {"prompt": "x"})
    assert not result["ok"] and result["error"].startswith(f"systemctl start {SINGLE_UNIT}: ")


# --- the real NIXL, opt-in ---------------------------------------------------------------------

NIXL_PYTHON = os.environ.get("NIXL_EFA_TEST_NIXL_PYTHON", "")


def two_free_ports():
    """A port whose next one is free as well (the NIXL listener and the plain TCP copy)."""
    tries = 50
    while tries:
        tries -= 1
        port = free_port()
        if port < 65535:
            try:
                with socket.create_server(("", port + 1)):
                    return port
            except OSError:
                continue
    raise RuntimeError("no two adjacent free ports")


@pytest.mark.skipif(not NIXL_PYTHON, reason="NIXL_EFA_TEST_NIXL_PYTHON: a Python with numpy and nixl_cu12")
def test_real_nixl_over_loopback_with_its_yardsticks(tmp_path):
    """The script as the role runs it (the plan's command lines, the script on stdin), target and initiator
    on 127.0.0.1 with UCX over TCP, as in the lab: every yardstick measured, none skipped."""
    settings = {
        "nixl_port": two_free_ports(),
        "nixl_size_mib": 16,
        "nixl_iterations": 3,
        "nixl_timeout": 60,
        "nixl_backend": "UCX",
        "fabric_provider": "tcp",
        "nixl_min_share_of_tcp": 0.0,
        "nixl_shm_min_share_of_memcpy": 0.0,
    }
    node_entry = {"python": NIXL_PYTHON, "module": "nixl_cu12"}
    env = dict(os.environ, UCX_TLS="tcp", UCX_NET_DEVICES="lo")
    script = FILES / "nixl_transfer.py"
    command = nixl_command(settings, node_entry, "UCX", "20261206T131425Z", "target")
    with script.open("rb") as stdin, (tmp_path / "out").open("wb") as out, (tmp_path / "err").open("wb") as err:
        target = subprocess.Popen(["bash", "-c", command], stdin=stdin, stdout=out, stderr=err, env=env)
    initiator = subprocess.run(
        ["bash", "-c", nixl_command(settings, node_entry, "UCX", "20261206T131425Z", "initiator", "127.0.0.1")],
        input=script.read_bytes(),
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    target.wait(timeout=120)
    sent = json.loads(initiator.stdout.decode().strip().splitlines()[-1])
    got = json.loads((tmp_path / "out").read_text().strip().splitlines()[-1])
    target_err = (tmp_path / "err").read_text()
    assert sent["ok"] and got["ok"] and got["match"], (sent, got, initiator.stderr[-2000:], target_err[-2000:])
    assert got["tcp_match"] is True and got["tcp_received"] == 3 and sent["tcp_port"] == settings["nixl_port"] + 1
    assert sent["shm_match"] is True and sent["shm_tls"] == "shm,self"
    for name in (
        "gbps",
        "memcpy_gbps",
        "tcp_gbps",
        "shm_gbps",
        "shm_memcpy_gbps",
        "share_of_tcp",
        "shm_share_of_memcpy",
    ):
        assert sent[name] > 0, name
    pair = {"initiator": "a", "target": "b", "backend": "UCX"}
    assert [y["status"] for y in pair_yardsticks(pair, sent, got, settings)] == ["met", "met"]
