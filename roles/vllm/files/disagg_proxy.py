"""Disaggregated prefill/decode proxy for vLLM servers that share KV cache through NixlConnector.

Each OpenAI-style completion request is sent twice:

1. to a prefill server, as a one-token, non-streaming request whose ``kv_transfer_params`` ask it
   to keep the prompt's KV blocks for a remote decoder (``do_remote_decode``);
2. to a decode server, as the client's own request plus the ``kv_transfer_params`` the prefill
   server answered with (engine id, block ids, side-channel host and port): the decoder pulls
   the KV blocks over NIXL and generates the rest, streaming when the client asked for it.

Endpoints: POST /v1/completions, POST /v1/chat/completions, GET /health (200 when every upstream
answers its /health, else 503, with the per-upstream result as JSON).

With the environment variable VLLM_API_KEY set (the vllm role's environment file), the /v1/ routes
require ``Authorization: Bearer <key>`` (else 401, as vLLM's own servers answer) and the proxy sends
that key to the servers, which require it too. /health stays open, as on vLLM. The key is read from
the environment only, never from the command line, and never logged.

Servers are chosen round robin. Standard library only (one thread per client connection): the
request transformations are pure functions, and the whole proxy runs in tests against stand-in
servers, without vLLM or a GPU.

    python disagg_proxy.py --host 10.0.0.5 --port 8192 \\
        --prefill http://10.0.0.5:8100 --decode http://10.0.0.6:8200
"""

import argparse
import copy
import hmac
import http.client
import http.server
import itertools
import json
import logging
import os
import threading
import urllib.parse
import uuid

LOG = logging.getLogger("nixl-efa-proxy")

# What vLLM's NixlConnector reads on the prefill side: produce KV for a remote decoder.
PREFILL_KV_TRANSFER_PARAMS = {
    "do_remote_decode": True,
    "do_remote_prefill": False,
    "remote_engine_id": None,
    "remote_block_ids": None,
    "remote_host": None,
    "remote_port": None,
}
# Sampling options a one-token prefill request must not carry (they would contradict max_tokens=1).
PREFILL_DROPPED_FIELDS = ("min_tokens", "min_completion_tokens", "stream_options")
# Headers passed on from the client to both servers (Authorization is replaced by the proxy's own key
# when it has one).
FORWARDED_HEADERS = ("authorization",)
# Where the key comes from: the environment (systemd's EnvironmentFile), the name vLLM reads too.
API_KEY_ENV = "VLLM_API_KEY"


def prefill_request(body):
    """The request for the prefill server: one token, no streaming, KV kept for a remote decoder."""
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    request = copy.deepcopy(body)
    for field in PREFILL_DROPPED_FIELDS:
        request.pop(field, None)
    request["kv_transfer_params"] = dict(PREFILL_KV_TRANSFER_PARAMS)
    request["stream"] = False
    request["max_tokens"] = 1
    if "max_completion_tokens" in request:
        request["max_completion_tokens"] = 1
    return request


def decode_request(body, prefill_response):
    """The request for the decode server: the client's request plus the prefill's KV parameters.

    Without kv_transfer_params in the prefill answer (a prompt too short to leave a full KV block,
    or a prefill server without the connector) the decoder simply computes the prompt itself.
    """
    request = copy.deepcopy(body)
    params = prefill_response.get("kv_transfer_params") if isinstance(prefill_response, dict) else None
    if params:
        request["kv_transfer_params"] = params
    else:
        request.pop("kv_transfer_params", None)
    return request


def forwarded_headers(headers, request_id, api_key=None):
    """Headers for the upstream requests: the proxy's key (else the client's Authorization) and one
    request id for both."""
    out = {name: value for name, value in headers.items() if name.lower() in FORWARDED_HEADERS}
    if api_key:
        out = {name: value for name, value in out.items() if name.lower() != "authorization"}
        out["Authorization"] = f"Bearer {api_key}"
    out["X-Request-Id"] = request_id
    return out


def authorized(headers, api_key):
    """Whether a request may pass: always without a key, else only with ``Authorization: Bearer <key>``
    (compared in constant time)."""
    if not api_key:
        return True
    given = headers.get("Authorization") or ""
    scheme, _space, token = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), api_key.encode())


def new_request_id():
    return f"nixl-efa-{uuid.uuid4().hex}"


