"""The NIXL transfer's yardsticks (plugins/plugin_utils/validation/yardsticks.py and their place in the
report): NIXL against a plain TCP copy between the same two nodes and UCX shared memory against a memory
copy, each judged against a floor from the settings; a floor missed is a warning with its reason, a
yardstick without its figure is skipped with the reason, never met.
"""

import copy
import json

import pytest

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import nixl_tcp_port
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plan import validation_plan
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_check_line
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_markdown
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_mlflow_batch
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import validation_report
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import validation_results
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.yardsticks import YARDSTICK_STATUSES
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.yardsticks import nixl_path
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.yardsticks import pair_yardsticks
from tests.unit.plugins.plugin_utils.test_validation import INITIATOR_OK
from tests.unit.plugins.plugin_utils.test_validation import NIXL_FACT
from tests.unit.plugins.plugin_utils.test_validation import TARGET_OK
from tests.unit.plugins.plugin_utils.test_validation import data
from tests.unit.plugins.plugin_utils.test_validation import nixl_run
from tests.unit.plugins.plugin_utils.test_validation import node
from tests.unit.plugins.plugin_utils.test_validation import two_nodes
from tests.unit.plugins.plugin_utils.test_validation_ring import cluster
from tests.unit.plugins.plugin_utils.test_validation_ring import registers

FLOORS = {"nixl_min_share_of_tcp": 0.5, "nixl_efa_min_share_of_tcp": 2.0, "nixl_shm_min_share_of_memcpy": 0.25}

# What the script answers in the lab: NIXL over UCX TCP, its plain TCP copy, UCX shared memory, memcpy.
INITIATOR = dict(
    INITIATOR_OK,
    gbps=1.284,
    memcpy_gbps=20.0,
    memcpy_gbps_best=21.0,
    share_of_memcpy=0.0642,
    tcp_port=47595,
    tcp_gbps=2.0,
    tcp_gbps_best=2.5,
    share_of_tcp=0.642,
    shm_tls="shm,self",
    shm_gbps=12.5,
    shm_gbps_best=13.0,
    shm_match=True,
    shm_memcpy_gbps=20.0,
    shm_memcpy_gbps_best=20.5,
    shm_share_of_memcpy=0.625,
)
TARGET = dict(TARGET_OK, tcp_port=47595, tcp_received=5, tcp_match=True)
PAIR = {"initiator": "a", "target": "b", "backend": "UCX"}


def yardsticks(initiator=None, target=None, pair=None, **settings):
    initiator, target, pair = initiator or INITIATOR, target or TARGET, pair or PAIR
    settings = dict({"nixl_backend": "UCX", "fabric_provider": "tcp"}, **settings)
    found = pair_yardsticks(pair, initiator, target, dict(FLOORS, **settings))
    return {y["id"]: y for y in found}


# --- one pair --------------------------------------------------------------------------------


def test_both_yardsticks_met_with_their_figures_and_reasons():
    tcp, shm = yardsticks().values()
    assert tcp["status"] == shm["status"] == "met"
    assert (tcp["value"], tcp["threshold"], tcp["setting"]) == (0.642, 0.5, "validation_nixl_min_share_of_tcp")
    assert tcp["path"] == "tcp" and tcp["title"].startswith("NIXL over TCP (UCX) against a plain TCP copy")
    assert tcp["reason"] == "NIXL 1.284 GB/s, 64.2 % of a plain TCP copy (2.0 GB/s); the 50.0 % floor met"
    assert "same kernel TCP sockets" in tcp["why"]
    assert (shm["value"], shm["threshold"]) == (0.625, 0.25)
    assert shm["title"] == "NIXL through UCX shared memory (shm,self) against a memory copy, on a"
    assert shm["reason"] == "UCX shared memory 12.5 GB/s, 62.5 % of a memory copy (20.0 GB/s); the 25.0 % floor met"
    assert "process_vm_writev" in shm["why"]


