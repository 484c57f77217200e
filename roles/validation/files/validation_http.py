"""HTTP checks of the validation role: MLflow through its REST API, and vLLM.

Run as `python3 - COMMAND ARGS < this file` with the node's system Python (standard library only,
Python 3.8 and later; no MLflow client on the nodes). Commands, each printing one JSON object:

- mlflow-write: find or create the experiment, create a run, log params and metrics (a random
  token among them, so that a reader cannot pass on stale data), mark the run FINISHED. Prints
  the run id and exactly what it logged.
- mlflow-read: read the run back (runs/get) until it shows every expected param and metric or the
  deadline passes, then compare the values.
- mlflow-log: log a batch of params, metrics and tags into an existing run (split to the REST
  API's per-request limits), upload ARTIFACTS into it through the tracking server's proxied artifact
  endpoint (mlflow server --serve-artifacts) and read their listing back, then set its final status
  (FAILED when an artifact did not arrive).
- vllm: GET /health of the prefill and decode servers; one streamed completion through the proxy
  (time to first token) of a prompt no server has seen, with decode's NIXL counters and
  inter-token latency (tokens per second) read from its /metrics before and after: it passes
  only when decode pulled the prompt's KV blocks from prefill and counted no failed transfer;
  then, with --single-unit, the same completion from the single (plain) server, started and
  stopped around it, whose greedy text must match.

Transient failures (connection refused, timeouts, HTTP 5xx) are retried with a short backoff until
--timeout seconds have passed; there are no fixed sleeps.

Credentials come from the environment, never from the command line: MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD (HTTP basic, MLflow's basic-auth app; the names MLflow's own client reads)
for the mlflow commands, VLLM_API_KEY (Authorization: Bearer) for vllm. The validation role sets
them in the process itself, in a preamble on stdin before this file, so that ps shows none.
With VLLM_API_KEY the vllm command also checks that the proxy refuses a completion without it (401).
The files mlflow-log uploads come the same way, too large for a command line: the preamble sets ARTIFACTS
({artifact path in the run: base64 content}); without it there are none.
"""

import argparse
import base64
import json
import math
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

API = "/api/2.0/mlflow/"
# The tracking server's proxied artifact store (mlflow server --serve-artifacts): a run whose artifact_uri is
# mlflow-artifacts:/<path> keeps its files under this endpoint at <path>.
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts/"
ARTIFACT_TYPES = {".png": "image/png", ".json": "application/json", ".md": "text/markdown"}
# What the preamble gave to upload, {artifact path: base64 content}.
ARTIFACTS = globals().get("ARTIFACTS") or {}
# Per-request limits of runs/log-batch.
MAX_METRICS = 1000
MAX_PARAMS = 100
MAX_TAGS = 100
MAX_ENTITIES = 1000


class HttpError(Exception):
    """An HTTP exchange that did not succeed; status is None when no answer came."""

    def __init__(self, message, status=None, body=None):
        super().__init__(message)
        self.status = status
        self.body = body


class Client:
    """JSON over HTTP with retries of transient failures until a shared deadline."""

    def __init__(self, timeout, request_timeout=10.0, authorization=None):
        self.deadline = time.monotonic() + timeout
        self.request_timeout = request_timeout
        self.attempts = 0
        self.authorization = authorization

    def remaining(self):
        return max(self.deadline - time.monotonic(), 0.0)

    def request(
        self, method, url, payload=None, retry_statuses=(500, 502, 503, 504), authorize=True, raw=False, body=None
    ):
        """(status, JSON body), or (status, text) with raw. body: bytes sent as they are ((bytes, content type))."""
        data = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if body is not None:
            data, headers["Content-Type"] = body
        if authorize and self.authorization:
            headers["Authorization"] = self.authorization
        delay = 0.25
        while True:
            self.attempts += 1
            try:
                req = urllib.request.Request(url, data=data, headers=headers, method=method)
                with urllib.request.urlopen(req, timeout=self.request_timeout) as resp:
                    body = resp.read().decode("utf-8", "replace")
                    if raw:
                        return resp.status, body
                    return resp.status, (json.loads(body) if body.strip() else {})
            except urllib.error.HTTPError as e:
                body = e.read().decode("utf-8", "replace")
                error = HttpError(f"HTTP {e.code} from {method} {url}: {body[:300]}", e.code, body)
                if e.code not in retry_statuses:
                    raise error
            except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
                reason = getattr(e, "reason", e)
                error = HttpError(f"{method} {url}: {reason}")
            if time.monotonic() + delay > self.deadline:
                raise HttpError(f"{error} (gave up after {self.attempts} attempts)", error.status, error.body)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def authorization(command, environ):
    """The Authorization header for a command, from the environment; None without credentials."""
    if command == "vllm":
        key = environ.get("VLLM_API_KEY", "")
        return f"Bearer {key}" if key else None
    user, password = environ.get("MLFLOW_TRACKING_USERNAME", ""), environ.get("MLFLOW_TRACKING_PASSWORD", "")
    if not (user and password):
        return None
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def mlflow_url(base, endpoint, query=None):
    url = base.rstrip("/") + API + endpoint
    if query:
        url += "?" + urllib.parse.urlencode(query)
    return url


