# -*- coding: utf-8 -*-
"""The lab's throttling switch: a chosen share of API calls answered with the service's throttling error.

A stand-in for AWS's request rate limits, kept under lab/ and never shipped. Deterministic,
not random: an accumulator adds the share on every call and throttles the call that brings it
to 1, so a share of 0.2 throttles exactly every 5th call (counted across all services).

Errors by the protocol of the service's botocore model, serialized by moto like its own so that
botocore reads them as throttling: EC2 RequestLimitExceeded (HTTP 503); query services such as
IAM and STS Throttling (400); JSON services such as SSM ThrottlingException (400). moto answers
S3 outside its generic action dispatch (BaseResponse.call_action), so S3 is throttled in front
of moto instead, with SlowDown (503), and only requests signed in an Authorization header:
presigned URLs (the aws_ssm connection's file transfers, fetched with curl) never are.
/moto-api/ and the lab's own /lab/ endpoints are never throttled.

The share starts from the environment variable LAB_THROTTLE_SHARE (0 to 1, default 0) and is
read or changed while the server runs at /lab/throttle on the same port:
  GET  /lab/throttle                    -> {"share": 0.2, "calls": 12, "throttled": 2}
  POST /lab/throttle  {"share": 0.2}    -> the same, counters and accumulator reset

The same dispatch point counts every API call the lab answers, by service and action, for the
benchmarks (bench/): EC2/IAM/SSM/STS... as "<service>:<Action>", S3 requests signed in a header
as "s3:<HTTP method>", presigned S3 requests (the nodes' curl transfers) as "s3-presigned:<method>".
  GET  /lab/calls     -> {"total": 57, "by_action": {"ec2:DescribeVpcs": 4, ...}}
  POST /lab/calls     -> the same, then the counts start again from zero

Other stand-ins add their own /lab/ endpoints to ENDPOINTS (lab_scheduler.py: /lab/scheduler/fire and
/lab/scheduler/invocations); LabApp answers them beside these.
"""

import json
import math
import threading
import uuid
import warnings
from collections import Counter
from fractions import Fraction

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.core.responses import BaseResponse
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

# (code, message, HTTP status) by botocore protocol.
ERRORS = {
    "ec2": ("RequestLimitExceeded", "Request limit exceeded.", 503),
    "query": ("Throttling", "Rate exceeded", 400),
    "json": ("ThrottlingException", "Rate exceeded", 400),
    "rest-json": ("ThrottlingException", "Rate exceeded", 400),
    "rest-xml": ("Throttling", "Rate exceeded", 400),
}
EXEMPT_PATHS = ("/moto-api", "/lab/")
S3_CONTROL_PATH = "/v20180820/"

_ORIGINALS = {}
# The /lab/ endpoints of other stand-ins: path -> function(werkzeug request) -> (JSON payload, HTTP status).
ENDPOINTS = {}


class Throttled(ServiceException):
    """The service's throttling error."""


def parse_share(value):
    """A share of calls as a fraction in [0, 1]; ValueError otherwise."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"share must be a number from 0 to 1, got {value!r}")
    number = float(value)
    if math.isnan(number) or not 0 <= number <= 1:
        raise ValueError(f"share must be a number from 0 to 1, got {value!r}")
    return Fraction(str(number)).limit_denominator(1_000_000)


class Throttle:
    """Throttles exactly `share` of the calls it is asked about, evenly spread."""

    def __init__(self, share=0):
        self._lock = threading.Lock()
        self.set(share)

    def set(self, share):
        share = parse_share(share)
        with self._lock:
            self.share = share
            self._accumulated = Fraction(0)
            self.calls = 0
            self.throttled = 0

    def take(self):
        """True when this call is to be throttled."""
        with self._lock:
            self.calls += 1
            self._accumulated += self.share
            if self.share and self._accumulated >= 1:
                self._accumulated -= 1
                self.throttled += 1
                return True
            return False

    def snapshot(self):
        with self._lock:
            return {"share": float(self.share), "calls": self.calls, "throttled": self.throttled}


THROTTLE = Throttle()


class CallLedger:
    """How many calls the lab answered, by "<service>:<action>"."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = Counter()

    def record(self, key):
        with self._lock:
            self._counts[key] += 1

    def snapshot(self, reset=False):
        with self._lock:
            counts = dict(sorted(self._counts.items()))
            if reset:
                self._counts.clear()
        return {"total": sum(counts.values()), "by_action": counts}


