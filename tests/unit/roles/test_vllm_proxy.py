"""The vllm role's disaggregated prefill/decode proxy (roles/vllm/files/disagg_proxy.py).

The request transformations are tested as pure functions; then the whole proxy runs on loopback
between stand-in prefill and decode servers that record what they were sent, so the protocol
(one-token prefill with do_remote_decode, decode with the prefill's kv_transfer_params, streamed
answers, /health) is checked without vLLM or a GPU.
"""

import http.client
import http.server
import importlib.util
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

import pytest

PROXY_FILE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "vllm" / "files" / "disagg_proxy.py"
_spec = importlib.util.spec_from_file_location("disagg_proxy", PROXY_FILE)
proxy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(proxy)

KV_FROM_PREFILL = {
    "do_remote_prefill": True,
    "do_remote_decode": False,
    "remote_block_ids": [[1, 2, 3]],
    "remote_engine_id": "engine-p0",
    "remote_request_id": "req-p0",
    "remote_host": "10.0.0.5",
    "remote_port": 5600,
    "tp_size": 1,
}


def test_prefill_request_asks_one_token_and_a_remote_decode():
    body = {
        "model": "m",
        "prompt": "hello",
        "max_tokens": 64,
        "max_completion_tokens": 64,
        "stream": True,
        "stream_options": {"include_usage": True},
        "min_tokens": 8,
        "min_completion_tokens": 8,
        "temperature": 0.0,
    }
    original = json.loads(json.dumps(body))
    request = proxy.prefill_request(body)
    assert request == {
        "model": "m",
        "prompt": "hello",
        "max_tokens": 1,
        "max_completion_tokens": 1,
        "stream": False,
        "temperature": 0.0,
        "kv_transfer_params": {
            "do_remote_decode": True,
            "do_remote_prefill": False,
            "remote_engine_id": None,
            "remote_block_ids": None,
            "remote_host": None,
            "remote_port": None,
        },
    }
    assert body == original


def test_prefill_request_without_max_completion_tokens_adds_none():
    request = proxy.prefill_request({"prompt": "x"})
    assert request["max_tokens"] == 1
    assert "max_completion_tokens" not in request


def test_prefill_request_refuses_a_non_object():
    with pytest.raises(ValueError, match="JSON object"):
        proxy.prefill_request(["not", "an", "object"])


def test_decode_request_carries_the_prefill_kv_params():
    body = {"prompt": "hello", "max_tokens": 64, "stream": True, "min_tokens": 8}
    request = proxy.decode_request(body, {"choices": [], "kv_transfer_params": KV_FROM_PREFILL})
    assert request == dict(body, kv_transfer_params=KV_FROM_PREFILL)
    assert "kv_transfer_params" not in body


def test_decode_request_without_kv_params_computes_locally():
    body = {"prompt": "hi", "kv_transfer_params": {"client": "supplied"}}
    assert proxy.decode_request(body, {"choices": []}) == {"prompt": "hi"}
    assert proxy.decode_request(body, {"kv_transfer_params": None}) == {"prompt": "hi"}


def test_forwarded_headers_keep_authorization_and_one_request_id():
    headers = proxy.forwarded_headers({"Authorization": "Bearer k", "Host": "x", "Cookie": "c"}, "rid-1")
    assert headers == {"Authorization": "Bearer k", "X-Request-Id": "rid-1"}
    assert proxy.new_request_id() != proxy.new_request_id()


def test_forwarded_headers_carry_the_proxy_key_instead_of_the_client_one():
    headers = proxy.forwarded_headers({"authorization": "Bearer client", "Host": "x"}, "rid-2", api_key="proxy-key")
    assert headers == {"Authorization": "Bearer proxy-key", "X-Request-Id": "rid-2"}


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ({"Authorization": "Bearer s3cret-key-0123456789"}, True),
        ({"Authorization": "bearer s3cret-key-0123456789"}, True),
        ({"Authorization": "Bearer wrong"}, False),
        ({"Authorization": "Basic s3cret-key-0123456789"}, False),
        ({"Authorization": "s3cret-key-0123456789"}, False),
        ({}, False),
    ],
)
def test_authorized_needs_the_bearer_key(header, allowed):
    assert proxy.authorized(header, "s3cret-key-0123456789") is allowed
    assert proxy.authorized(header, None) is True