def now_ms():
    return int(time.time() * 1000)


def kv_list(mapping):
    return [{"key": str(k), "value": str(v)} for k, v in sorted(mapping.items())]


def metric_list(mapping, timestamp):
    metrics = []
    for key, raw in sorted(mapping.items()):
        value = float(raw)
        if math.isnan(value) or math.isinf(value):
            continue
        metrics.append({"key": str(key), "value": value, "timestamp": timestamp, "step": 0})
    return metrics


def batches(params, metrics, tags):
    """Split params/metrics/tags into log-batch requests within the REST API's limits."""
    params, metrics, tags = list(params), list(metrics), list(tags)
    out = []
    while params or metrics or tags:
        batch = {"params": params[:MAX_PARAMS], "tags": tags[:MAX_TAGS]}
        params, tags = params[MAX_PARAMS:], tags[MAX_TAGS:]
        room = min(MAX_METRICS, MAX_ENTITIES - len(batch["params"]) - len(batch["tags"]))
        batch["metrics"] = metrics[:room]
        metrics = metrics[room:]
        out.append(batch)
    return out


def experiment_id(client, base, name):
    try:
        status, body = client.request("GET", mlflow_url(base, "experiments/get-by-name", {"experiment_name": name}))
        return body["experiment"]["experiment_id"], False
    except HttpError as e:
        if e.status != 404:
            raise
    try:
        status, body = client.request("POST", mlflow_url(base, "experiments/create"), {"name": name})
        return body["experiment_id"], True
    except HttpError as e:
        # Created by someone else in between.
        if e.status == 400 and "RESOURCE_ALREADY_EXISTS" in (e.body or ""):
            status, body = client.request("GET", mlflow_url(base, "experiments/get-by-name", {"experiment_name": name}))
            return body["experiment"]["experiment_id"], False
        raise


def log_batches(client, base, run_id, params, metrics, tags):
    timestamp = now_ms()
    requests = batches(kv_list(params), metric_list(metrics, timestamp), kv_list(tags))
    for batch in requests:
        client.request("POST", mlflow_url(base, "runs/log-batch"), dict(batch, run_id=run_id))
    return len(requests)


def cmd_mlflow_write(args, client):
    token = secrets.token_hex(8)
    params = dict(json.loads(args.params_json), **{"validation.token": token})
    metrics = dict(json.loads(args.metrics_json), **{"validation.token_value": int(token[:6], 16)})
    tags = json.loads(args.tags_json)
    exp_id, created = experiment_id(client, args.url, args.experiment)
    started = now_ms()
    status, body = client.request(
        "POST",
        mlflow_url(args.url, "runs/create"),
        {
            "experiment_id": exp_id,
            "run_name": args.run_name,
            "start_time": started,
            "tags": kv_list(dict(tags, **{"mlflow.runName": args.run_name})),
        },
    )
    run_id = body["run"]["info"]["run_id"]
    log_batches(client, args.url, run_id, params, metrics, {})
    client.request(
        "POST", mlflow_url(args.url, "runs/update"), {"run_id": run_id, "status": "FINISHED", "end_time": now_ms()}
    )
    return {
        "ok": True,
        "experiment_id": exp_id,
        "experiment_created": created,
        "run_id": run_id,
        "params": params,
        "metrics": metrics,
    }


