# -*- coding: utf-8 -*-
"""make test's gates: the integration parts are the whole suite once, and the pool runs every gate.

`make test` runs tests/integration in three parts (make integration-1..3, Makefile variables
INTEGRATION_1..3) on tools/test_pool.py's two workers; a test file added to tests/integration but
to no part would silently never run in `make test`.
"""

import importlib.util
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def makefile_variables():
    """The Makefile's `NAME := value` assignments, continuation lines joined."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    return {m.group(1): m.group(2).split() for m in re.finditer(r"^([A-Z0-9_]+) :?= *(.*)$", text, re.M)}


def test_the_integration_parts_are_the_whole_suite_once():
    variables = makefile_variables()
    parts = [variables[f"INTEGRATION_{n}"] for n in (1, 2, 3)]
    listed = [name for part in parts for name in part]
    on_disk = sorted(p.name for p in (ROOT / "tests" / "integration").glob("test_*.py"))
    assert sorted(listed) == on_disk, "each tests/integration/test_*.py in exactly one INTEGRATION_<n>"
    assert len(set(listed)) == len(listed)
    assert all(parts), "no empty part"


def test_the_pool_runs_every_gate_on_both_pairs_where_make_test_promises():
    spec = importlib.util.spec_from_file_location("test_pool", ROOT / "tools" / "test_pool.py")
    pool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pool)
    gates = list(pool.SYSTEMS) + list(pool.POOL)
    assert len(set(gates)) == len(gates)
    wanted = {
        ("lint", "default"), ("docs", "default"), ("sanity", "default"), ("unit", "default"),
        ("molecule", "default"), ("e2e", "default"), ("release-test", "default"),
        ("lint", "newest"), ("sanity", "newest"), ("unit", "newest"), ("release-test", "newest"),
        ("integration-1", "newest"), ("integration-2", "newest"), ("integration-3", "newest"),
    }  # fmt: skip
    assert set(gates) == wanted
    # Node containers share loopback addresses: those gates only in the one-at-a-time chain.
    assert {gate for gate, _core in pool.POOL}.isdisjoint({"molecule", "e2e", "release-test"})
    makefile = (ROOT / "Makefile").read_text()
    for gate, _core in gates:
        assert re.search(rf"^(\S+ )*{re.escape(gate)}( \S+)*:", makefile, re.M), f"no make target {gate}"


def run_pool(tmp_path, failing=""):
    """tools/test_pool.py with a stand-in `make` that logs each gate and fails the one named `failing`."""
    log = tmp_path / "gates.log"
    fake = tmp_path / "make"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "start $2 $3" >> {log}\n'
        'echo "output of $2"\n'
        f'[ "$2" = "{failing}" ] && {{ echo "end $2 $3" >> {log}; exit 2; }}\n'
        "sleep 0.05\n"
        f'echo "end $2 $3" >> {log}\n'
    )
    fake.chmod(0o755)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "test_pool.py"), "--default-core", "2.19", "--newest-core", "2.21",
         "--make", str(fake)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return result, log.read_text().splitlines()


def test_pool_runs_the_container_gates_one_at_a_time_and_every_gate_once(tmp_path):
    result, log = run_pool(tmp_path)
    assert result.returncode == 0, result.stdout
    started = [line.split(" ", 1)[1] for line in log if line.startswith("start ")]
    assert len(started) == 14 and len(set(started)) == 14
    systems = [g for g in started if g.split()[0] in ("molecule", "e2e", "release-test")]
    assert systems == ["molecule CORE=2.19", "e2e CORE=2.19", "release-test CORE=2.19", "release-test CORE=2.21"]
    for exclusive in (("molecule", "e2e", "release-test"), ("lint",)):
        running = set()
        for line in log:  # never two container gates at once, nor two ansible-lint runs
            kind, gate = line.split(" ", 1)
            if gate.split()[0] in exclusive:
                assert kind == "end" or not running, log
                (running.add if kind == "start" else running.discard)(gate)
    assert "[checks integration-1 2.21] output of integration-1" in result.stdout
    assert re.search(r"== \[(checks|systems)\] make docs \(CORE=2.19\): \d+ s", result.stdout)


def test_pool_starts_nothing_after_a_failure_and_fails(tmp_path):
    result, log = run_pool(tmp_path, failing="integration-1")
    assert result.returncode == 1
    assert "make integration-1 (CORE=2.21): 0 s, exit 2" in result.stdout
    assert "== not run after a failure:" in result.stdout
    started = [line for line in log if line.startswith("start ")]
    assert len(started) < 14
    # what had started still ended
    assert len([line for line in log if line.startswith("end ")]) == len(started)