def test_a_floor_missed_says_so_with_the_figures():
    found = yardsticks(dict(INITIATOR, share_of_tcp=0.3, shm_share_of_memcpy=0.1))
    assert found["nixl_vs_tcp"]["status"] == "missed"
    assert found["nixl_vs_tcp"]["reason"] == (
        "NIXL 1.284 GB/s, 30.0 % of a plain TCP copy (2.0 GB/s), below the 50.0 % floor"
    )
    assert found["shm_vs_memcpy"]["status"] == "missed"
    assert found["shm_vs_memcpy"]["reason"].endswith("below the 25.0 % floor")


def test_shared_memory_is_judged_against_the_copy_timed_in_turn_with_it():
    # The copy timed alongside the transfers (12.5 GB/s here) rather than the earlier one (20 GB/s).
    initiator = dict(INITIATOR, shm_memcpy_gbps=12.5, shm_share_of_memcpy=None)
    found = yardsticks(initiator)["shm_vs_memcpy"]
    assert found["value"] == 1.0 and found["reason"].startswith(
        "UCX shared memory 12.5 GB/s, 100.0 % of a memory copy (12.5"
    )
    # An answer without it (an older script): the earlier memory copy.
    initiator = {k: v for k, v in INITIATOR.items() if not k.startswith(("shm_memcpy", "shm_share"))}
    assert yardsticks(initiator)["shm_vs_memcpy"]["value"] == 0.625


def test_shares_are_computed_when_the_answer_lacks_them():
    initiator = {k: v for k, v in INITIATOR.items() if k not in ("share_of_tcp", "shm_share_of_memcpy")}
    found = yardsticks(initiator)
    assert found["nixl_vs_tcp"]["value"] == 0.642 and found["shm_vs_memcpy"]["value"] == 0.625


def test_efa_is_judged_against_what_rdma_should_reach():
    pair = dict(PAIR, backend="LIBFABRIC")
    found = yardsticks(dict(INITIATOR, gbps=3.0, share_of_tcp=1.5), pair=pair, nixl_backend="LIBFABRIC")
    # fabric_provider tcp: LIBFABRIC on the tcp provider is TCP.
    assert found["nixl_vs_tcp"]["path"] == "tcp" and found["nixl_vs_tcp"]["status"] == "met"
    found = yardsticks(
        dict(INITIATOR, gbps=3.0, share_of_tcp=1.5), pair=pair, nixl_backend="LIBFABRIC", fabric_provider="efa"
    )
    tcp = found["nixl_vs_tcp"]
    assert tcp["path"] == "efa" and tcp["setting"] == "validation_nixl_efa_min_share_of_tcp"
    assert tcp["title"].startswith("NIXL over EFA (LIBFABRIC)")
    assert tcp["status"] == "missed" and tcp["reason"].endswith(
        "150.0 % of a plain TCP copy (2.0 GB/s), below the 200.0 % floor"
    )
    assert "RDMA" in tcp["why"] and "5 Gbps" in tcp["why"]


@pytest.mark.parametrize(
    ("backend", "provider", "path"),
    [("UCX", "tcp", "tcp"), ("UCX", "efa", "tcp"), ("LIBFABRIC", "tcp", "tcp"), ("LIBFABRIC", "efa", "efa")],
)
def test_nixl_path(backend, provider, path):
    assert nixl_path({"nixl_backend": backend, "fabric_provider": provider}) == path


@pytest.mark.parametrize(
    ("initiator", "target", "reason"),
    [
        (
            dict(INITIATOR, tcp_gbps=None, share_of_tcp=None, tcp_error="ConnectionRefusedError: [Errno 111] refused"),
            dict(TARGET, tcp_error="cannot listen on port 47595 for the plain TCP copy: [Errno 98] in use"),
            "skipped: target: cannot listen on port 47595 for the plain TCP copy: [Errno 98] in use; "
            "initiator: ConnectionRefusedError: [Errno 111] refused",
        ),
        (
            {k: v for k, v in INITIATOR.items() if not k.startswith(("tcp", "share_of_tcp"))},
            TARGET_OK,
            "skipped: the transfer script reported no plain TCP copy",
        ),
        (
            INITIATOR,
            dict(TARGET, tcp_match=False),
            "skipped: the plain TCP copy's bytes differ from the pattern on the target",
        ),
        ({"ok": False, "phase": "metadata", "tcp_gbps": 2.0}, {}, "skipped: the NIXL transfer gave no figure"),
    ],
)
def test_tcp_yardstick_without_its_figure_is_skipped_never_met(initiator, target, reason):
    found = yardsticks(initiator, target)["nixl_vs_tcp"]
    assert found["status"] == "skipped" and found["value"] is None
    assert found["reason"] == reason