def run_values(body):
    data = body.get("run", {}).get("data", {})
    params = {p["key"]: p["value"] for p in data.get("params", [])}
    metrics = {m["key"]: m["value"] for m in data.get("metrics", [])}
    return params, metrics


def compare(expected_params, expected_metrics, params, metrics):
    """Differences between what was written and what was read; [] when they agree."""
    problems = []
    for key, value in sorted(expected_params.items()):
        if key not in params:
            problems.append(f"param {key} missing")
        elif str(params[key]) != str(value):
            problems.append(f"param {key} is {params[key]!r}, wrote {str(value)!r}")
    for key, value in sorted(expected_metrics.items()):
        if key not in metrics:
            problems.append(f"metric {key} missing")
        elif not math.isclose(float(metrics[key]), float(value), rel_tol=1e-9, abs_tol=1e-9):
            problems.append(f"metric {key} is {metrics[key]!r}, wrote {value!r}")
    return problems


def cmd_mlflow_read(args, client):
    expected = json.loads(args.expect_json)
    url = mlflow_url(args.url, "runs/get", {"run_id": args.run_id})
    problems = ["run not read"]
    params, metrics = {}, {}
    delay = 0.25
    # A fresh run may not be visible at once behind a load balancer or a replicated store: read
    # again until it shows everything or the deadline passes.
    while True:
        status, body = client.request("GET", url)
        params, metrics = run_values(body)
        problems = compare(expected.get("params", {}), expected.get("metrics", {}), params, metrics)
        if not problems or time.monotonic() + delay > client.deadline:
            break
        time.sleep(delay)
        delay = min(delay * 2, 2.0)
    info = body.get("run", {}).get("info", {})
    return {
        "ok": not problems,
        "match": not problems,
        "problems": problems,
        "run_id": args.run_id,
        "status": info.get("status"),
        "params_read": len(params),
        "metrics_read": len(metrics),
    }


def artifact_root(uri):
    """The path of a run's artifacts under ARTIFACTS_API; None when its artifact_uri is not the server's to serve."""
    parsed = urllib.parse.urlparse(uri or "")
    return parsed.path.strip("/") if parsed.scheme == "mlflow-artifacts" else None


def upload_artifacts(client, base, run_id, artifacts):
    """PUT each artifact into the run through the tracking server, then list the run's folders: [{path, bytes,
    listed}] (listed: the listing shows it with its size). Raises HttpError when the server does not serve the
    run's artifacts."""
    _status, body = client.request("GET", mlflow_url(base, "runs/get", {"run_id": run_id}))
    uri = body.get("run", {}).get("info", {}).get("artifact_uri")
    root = artifact_root(uri)
    if root is None:
        raise HttpError(
            f"the run's artifacts go to {uri!r}, which the tracking server does not serve (mlflow server "
            "--serve-artifacts with --artifacts-destination): nothing uploaded"
        )
    uploaded = []
    for name, content in sorted(artifacts.items()):
        path = name.strip("/")
        data = base64.b64decode(content)
        kind = ARTIFACT_TYPES.get(os.path.splitext(path)[1].lower(), "application/octet-stream")
        url = base.rstrip("/") + ARTIFACTS_API + urllib.parse.quote(f"{root}/{path}")
        client.request("PUT", url, body=(data, kind))
        uploaded.append({"path": path, "bytes": len(data)})
    listed = {}
    for folder in sorted({item["path"].rpartition("/")[0] for item in uploaded}):
        query = dict({"run_id": run_id}, **({"path": folder} if folder else {}))
        _status, body = client.request("GET", mlflow_url(base, "artifacts/list", query))
        listed.update({f["path"]: f.get("file_size") for f in body.get("files") or [] if not f.get("is_dir")})
    for item in uploaded:
        size = listed.get(item["path"])
        item["listed"] = size is not None and int(size) == item["bytes"]
    return uploaded


