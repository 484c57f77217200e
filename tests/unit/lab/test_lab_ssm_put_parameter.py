# -*- coding: utf-8 -*-
"""The lab's PutParameter is atomic, as AWS's: of concurrent creates of one name, exactly one succeeds.

The capacity_block module's purchase intent (one purchase per key, even with two runs at once) rests
on a create-if-absent; moto's server answers on several threads and checks before it writes, so the
lab serializes PutParameter (lab/lab_ssm.py). Called in process, on several threads: moto's own
check-then-write is slowed down so that, without the lab's lock, the threads would overlap in it.
"""

import pathlib
import sys
import threading
import time

import boto3
from moto import mock_aws

LAB = pathlib.Path(__file__).resolve().parents[3] / "lab"
if str(LAB) not in sys.path:
    sys.path.insert(0, str(LAB))

import lab_ssm  # noqa: E402
import moto_lab  # noqa: E402


def test_concurrent_creates_of_one_name_succeed_once(monkeypatch):
    moto_lab.install({})
    original = lab_ssm._ORIGINALS["put_parameter"]
    inside, overlaps = [0], []

    def slow_put(self, *args, **kwargs):
        inside[0] += 1
        overlaps.append(inside[0])
        time.sleep(0.02)  # between moto's "does it exist" and its write
        try:
            return original(self, *args, **kwargs)
        finally:
            inside[0] -= 1

    monkeypatch.setitem(lab_ssm._ORIGINALS, "put_parameter", slow_put)
    with mock_aws():
        from moto.ssm.models import ssm_backends  # noqa: PLC0415

        backend = ssm_backends["123456789012"]["us-east-1"]
        outcomes, start = [], threading.Barrier(4)

        def create(value):
            start.wait()
            try:
                backend.put_parameter(
                    name="/nixl-efa/race/purchase-intent/key", description="", value=value, parameter_type="String",
                    allowed_pattern=None, keyid=None, overwrite=False, tags=[], data_type="text", tier=None,
                    policies=None,
                )  # fmt: skip
                outcomes.append(("created", value))
            except Exception as error:  # moto's ParameterAlreadyExists
                outcomes.append((type(error).__name__, value))

        threads = [threading.Thread(target=create, args=(f"run-{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert max(overlaps) == 1, "two PutParameter calls were inside moto's check-then-write at once"
        created = [value for outcome, value in outcomes if outcome == "created"]
        assert len(created) == 1, outcomes
        assert sorted(outcome for outcome, _value in outcomes) == ["ParameterAlreadyExists"] * 3 + ["created"]
        ssm = boto3.client("ssm", region_name="us-east-1")
        stored = ssm.get_parameter(Name="/nixl-efa/race/purchase-intent/key")["Parameter"]
        assert stored["Value"] == created[0] and stored["Version"] == 1