def health_summary(results):
    """(http status, body) for /health from {url: error-or-None} of every upstream."""
    healthy = all(error is None for error in results.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "upstreams": {url: ("ok" if error is None else error) for url, error in sorted(results.items())},
    }
    return (200 if healthy else 503), body


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8192, help="port to listen on")
    parser.add_argument("--prefill", action="append", required=True, help="prefill server base URL (repeat)")
    parser.add_argument("--decode", action="append", required=True, help="decode server base URL (repeat)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds an upstream request may take")
    args = parser.parse_args(argv)
    args.prefill = [url.rstrip("/") for url in args.prefill]
    args.decode = [url.rstrip("/") for url in args.decode]
    return args


def upstream_post(base_url, path, body, headers, timeout):
    """Open a POST of JSON body to base_url + path; returns the live http.client response."""
    url = urllib.parse.urlsplit(base_url)
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(url.hostname, url.port, timeout=timeout)
    payload = json.dumps(body).encode()
    connection.request(
        "POST", url.path + path, body=payload, headers=dict(headers, **{"Content-Type": "application/json"})
    )
    return connection.getresponse()


def upstream_health(base_url, timeout=5.0):
    """None when base_url/health answers 200, else the reason."""
    url = urllib.parse.urlsplit(base_url)
    try:
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        connection.request("GET", url.path + "/health")
        status = connection.getresponse().status
        connection.close()
    except (OSError, http.client.HTTPException) as e:
        return f"{type(e).__name__}: {e}"
    return None if status == 200 else f"HTTP {status}"


class Proxy(http.server.ThreadingHTTPServer):
    """The proxy server: round-robin prefill and decode upstreams, one thread per connection."""

    daemon_threads = True

    def __init__(self, address, prefill, decode, timeout=600.0, api_key=None):
        super().__init__(address, Handler)
        self.api_key = api_key or None
        self.prefills = itertools.cycle(prefill)
        self.decodes = itertools.cycle(decode)
        self.upstreams = list(prefill) + list(decode)
        self.timeout_s = timeout
        self.lock = threading.Lock()

    def next_pair(self):
        with self.lock:
            return next(self.prefills), next(self.decodes)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nixl-efa-proxy"
    routes = ("/v1/completions", "/v1/chat/completions")

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        LOG.info("%s %s", self.address_string(), format % args)

    def send_json(self, status, body, headers=None):
        payload = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def relay(self, answer):
        """Pass an upstream answer on: whole when it has a length, else chunk by chunk (streaming)."""
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.getheader("Content-Type", "application/json"))
        length = answer.getheader("Content-Length")
        if length is not None:
            payload = answer.read()
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        while True:
            chunk = answer.read1(65536)
            if not chunk:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self):
        if self.path != "/health":
            self.send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        status, body = health_summary({url: upstream_health(url) for url in self.server.upstreams})
        self.send_json(status, body)

    def do_POST(self):
        if self.path not in self.routes:
            self.send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
        except ValueError as e:
            self.send_json(400, {"error": {"message": str(e), "type": "invalid_request_error"}})
            return
        if not authorized(self.headers, self.server.api_key):
            self.send_json(401, {"error": "Unauthorized"}, {"WWW-Authenticate": "Bearer"})
            return
        try:
            body = json.loads(raw or b"null")
            to_prefill = prefill_request(body)
        except ValueError as e:
            self.send_json(400, {"error": {"message": str(e), "type": "invalid_request_error"}})
            return
        request_id = new_request_id()
        headers = forwarded_headers(self.headers, request_id, self.server.api_key)
        prefill_url, decode_url = self.server.next_pair()
        timeout = self.server.timeout_s
        try:
            answer = upstream_post(prefill_url, self.path, to_prefill, headers, timeout)
            if answer.status != 200:
                self.relay(answer)
                return
            prefilled = json.loads(answer.read())
            answer = upstream_post(decode_url, self.path, decode_request(body, prefilled), headers, timeout)
            self.relay(answer)
        except (OSError, http.client.HTTPException, ValueError) as e:
            LOG.warning("request %s failed: %s", request_id, e)
            self.send_json(502, {"error": {"message": f"upstream failed: {e}", "type": "proxy_error"}})


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args(argv)
    api_key = os.environ.get(API_KEY_ENV) or None
    server = Proxy((args.host, args.port), args.prefill, args.decode, args.timeout, api_key)
    LOG.info(
        "prefill %s, decode %s, listening on %s:%d, %s",
        args.prefill,
        args.decode,
        args.host,
        args.port,
        f"API key required ({API_KEY_ENV})" if api_key else f"no API key ({API_KEY_ENV} not set): open to anyone",
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