def cmd_mlflow_log(args, client):
    payload = json.loads(args.payload_json)
    requests = log_batches(
        client, args.url, args.run_id, payload.get("params", {}), payload.get("metrics", {}), payload.get("tags", {})
    )
    artifacts, error = [], None
    if ARTIFACTS:
        try:
            artifacts = upload_artifacts(client, args.url, args.run_id, ARTIFACTS)
            missing = [a["path"] for a in artifacts if not a["listed"]]
            if missing:
                error = f"the run does not list {', '.join(missing)} with its size after the upload"
        except HttpError as e:
            error = str(e)
    status = "FAILED" if error else args.status
    client.request(
        "POST",
        mlflow_url(args.url, "runs/update"),
        {"run_id": args.run_id, "status": status, "end_time": now_ms()},
    )
    answer = {
        "ok": not error,
        "run_id": args.run_id,
        "requests": requests,
        "params": len(payload.get("params", {})),
        "metrics": len(payload.get("metrics", {})),
        "tags": len(payload.get("tags", {})),
        "artifacts": artifacts,
        "status": status,
    }
    if error:
        answer.update(error=f"artifact upload: {error}", artifact_error=True)
    return answer


def completions_url(proxy):
    proxy = proxy.rstrip("/")
    return proxy if proxy.endswith("/v1/completions") else proxy + "/v1/completions"


# What decode's /metrics (Prometheus text) says about NIXL: the pulls it made, their bytes, and the
# failures (a failed pull under kv_load_failure_policy "recompute" still answers, computed locally).
NIXL_METRICS = {
    "transfers": "vllm:nixl_xfer_time_seconds_count",
    "bytes": "vllm:nixl_bytes_transferred_sum",
    "failed": "vllm:nixl_num_failed_transfers_total",
    "expired": "vllm:nixl_num_kv_expired_reqs_total",
}


def prometheus_totals(text, names):
    """{name: sum over label sets} of the samples named in names (Prometheus text format); 0 when absent."""
    totals = dict.fromkeys(names, 0.0)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        # name{labels} value [timestamp]: the value is the first word after the name and its labels.
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in totals:
            rest = line[len(name) :]
            if rest.startswith("{"):
                rest = rest[rest.find("}") + 1 :]
            try:
                totals[name] += float(rest.split()[0])
            except (IndexError, ValueError):
                continue
    return totals


# The decoding server's own inter-token latency: tokens per second after the first, measured where the
# tokens are made (a stream read on a loaded host can arrive in bunches, which says nothing of the rate).
SERVER_METRICS = dict(
    NIXL_METRICS,
    itl_sum="vllm:inter_token_latency_seconds_sum",
    itl_count="vllm:inter_token_latency_seconds_count",
)


def server_counters(client, base):
    """The SERVER_METRICS totals of one vLLM server's /metrics."""
    _status, text = client.request("GET", base.rstrip("/") + "/metrics", raw=True)
    totals = prometheus_totals(text, SERVER_METRICS.values())
    return {key: totals[name] for key, name in SERVER_METRICS.items()}


def decode_rate(before, after):
    """Tokens per second after the first one, from the server's inter-token latency between two reads."""
    seconds = after["itl_sum"] - before["itl_sum"]
    tokens = after["itl_count"] - before["itl_count"]
    return round(tokens / seconds, 2) if seconds > 0 and tokens > 0 else None


def stream_completion(client, url, request):
    """One streamed completion: text, tokens and the time to its first token, as the client sees it."""
    body = dict(request, stream=True, stream_options={"include_usage": True})
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    if client.authorization:
        headers["Authorization"] = client.authorization
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    client.attempts += 1
    started = time.monotonic()
    first = last = stream_error = None
    pieces, chunks, usage = [], 0, {}
    try:
        with urllib.request.urlopen(req, timeout=max(client.remaining(), 1.0)) as resp:
            status = resp.status
            for raw_line in resp:
                line = raw_line.decode("utf-8", "replace").strip()
                if not line.startswith("data:") or line == "data: [DONE]":
                    continue
                event = json.loads(line[5:])
                if event.get("error"):
                    error = event["error"]
                    stream_error = error.get("message") if isinstance(error, dict) else str(error)
                usage = event.get("usage") or usage
                for choice in event.get("choices") or []:
                    if choice.get("text"):
                        now = time.monotonic()
                        first = now if first is None else first
                        last = now
                        chunks += 1
                        pieces.append(choice["text"])
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace")[:300]
        return {"url": url, "status": e.code, "ok": False, "error": f"HTTP {e.code} from POST {url}: {detail}"}
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError, ValueError) as e:
        return {"url": url, "status": None, "ok": False, "error": f"POST {url}: {getattr(e, 'reason', e)}"}
    text = "".join(pieces)
    tokens = usage.get("completion_tokens") or chunks
    answer = {
        "url": url,
        "status": status,
        "ok": status == 200 and bool(text),
        "text": text[:200],
        "completion_tokens": tokens,
        "prompt_tokens": usage.get("prompt_tokens"),
        "seconds": round(time.monotonic() - started, 3),
        "ttft_seconds": round(first - started, 3) if first is not None else None,
        "last_token_seconds": round(last - started, 3) if last is not None else None,
    }
    if stream_error:
        answer["ok"] = False
        answer["error"] = f"the server reported an error in the stream: {stream_error}"
    elif not text:
        answer["error"] = "the answer has no completion text"
    return answer


