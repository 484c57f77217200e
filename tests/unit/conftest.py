# -*- coding: utf-8 -*-
"""Shared fixtures: the collection on sys.path, module runner, and stubbed EC2 and SSM clients.

Every AWS request a module makes goes through botocore's Stubber, which checks
each request against the real service model shipped with botocore.
"""

import os
import pathlib
import sys
import time
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".collections"
LINK = COLLECTIONS / "ansible_collections" / "nixl_efa" / "cluster"
if not LINK.exists():
    LINK.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(os.path.relpath(ROOT, LINK.parent), LINK)
for path in (COLLECTIONS, pathlib.Path(__file__).resolve().parent):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import botocore.session  # noqa: E402
from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils import modules as aws_modules  # noqa: E402
from botocore.stub import Stubber  # noqa: E402


class _Exit(Exception):
    pass


class _Fail(Exception):
    pass


@pytest.fixture
def run_module(monkeypatch):
    """Run a module's main() with args; return its result dict (failed=True on fail_json)."""

    def exit_json(self, **kwargs):
        raise _Exit(kwargs)

    def fail_json(self, msg="", **kwargs):
        kwargs.update(failed=True, msg=msg)
        raise _Fail(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run(module, args, check_mode=False, aws=True):
        """aws=False for modules that run on a node and take no AWS connection options."""
        if aws:
            args = dict(args, region="us-east-1", access_key="AKIDEXAMPLE", secret_key="not-a-secret")
        else:
            args = dict(args)
        if check_mode:
            args["_ansible_check_mode"] = True
        with patch_module_args(args):
            try:
                module.main()
            except (_Exit, _Fail) as e:
                result = e.args[0]
                result.setdefault("failed", False)
                return result
        raise AssertionError("module returned without exit_json or fail_json")

    return run


def _stubbed(monkeypatch, service, throttling_code, throttling_status):
    """A real botocore client for service behind a Stubber, handed to every module.client() call."""
    client = botocore.session.get_session().create_client(
        service, region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="not-a-secret"
    )
    stub = Stubber(client)
    state = types.SimpleNamespace(stub=stub, client=client, connections=[], sleeps=[], requests=[])

    def record(params, model, **kwargs):
        state.requests.append((model.name, params))

    client.meta.events.register(f"provide-client-params.{service}.*", record)
    state.calls = lambda: [name for name, params in state.requests]

    def throttle(operation, times=2):
        """Answer the next `times` calls of operation with the service's throttling error."""
        for attempt in range(times):
            stub.add_client_error(operation, throttling_code, f"Rate exceeded ({attempt + 1})", throttling_status)

    state.throttle = throttle
    state.params = lambda op: [params for name, params in state.requests if name == op]

    def fake_conn(module, conn_type, resource=None, region=None, endpoint=None, **params):
        state.connections.append(params)
        return client

    monkeypatch.setattr(aws_modules, "boto3_conn", fake_conn)
    monkeypatch.setattr(time, "sleep", state.sleeps.append)
    return state


def _stub_fixture(service, throttling_code, throttling_status, doc):
    """A pytest fixture yielding _stubbed(service), checking that every queued response was used."""

    def fixture(monkeypatch):
        state = _stubbed(monkeypatch, service, throttling_code, throttling_status)
        state.stub.activate()
        yield state
        state.stub.deactivate()
        state.stub.assert_no_pending_responses()

    fixture.__doc__ = doc
    return pytest.fixture(fixture, name=service)


ec2 = _stub_fixture(
    "ec2", "RequestLimitExceeded", 503, "A stubbed EC2 client; requests are checked against botocore's EC2 model."
)
ssm = _stub_fixture("ssm", "ThrottlingException", 400, "A stubbed Systems Manager client, like ec2.")
s3 = _stub_fixture("s3", "SlowDown", 503, "A stubbed S3 client, like ec2.")
scheduler = _stub_fixture("scheduler", "ThrottlingException", 400, "A stubbed EventBridge Scheduler client, like ec2.")