CALLS = CallLedger()


def _throttled_response(response):
    from moto.core.utils import get_service_model  # noqa: PLC0415

    protocol = get_service_model(response.boto3_service_name).protocol
    code, message, status = ERRORS.get(protocol, ERRORS["json"])
    _status, headers, body = response.serialized(ActionResult(Throttled(code, message)))
    headers, body = response._enrich_response(headers, body)
    return status, headers, body


def call_action(self):
    """BaseResponse.call_action behind the throttle."""
    path = getattr(self, "path", "") or ""
    if not path.startswith(EXEMPT_PATHS):
        try:
            CALLS.record(f"{self.service_name}:{self._get_action()}")
        except Exception:  # an action moto cannot name is still answered (or refused) by moto
            CALLS.record(f"{self.service_name}:unknown")
    if not path.startswith(EXEMPT_PATHS) and THROTTLE.take():
        return _throttled_response(self)
    return _ORIGINALS["call_action"](self)


def _json(environ, start_response, payload, status=200):
    return Response(json.dumps(payload), status=status, mimetype="application/json")(environ, start_response)


def _signed_s3(environ):
    """An S3 request signed in its Authorization header (S3 Control, signed as s3 too, goes through moto's dispatch)."""
    path = environ.get("PATH_INFO", "")
    return "/s3/aws4_request" in environ.get("HTTP_AUTHORIZATION", "") and not path.startswith(S3_CONTROL_PATH)


def _slow_down(environ, start_response):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
        f"<Message>Please reduce your request rate.</Message><RequestId>{uuid.uuid4().hex}</RequestId></Error>"
    )
    return Response(body, status=503, mimetype="application/xml")(environ, start_response)


class LabApp:
    """moto's WSGI application with the lab's /lab/ endpoints in front of it."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith("/lab/"):
            method = environ.get("REQUEST_METHOD", "GET")
            if _signed_s3(environ):
                CALLS.record(f"s3:{method}")
                if THROTTLE.take():
                    return _slow_down(environ, start_response)
            elif "Signature=" in environ.get("QUERY_STRING", ""):  # SigV4 X-Amz-Signature or SigV2 Signature
                CALLS.record(f"s3-presigned:{method}")
            return self.app(environ, start_response)
        request = Request(environ)
        if request.path.rstrip("/") == "/lab/calls":
            if request.method not in ("GET", "POST"):
                return _json(environ, start_response, {"error": "use GET or POST"}, 405)
            return _json(environ, start_response, CALLS.snapshot(reset=request.method == "POST"))
        if request.path.rstrip("/") in ENDPOINTS:
            payload, status = ENDPOINTS[request.path.rstrip("/")](request)
            return _json(environ, start_response, payload, status)
        if request.path.rstrip("/") != "/lab/throttle":
            return _json(environ, start_response, {"error": f"no lab endpoint {request.path}"}, 404)
        if request.method == "POST":
            try:
                THROTTLE.set(json.loads(request.get_data() or b"{}")["share"])
            except (ValueError, KeyError, TypeError) as e:
                return _json(environ, start_response, {"error": f'send {{"share": 0..1}}: {e}'}, 400)
        elif request.method != "GET":
            return _json(environ, start_response, {"error": "use GET or POST"}, 405)
        return _json(environ, start_response, THROTTLE.snapshot())


def install(environ):
    """Puts BaseResponse.call_action behind the throttle, its share from LAB_THROTTLE_SHARE (idempotent)."""
    THROTTLE.set(environ.get("LAB_THROTTLE_SHARE") or 0)
    # Query services (IAM, STS) have no Throttling error shape in their models; moto warns of that.
    warnings.filterwarnings("ignore", message=r"Exception\(Throttled\)")
    _ORIGINALS.setdefault("call_action", BaseResponse.call_action)
    BaseResponse.call_action = call_action