def single_server(args, client, request):
    """Starts the single (plain) server, asks it the same completion, and stops it again."""
    unit = args.single_unit
    started = time.monotonic()
    result = {"url": args.single, "unit": unit, "ok": False}
    try:
        run = subprocess.run(["systemctl", "start", unit], capture_output=True, text=True, check=False)
    except OSError as e:
        result["error"] = f"systemctl start {unit}: {e}"
        return result
    if run.returncode != 0:
        result["error"] = f"systemctl start {unit}: {(run.stderr or run.stdout).strip()}"
        return result
    try:
        status, _body = client.request("GET", args.single.rstrip("/") + "/health")
        result["start_seconds"] = round(time.monotonic() - started, 3)
        if status != 200:
            result["error"] = f"/health answered HTTP {status}"
            return result
        before = server_counters(client, args.single)
        result["completion"] = stream_completion(client, completions_url(args.single), request)
        result["completion"]["tokens_per_second"] = decode_rate(before, server_counters(client, args.single))
        result["ok"] = result["completion"]["ok"]
        if not result["ok"]:
            result["error"] = result["completion"].get("error")
    except HttpError as e:
        result["error"] = f"it did not answer on /health: {e}"
    finally:
        try:
            subprocess.run(["systemctl", "stop", unit], capture_output=True, text=True, check=False)
        except OSError as e:
            result["stop_error"] = str(e)
    return result


def cmd_vllm(args, client):
    answer = {"ok": False, "health": {}, "completion": None}
    for name, base in (("prefill", args.prefill), ("decode", args.decode)):
        if not base:
            continue
        started = time.monotonic()
        try:
            status, body = client.request("GET", base.rstrip("/") + "/health")
            answer["health"][name] = {"url": base, "status": status, "ok": status == 200}
        except HttpError as e:
            answer["health"][name] = {"url": base, "status": e.status, "ok": False, "error": str(e)}
        answer["health"][name]["seconds"] = round(time.monotonic() - started, 3)
    problems = [
        f"{name} /health: {h.get('error') or 'HTTP ' + str(h['status'])}"
        for name, h in answer["health"].items()
        if not h["ok"]
    ]
    if not args.proxy or problems:
        answer["ok"] = bool(answer["health"]) and not problems
        answer["problems"] = problems
        return answer
    # A prompt no server has seen: with a cached prefix decode would compute it locally and pull nothing.
    prompt = f"[{secrets.token_hex(4)}] {args.prompt}"
    request = {"prompt": prompt, "max_tokens": args.max_tokens, "temperature": 0, "ignore_eos": True}
    if args.model:
        request["model"] = args.model
    try:
        before = server_counters(client, args.decode) if args.decode else None
    except HttpError as e:
        before, problems = None, problems + [f"decode /metrics: {e}"]
    answer["completion"] = stream_completion(client, completions_url(args.proxy), request)
    if answer["completion"]["ok"] and before is not None:
        try:
            after = server_counters(client, args.decode)
            answer["nixl"] = {key: after[key] - before[key] for key in NIXL_METRICS}
            answer["completion"]["tokens_per_second"] = decode_rate(before, after)
        except HttpError as e:
            problems.append(f"decode /metrics: {e}")
    if answer["completion"]["ok"] and args.single_unit:
        answer["single"] = single_server(args, client, request)
    if client.authorization:
        answer["without_key"] = refused_without_key(client, completions_url(args.proxy), request)
    answer["problems"] = problems + vllm_problems(answer)
    answer["ok"] = not answer["problems"]
    return answer