@pytest.mark.parametrize(
    ("initiator", "reason"),
    [
        (
            dict(INITIATOR, shm_gbps=None, shm_error="NIXL has no UCX plugin here (plugins: LIBFABRIC)"),
            "skipped: shm: NIXL has no UCX plugin here (plugins: LIBFABRIC)",
        ),
        (
            dict(
                INITIATOR,
                memcpy_gbps=None,
                shm_memcpy_gbps=None,
                shm_share_of_memcpy=None,
                memcpy_error="RuntimeError: the memory copy differs from its source",
            ),
            "skipped: memcpy: RuntimeError: the memory copy differs from its source",
        ),
        (INITIATOR_OK, "skipped: the transfer script reported no shared-memory transfer"),
    ],
)
def test_shm_yardstick_without_its_figure_is_skipped_never_met(initiator, reason):
    found = yardsticks(initiator)["shm_vs_memcpy"]
    assert (found["status"], found["reason"]) == ("skipped", reason)


def test_a_floor_not_in_the_settings_judges_nothing():
    found = pair_yardsticks(PAIR, INITIATOR, TARGET, {"nixl_backend": "UCX"})
    assert [y["status"] for y in found] == ["skipped", "skipped"]
    assert (
        found[0]["reason"]
        == "skipped: no floor (validation_nixl_min_share_of_tcp is not in the settings); measured 64.2 %"
    )
    assert found[0]["value"] == 0.642


def test_a_floor_of_zero_is_always_met():
    found = yardsticks(dict(INITIATOR, share_of_tcp=0.01), nixl_min_share_of_tcp=0)
    assert found["nixl_vs_tcp"]["status"] == "met"


def test_the_plain_tcp_copy_uses_the_port_after_nixls():
    assert nixl_tcp_port({"nixl_port": 28594}) == 28595
    assert nixl_tcp_port({"nixl_port": 65535}) == 0


# --- in the report ---------------------------------------------------------------------------


def test_report_carries_figures_yardsticks_and_no_warning_when_met():
    check = nixl_run(two_nodes(**FLOORS), INITIATOR, TARGET)
    assert check["status"] == "passed" and check["warnings"] == []
    figures = check["figures"]
    assert (figures["tcp_gbps"], figures["tcp_gbps_best"], figures["share_of_tcp"]) == (2.0, 2.5, 0.642)
    assert (figures["shm_gbps"], figures["shm_gbps_best"], figures["shm_share_of_memcpy"]) == (12.5, 13.0, 0.625)
    assert figures["shm_memcpy_gbps"] == 20.0
    assert check["details"]["tcp_port"] == 47595
    assert [(y["id"], y["status"]) for y in check["details"]["yardsticks"]] == [
        ("nixl_vs_tcp", "met"),
        ("shm_vs_memcpy", "met"),
    ]
    assert check["details"]["pairs"][0]["yardsticks"][0]["threshold"] == 0.5