def test_health_summary():
    assert proxy.health_summary({"http://a": None, "http://b": None}) == (
        200,
        {"status": "ok", "upstreams": {"http://a": "ok", "http://b": "ok"}},
    )
    status, body = proxy.health_summary({"http://a": None, "http://b": "HTTP 503"})
    assert status == 503
    assert body["upstreams"]["http://b"] == "HTTP 503"


def test_parse_args():
    args = proxy.parse_args(
        ["--host", "10.0.0.5", "--port", "8192", "--prefill", "http://p:8100/", "--decode", "http://d1:8200"]
        + ["--decode", "http://d2:8200"]
    )
    assert (args.host, args.port) == ("10.0.0.5", 8192)
    assert args.prefill == ["http://p:8100"]
    assert args.decode == ["http://d1:8200", "http://d2:8200"]
    with pytest.raises(SystemExit):
        proxy.parse_args(["--prefill", "http://p:8100"])


# --- the whole proxy, on loopback, between stand-in servers -------------------------------------


class Upstream(http.server.ThreadingHTTPServer):
    """A stand-in vLLM server: records requests; answers as a prefill or a decode server would."""

    daemon_threads = True

    def __init__(self, role, status=200):
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        self.role = role
        self.status = status
        self.requests = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        if self.server.status != 200:
            payload = json.dumps({"error": {"message": "boom"}}).encode()
            self.send_response(self.server.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if self.server.role == "decode" and body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in (b'data: {"text": "Hel"}\n\n', b'data: {"text": "lo"}\n\n', b"data: [DONE]\n\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        answer = {"id": self.server.role, "choices": [{"text": f"from {self.server.role}"}]}
        if self.server.role == "prefill":
            answer["kv_transfer_params"] = KV_FROM_PREFILL
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def lab():
    servers = {"prefill": Upstream("prefill"), "decode": Upstream("decode")}
    server = proxy.Proxy(("127.0.0.1", 0), [servers["prefill"].url], [servers["decode"].url], timeout=10)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    servers["port"] = server.server_address[1]
    servers["proxy"] = server
    yield servers
    for s in (server, servers["prefill"], servers["decode"]):
        s.shutdown()
        s.server_close()


def call(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    payload = json.dumps(body).encode() if body is not None else None
    connection.request(method, path, body=payload, headers=dict(headers or {}, **{"Content-Type": "application/json"}))
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response, data


def test_completion_goes_to_prefill_then_decode(lab):
    body = {"model": "m", "prompt": "hello", "max_tokens": 32}
    response, data = call(lab["port"], "POST", "/v1/completions", body, {"Authorization": "Bearer k"})
    assert response.status == 200
    assert json.loads(data) == {"id": "decode", "choices": [{"text": "from decode"}]}
    (to_prefill,) = lab["prefill"].requests
    (to_decode,) = lab["decode"].requests
    assert to_prefill["path"] == to_decode["path"] == "/v1/completions"
    assert to_prefill["body"]["max_tokens"] == 1
    assert to_prefill["body"]["kv_transfer_params"]["do_remote_decode"] is True
    assert to_decode["body"] == dict(body, kv_transfer_params=KV_FROM_PREFILL)
    assert to_prefill["headers"]["X-Request-Id"] == to_decode["headers"]["X-Request-Id"]
    assert to_decode["headers"]["Authorization"] == "Bearer k"


def test_chat_completion_streams_the_decode_answer(lab):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "stream": True}
    response, data = call(lab["port"], "POST", "/v1/chat/completions", body)
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    assert data == b'data: {"text": "Hel"}\n\ndata: {"text": "lo"}\n\ndata: [DONE]\n\n'
    assert lab["prefill"].requests[0]["body"]["stream"] is False
    assert lab["decode"].requests[0]["body"]["stream"] is True


def test_prefill_error_is_returned_and_decode_not_called(lab):
    lab["prefill"].status = 500
    response, data = call(lab["port"], "POST", "/v1/completions", {"prompt": "x"})
    assert response.status == 500
    assert json.loads(data)["error"]["message"] == "boom"
    assert lab["decode"].requests == []


def test_bad_requests(lab):
    response, _body = call(lab["port"], "POST", "/v1/completions", ["not", "an", "object"])
    assert response.status == 400
    response, _body = call(lab["port"], "POST", "/v1/embeddings", {"input": "x"})
    assert response.status == 404


def test_health_checks_every_upstream(lab):
    response, data = call(lab["port"], "GET", "/health")
    assert response.status == 200
    assert json.loads(data)["status"] == "ok"
    lab["decode"].shutdown()
    lab["decode"].server_close()
    response, data = call(lab["port"], "GET", "/health")
    assert response.status == 503
    assert json.loads(data)["upstreams"][lab["decode"].url] != "ok"


def test_unreachable_decode_is_a_502(lab):
    lab["decode"].shutdown()
    lab["decode"].server_close()
    response, data = call(lab["port"], "POST", "/v1/completions", {"prompt": "x"})
    assert response.status == 502
    assert json.loads(data)["error"]["type"] == "proxy_error"


# --- with an API key (VLLM_API_KEY, from the vllm role's environment file) -----------------------

KEY = "k3y-from-the-environment-file-0123456789"


@pytest.fixture
def keyed_lab():
    servers = {"prefill": Upstream("prefill"), "decode": Upstream("decode")}
    server = proxy.Proxy(("127.0.0.1", 0), [servers["prefill"].url], [servers["decode"].url], timeout=10, api_key=KEY)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    servers["port"] = server.server_address[1]
    yield servers
    for s in (server, servers["prefill"], servers["decode"]):
        s.shutdown()
        s.server_close()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}])