def vllm_problems(answer):
    """What keeps the disaggregated path from passing: every rule broken, in words."""
    problems = []
    completion = answer["completion"]
    if not completion["ok"]:
        return [f"completion through the proxy: {completion.get('error')}"]
    nixl = answer.get("nixl")
    if nixl is not None:
        if nixl["failed"] > 0:
            problems.append(
                f"decode counted {nixl['failed']:.0f} failed NIXL transfer(s): it recomputed the prompt instead of "
                "pulling its KV blocks from prefill (kv_load_failure_policy recompute), so this was not disaggregated"
            )
        elif nixl["transfers"] < 1:
            problems.append(
                "decode pulled no KV blocks from prefill through NIXL (vllm:nixl_xfer_time_seconds_count did not "
                "grow): it computed the prompt itself"
            )
    single = answer.get("single")
    if single is not None:
        if not single["ok"]:
            problems.append(f"single server ({single['unit']}): {single.get('error')}")
        elif single["completion"]["text"] != completion["text"]:
            problems.append(
                f"greedy text differs: disaggregated {completion['text'][:60]!r}, single server "
                f"{single['completion']['text'][:60]!r}"
            )
    without_key = answer.get("without_key")
    if without_key is not None and not without_key["ok"]:
        problems.append(
            f"the proxy answered a completion without the API key with HTTP {without_key['status']}, "
            "expected 401: is VLLM_API_KEY in its environment file?"
        )
    return problems


def refused_without_key(client, url, request):
    """The same completion without the key: the proxy must refuse it (401), as vLLM's servers do."""
    try:
        status, _body = client.request("POST", url, request, authorize=False)
    except HttpError as e:
        status = e.status
    return {"url": url, "status": status, "ok": status == 401}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole command")
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("mlflow-write")
    write.add_argument("--url", required=True)
    write.add_argument("--experiment", required=True)
    write.add_argument("--run-name", required=True)
    write.add_argument("--params-json", default="{}")
    write.add_argument("--metrics-json", default="{}")
    write.add_argument("--tags-json", default="{}")
    read = sub.add_parser("mlflow-read")
    read.add_argument("--url", required=True)
    read.add_argument("--run-id", required=True)
    read.add_argument("--expect-json", required=True, help='{"params": {...}, "metrics": {...}}')
    log = sub.add_parser("mlflow-log")
    log.add_argument("--url", required=True)
    log.add_argument("--run-id", required=True)
    log.add_argument("--payload-json", required=True, help='{"params": {...}, "metrics": {...}, "tags": {...}}')
    log.add_argument("--status", default="FINISHED", choices=["FINISHED", "FAILED", "KILLED"])
    vllm = sub.add_parser("vllm")
    vllm.add_argument("--prefill", default="")
    vllm.add_argument("--decode", default="")
    vllm.add_argument("--proxy", default="")
    vllm.add_argument("--model", default="")
    vllm.add_argument("--prompt", default="The capital of France is")
    vllm.add_argument("--max-tokens", type=int, default=8)
    vllm.add_argument("--single", default="", help="URL of the single (plain) server")
    vllm.add_argument("--single-unit", default="", help="its systemd unit, started and stopped around one completion")
    args = parser.parse_args()

    commands = {
        "mlflow-write": cmd_mlflow_write,
        "mlflow-read": cmd_mlflow_read,
        "mlflow-log": cmd_mlflow_log,
        "vllm": cmd_vllm,
    }
    client = Client(args.timeout, authorization=authorization(args.command, os.environ))
    started = time.monotonic()
    try:
        answer = commands[args.command](args, client)
    except (HttpError, KeyError, ValueError) as e:
        answer = {"ok": False, "error": f"{type(e).__name__}: {e}", "status": getattr(e, "status", None)}
    answer.update(command=args.command, attempts=client.attempts, seconds=round(time.monotonic() - started, 3))
    print(json.dumps(answer, sort_keys=True))
    return 0 if answer["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