def test_a_missed_floor_is_a_warning_with_its_reason_and_the_check_still_passes():
    d = two_nodes(**FLOORS)
    check = nixl_run(d, dict(INITIATOR, share_of_tcp=0.3), TARGET)
    assert check["status"] == "passed"
    assert len(check["warnings"]) == 1
    warning = check["warnings"][0]
    assert warning.startswith(
        "NIXL over TCP (UCX) against a plain TCP copy of the same buffer, a -> b: NIXL 1.284 GB/s, 30.0 %"
    )
    assert "below the 50.0 % floor: NIXL's UCX backend moves the bytes through the same kernel TCP sockets" in warning

    report = validation_report(d)
    # Warnings are counted apart; they never fail the run (the failures here are other checks').
    assert report["summary"]["warnings"] == 1
    text = validation_markdown(report)
    assert ", 1 warning(s)" in text.split("\n", 3)[2]
    assert "## Warnings: floors missed" in text and f"- `nixl.transfer`: {warning}" in text
    assert "## NIXL yardsticks: the same buffer through a plain copy" in text
    assert "| 50.0 % (`validation_nixl_min_share_of_tcp`) | 30.0 % (a -> b) | **MISSED** |" in text
    assert "| 25.0 % (`validation_nixl_shm_min_share_of_memcpy`) | 62.5 % (a -> b) | met |" in text
    line = next(line for line in text.splitlines() if line.startswith("- NIXL UCX WRITE:"))
    assert "; 30.0% of a plain TCP copy of the same buffer between the same nodes (2.0 GB/s, best 2.5 GB/s)" in line
    assert line.endswith(
        "; NIXL through UCX shared memory on that node 12.5 GB/s (best 13.0 GB/s), 62.5% of a memory copy timed in "
        "turn with it (20.0 GB/s)"
    )
    nixl = next(c for c in report["checks"] if c["id"] == "nixl.transfer")
    assert validation_check_line(nixl).endswith(f" [1 warning(s): {warning}]")

    batch = validation_mlflow_batch(report)
    assert batch["metrics"]["checks.warnings"] == 1.0
    assert batch["metrics"]["nixl.transfer.share_of_tcp"] == 0.3
    assert batch["metrics"]["nixl.transfer.pair.a/b.share_of_tcp"] == 0.3
    assert batch["metrics"]["nixl.transfer.pair.a/b.shm_gbps"] == 12.5
    assert batch["tags"]["nixl.transfer.yardstick.nixl_vs_tcp"] == "missed"
    assert batch["tags"]["nixl.transfer.yardstick.shm_vs_memcpy"] == "met"
    assert batch["params"]["setting.nixl_min_share_of_tcp"] == "0.5"


def test_skipped_yardsticks_are_shown_as_skipped_never_as_met():
    d = two_nodes(**FLOORS)
    initiator = dict(INITIATOR, tcp_gbps=None, share_of_tcp=None, tcp_error="ConnectionRefusedError: refused")
    check = nixl_run(d, initiator, dict(TARGET, tcp_error="cannot listen on port 47595: in use"))
    assert check["status"] == "passed" and check["warnings"] == []
    found = {y["id"]: y for y in check["details"]["yardsticks"]}
    assert found["nixl_vs_tcp"]["status"] == "skipped" and found["nixl_vs_tcp"]["value"] is None
    text = validation_markdown(validation_report(d))
    assert (
        "| - | skip | skipped: target: cannot listen on port 47595: in use; initiator: ConnectionRefusedError" in text
    )


def test_a_failed_transfer_skips_its_yardsticks():
    initiator = {"ok": False, "phase": "metadata", "error": "PeerTimeout: x", "tcp_gbps": 2.0, "shm_gbps": 12.0}
    check = nixl_run(two_nodes(**FLOORS), initiator, {"ok": False, "phase": "metadata", "error": "PeerTimeout: y"})
    assert check["status"] == "failed" and check["warnings"] == []
    assert check["details"]["yardsticks"][0]["reason"] == "skipped: the NIXL transfer gave no figure"


def test_a_skipped_nixl_check_has_no_yardsticks():
    d = data([node("a", 0), node("b", 1)])
    d["settings"].update(FLOORS, nixl_backend="LIBFABRIC")
    report = validation_report(d)
    check = next(c for c in report["checks"] if c["id"] == "nixl.transfer")
    assert check["status"] == "skipped" and "yardsticks" not in check["details"] and check["warnings"] == []
    assert "NIXL yardsticks" not in validation_markdown(report)