def test_request_without_the_key_is_refused_and_reaches_no_server(keyed_lab, headers):
    response, data = call(keyed_lab["port"], "POST", "/v1/completions", {"prompt": "x"}, headers)
    assert response.status == 401
    assert response.getheader("WWW-Authenticate") == "Bearer"
    assert json.loads(data) == {"error": "Unauthorized"}
    assert keyed_lab["prefill"].requests == [] and keyed_lab["decode"].requests == []


def test_request_with_the_key_passes_and_the_servers_get_the_key(keyed_lab):
    authorized = {"Authorization": f"Bearer {KEY}"}
    response, data = call(keyed_lab["port"], "POST", "/v1/completions", {"prompt": "x"}, authorized)
    assert response.status == 200
    assert json.loads(data)["id"] == "decode"
    for name in ("prefill", "decode"):
        assert keyed_lab[name].requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"


def test_health_stays_open_with_a_key(keyed_lab):
    response, data = call(keyed_lab["port"], "GET", "/health")
    assert response.status == 200 and json.loads(data)["status"] == "ok"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_proxy_process_takes_the_key_from_its_environment_only():
    """As the unit runs it: the key in the environment (EnvironmentFile), never in argv or the log."""
    upstreams = [Upstream("prefill"), Upstream("decode")]
    port = free_port()
    argv = [sys.executable, str(PROXY_FILE), "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--prefill", upstreams[0].url, "--decode", upstreams[1].url]
    process = subprocess.Popen(
        argv, env=dict(os.environ, VLLM_API_KEY=KEY), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the proxy did not listen"
                time.sleep(0.05)
        refused, _body = call(port, "POST", "/v1/completions", {"prompt": "x"})
        allowed, _body = call(port, "POST", "/v1/completions", {"prompt": "x"}, {"Authorization": f"Bearer {KEY}"})
        assert (refused.status, allowed.status) == (401, 200)
        cmdline = pathlib.Path(f"/proc/{process.pid}/cmdline").read_bytes().decode()
        assert KEY not in cmdline
    finally:
        process.terminate()
        output, _err = process.communicate(timeout=10)
        for upstream in upstreams:
            upstream.shutdown()
            upstream.server_close()
    assert "API key required (VLLM_API_KEY)" in output
    assert KEY not in output