def test_every_check_has_a_warnings_list_and_statuses_are_known():
    report = validation_report(two_nodes(**FLOORS))
    for check in report["checks"]:
        assert isinstance(check["warnings"], list), check["id"]
        for y in check["details"].get("yardsticks") or []:
            assert y["status"] in YARDSTICK_STATUSES
    json.dumps(report)


def ring_report(initiators, **settings):
    d = cluster(3)
    d["settings"].update(FLOORS, **settings)
    d = copy.deepcopy(d)
    d["plan"] = validation_plan(d)
    hostvars = registers(
        d["plan"]["pingpong"], nixl_initiator={n: {"rc": 0, "stdout": json.dumps(i)} for n, i in initiators.items()}
    )
    for name in hostvars:
        hostvars[name]["validation__nixl_target"]["stdout"] = json.dumps(TARGET)
    d["results"] = validation_results(d["plan"], hostvars)
    return validation_report(d)


def test_ring_yardsticks_name_the_lowest_pair_and_warn_per_pair():
    initiators = {
        "n0": INITIATOR,
        "n1": dict(INITIATOR, share_of_tcp=0.2),
        "n2": dict(
            INITIATOR,
            shm_gbps=None,
            shm_share_of_memcpy=None,
            shm_error="the shared-memory transfer did not finish within 30 s",
        ),
    }
    report = ring_report(initiators)
    check = next(c for c in report["checks"] if c["id"] == "nixl.transfer")
    assert check["status"] == "passed" and len(check["warnings"]) == 1
    assert "n1 -> n2: NIXL 1.284 GB/s, 20.0 %" in check["warnings"][0]
    tcp, shm = check["details"]["yardsticks"]
    assert (tcp["status"], tcp["value"], tcp["pair"]) == ("missed", 0.2, "n1 -> n2")
    assert tcp["title"] == "NIXL over TCP (UCX) against a plain TCP copy of the same buffer, each pair"
    assert tcp["reason"].startswith("2 of 3 pairs met it; n1 -> n2 missed: NIXL 1.284 GB/s, 20.0 %")
    assert (shm["status"], shm["pair"]) == ("met", "n0 -> n1")
    assert shm["title"] == "NIXL through UCX shared memory (shm,self) against a memory copy, on each initiator's node"
    assert shm["reason"] == (
        "2 of 3 pairs met it; n2 -> n0 skipped: shm: the shared-memory transfer did not finish within 30 s"
    )
    text = validation_markdown(report)
    assert (
        "| Pair | Status | GB/s | first transfer GB/s | plain TCP GB/s | NIXL / TCP | UCX shm GB/s | shm / memcpy "
        "| Result |" in text
    )
    assert "| n1 -> n2 | PASS | 1.284 | 0.248 | 2.0 | 20.0 % | 12.5 | 62.5 % |" in text


def test_ring_yardstick_skipped_when_no_pair_measured_it():
    old = dict(INITIATOR_OK)
    report = ring_report({"n0": old, "n1": old, "n2": old})
    check = next(c for c in report["checks"] if c["id"] == "nixl.transfer")
    assert [y["status"] for y in check["details"]["yardsticks"]] == ["skipped", "skipped"]
    assert check["details"]["yardsticks"][0]["value"] is None and check["warnings"] == []


def test_nixl_fact_for_efa_nodes_runs_the_efa_floor():
    fact = dict(NIXL_FACT, backends={"LIBFABRIC": {"loadable": True, "error": None}})
    d = data([node("a", 0, facts={"nixl_efa_nixl": fact}), node("b", 1, facts={"nixl_efa_nixl": fact})])
    d["settings"].update(FLOORS, nixl_backend="LIBFABRIC", fabric_provider="efa")
    d["plan"] = validation_plan(d)
    check = nixl_run(d, dict(INITIATOR, gbps=40.0, share_of_tcp=20.0), TARGET)
    tcp = check["details"]["yardsticks"][0]
    assert (tcp["path"], tcp["status"], tcp["threshold"]) == ("efa", "met", 2.0)
