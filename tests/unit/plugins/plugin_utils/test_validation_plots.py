"""The validation report's plots (plugins/plugin_utils/validation/plots.py), their place in the report and its
Markdown, and the MLflow report check that says the run received them.

What to draw is pure data (plot_specs): one line per pair of the ring, figures computed from what the checks
measured, a skipped check's own reason instead of a plot. The PNGs are drawn for real with matplotlib (the
controller's, requirements.txt): valid, of the fixed size, the same bytes twice, no time stamp in them.
"""

import copy
import json
import struct
import zlib

import pytest

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation import plots as plots_module
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.checks import mlflow_report_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import NCCL_MARKER
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plots import PLOT_HEIGHT
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plots import PLOT_WIDTH
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plots import PLOTS
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plots import draw_plots
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plots import plot_specs
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plots import render_png
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_markdown
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import validation_report
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import with_mlflow_report
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import with_plots
from tests.unit.plugins.plugin_utils.test_validation import LAB_CLIENT
from tests.unit.plugins.plugin_utils.test_validation import by_id
from tests.unit.plugins.plugin_utils.test_validation import nccl_nodes
from tests.unit.plugins.plugin_utils.test_validation_ring import cluster
from tests.unit.plugins.plugin_utils.test_validation_ring import report_of
from tests.unit.plugins.plugin_utils.test_validation_ring import slow
from tests.unit.plugins.plugin_utils.test_validation_yardsticks import FLOORS
from tests.unit.plugins.plugin_utils.test_validation_yardsticks import INITIATOR

MIB = 2**20
# The lab's answer with the per-transfer times: 64 MiB, a cold first transfer, then warm ones.
SECONDS = [0.2, 0.05, 0.052, 0.049, 0.06]
ANSWER = dict(INITIATOR, seconds=SECONDS, tcp_seconds=[0.034] * 5, shm_seconds=[0.0054] * 5)


def ring_report(count=3, initiator=None, **kwargs):
    """A report of a ring of count nodes over TCP, with the yardsticks' floors; n2's fi_pingpong 4x slower."""
    d = cluster(count)
    d["settings"].update(FLOORS, nixl_backend="UCX", fabric_provider="tcp")
    answer = {"rc": 0, "stdout": json.dumps(initiator or ANSWER)}
    return report_of(
        d,
        pp_client={"n2": {"rc": 0, "stdout": slow(LAB_CLIENT, 4)}},
        nixl_initiator={f"n{i}": answer for i in range(count)},
        **kwargs,
    )


def png_chunks(data):
    """[(type, body)] of a PNG, its CRCs checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        offset += 12 + length
    return chunks


def specs_by_id(report):
    found = plot_specs(report)
    return {s["id"]: s for s in found["plots"]}, {s["id"]: s for s in found["not_drawn"]}


# --- what to draw --------------------------------------------------------------------------


def test_every_figure_with_data_makes_one_plot_and_the_skipped_check_none():
    drawn, skipped = specs_by_id(ring_report())
    assert list(drawn) == ["pingpong_bandwidth", "pingpong_latency", "nixl_transfers", "nixl_yardsticks"]
    assert list(skipped) == ["nccl_busbw"]
    # The NCCL check's own reason (the lab has no GPU), never a made-up plot.
    assert skipped["nccl_busbw"]["reason"] == "skipped: no GPU on n0"
    assert {s["check"] for s in drawn.values()} == {"fabric.pingpong", "nixl.transfer"}
    assert all(s["title"] == PLOTS[i][1] for i, s in drawn.items())


def test_pingpong_draws_one_line_per_pair_from_its_own_table():
    drawn, _skipped = specs_by_id(ring_report())
    bandwidth = drawn["pingpong_bandwidth"]
    assert [s["label"] for s in bandwidth["series"]] == ["n1 -> n0", "n2 -> n1", "n0 -> n2"]
    assert bandwidth["series"][0]["x"] == [64, 256, 1024, 4096, 65536, 1048576]
    assert bandwidth["series"][0]["y"][-1] == 3976.17
    assert bandwidth["series"][1]["y"][-1] == pytest.approx(994.04)  # n2 -> n1, the slow one
    assert bandwidth["x_log2"] and bandwidth["subtitle"] == "provider tcp, 3 pair(s) of the ring"
    latency = drawn["pingpong_latency"]
    assert latency["y_log"] and latency["series"][0]["y"] == [682.24, 8.65, 8.92, 13.82, 650.31, 263.71]


def test_a_report_without_per_pair_tables_draws_the_slowest_pair():
    report = ring_report()
    check = next(c for c in report["checks"] if c["id"] == "fabric.pingpong")
    for row in check["details"]["pairs"]:
        del row["sizes"]
    drawn, _skipped = specs_by_id(report)
    assert [s["label"] for s in drawn["pingpong_bandwidth"]["series"]] == ["n2 -> n1"]


def test_nixl_transfers_are_gigabytes_per_second_of_each_transfer():
    drawn, _skipped = specs_by_id(ring_report(2))
    (line,) = drawn["nixl_transfers"]["series"]
    assert line["label"] == "n0 -> n1" and line["x"] == [1, 2, 3, 4, 5]
    assert line["y"] == [round(64 * MIB / s / 1e9, 4) for s in SECONDS]
    assert line["y"][0] == pytest.approx(0.3355, abs=1e-4)


def test_nixl_yardsticks_are_bars_per_pair_with_their_verdicts():
    drawn, _skipped = specs_by_id(ring_report())
    bars = drawn["nixl_yardsticks"]
    assert bars["kind"] == "bars" and bars["groups"] == ["n0 -> n1", "n1 -> n2", "n2 -> n0"]
    assert [b["label"] for b in bars["series"]] == [
        "NIXL UCX",
        "plain TCP copy",
        "NIXL via UCX shared memory",
        "memory copy",
    ]
    assert [b["values"][0] for b in bars["series"]] == [1.284, 2.0, 12.5, 20.0]
    assert bars["subtitle"] == "NIXL / TCP 64.2 %, floor 50 %: met; shm / memcpy 62.5 %, floor 25 %: met"


def test_nixl_without_yardsticks_or_times_says_why():
    bare = {k: v for k, v in INITIATOR.items() if not k.startswith(("tcp", "shm", "memcpy", "share"))}
    drawn, skipped = specs_by_id(ring_report(2, initiator=bare))
    assert "nixl_transfers" not in drawn and "nixl_yardsticks" not in drawn
    assert skipped["nixl_transfers"]["reason"].startswith("no per-transfer times in the NIXL answers (passed: ")
    assert skipped["nixl_yardsticks"]["reason"].startswith("no yardstick figure beside NIXL's (nixl_vs_tcp: skipped:")


def test_checks_not_selected_give_their_reason_for_each_of_their_plots():
    d = cluster(2)
    d["checks"] = ["node", "mlflow"]
    report = validation_report(d)
    found = plot_specs(report)
    assert found["plots"] == []
    assert [(s["id"], s["reason"]) for s in found["not_drawn"]] == [
        ("pingpong_bandwidth", "skipped: not selected (validation_checks)"),
        ("pingpong_latency", "skipped: not selected (validation_checks)"),
        ("nixl_transfers", "skipped: not selected (validation_checks)"),
        ("nixl_yardsticks", "skipped: not selected (validation_checks)"),
        ("nccl_busbw", "skipped: not selected (validation_checks)"),
    ]


def test_a_failed_pingpong_without_a_table_has_no_plot_and_says_so():
    report = report_of(cluster(2), pp_client={"n1": {"rc": 111, "stdout": "", "stderr": "refused"}})
    _drawn, skipped = specs_by_id(report)
    assert skipped["pingpong_bandwidth"]["reason"].startswith("no fi_pingpong table to draw (failed: connection to")


NCCL_ANSWER = {
    "ok": True,
    "correct": True,
    "backend": "nccl",
    "nccl": "2.21.5",
    "world_size": 16,
    "size_bytes": 256 * MIB,
    "iterations": 20,
    "algbw_gbps": 40.0,
    "busbw_gbps": 75.0,
    "sizes": [
        {"size_bytes": 256 * MIB, "seconds_per_iteration": 0.0067, "algbw_gbps": 40.0, "busbw_gbps": 75.0},
        {"size_bytes": MIB, "seconds_per_iteration": 0.0002, "algbw_gbps": 5.2, "busbw_gbps": 9.75},
        {"size_bytes": 16 * MIB, "seconds_per_iteration": 0.0008, "algbw_gbps": 21.0, "busbw_gbps": 39.4},
    ],
}


def nccl_report(answer):
    d = nccl_nodes()
    d["results"] = {
        "nccl": {
            "a": {"finished": 1, "rc": 0, "stdout": NCCL_MARKER + " " + json.dumps(answer) + "\n"},
            "b": {"finished": 1, "rc": 0, "stdout": ""},
        }
    }
    return validation_report(d)


def test_nccl_bus_bandwidth_by_size_from_nccls_own_results():
    drawn, _skipped = specs_by_id(nccl_report(NCCL_ANSWER))
    plot = drawn["nccl_busbw"]
    bus, alg = plot["series"]
    assert bus["x"] == [MIB, 16 * MIB, 256 * MIB] and bus["y"] == [9.75, 39.4, 75.0]
    assert alg["dashed"] and alg["y"] == [5.2, 21.0, 40.0]
    assert plot["subtitle"] == "16 ranks, NCCL 2.21.5"
    # An answer without the sweep: its one size.
    one = {k: v for k, v in NCCL_ANSWER.items() if k != "sizes"}
    assert specs_by_id(nccl_report(one))[0]["nccl_busbw"]["series"][0]["x"] == [256 * MIB]


def test_gloo_is_not_drawn_as_nccl_and_a_failed_check_says_why():
    _drawn, skipped = specs_by_id(nccl_report(dict(NCCL_ANSWER, backend="gloo")))
    assert skipped["nccl_busbw"]["reason"] == "the all_reduce ran on gloo (CPUs), not NCCL: nothing of NCCL to draw"
    wrong = dict(NCCL_ANSWER, ok=False, correct=False, error="all_reduce returned wrong values")
    _drawn, skipped = specs_by_id(nccl_report(wrong))
    assert skipped["nccl_busbw"]["reason"] == "the check failed: all_reduce returned wrong values"


# --- the PNGs ------------------------------------------------------------------------------


def test_each_plot_is_a_valid_png_of_the_fixed_size_without_time_or_software():
    found = draw_plots(ring_report())
    assert found["unavailable"] is None and found["matplotlib"]
    assert [p["id"] for p in found["plots"]] == [
        "pingpong_bandwidth",
        "pingpong_latency",
        "nixl_transfers",
        "nixl_yardsticks",
    ]
    for plot in found["plots"]:
        chunks = png_chunks(plot["png"])
        kinds = [kind for kind, _body in chunks]
        assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
        width, height = struct.unpack(">II", chunks[0][1][:8])
        assert (width, height) == (PLOT_WIDTH, PLOT_HEIGHT) == (800, 450)
        # No tIME chunk and no text (matplotlib's version, a date) in the metadata.
        assert not {b"tIME", b"tEXt", b"iTXt", b"zTXt"} & set(kinds), kinds
        assert len(plot["png"]) > 10_000  # axes, lines and labels drawn, not an empty canvas


def test_the_same_figures_give_the_same_bytes():
    spec = plot_specs(ring_report())["plots"][0]
    assert render_png(copy.deepcopy(spec)) == render_png(spec)


def test_the_png_shows_the_data_it_was_given():
    """Not a blank image: the pixels change with the figures."""
    spec = plot_specs(ring_report())["plots"][0]
    other = copy.deepcopy(spec)
    other["series"][0]["y"] = [v / 2 for v in other["series"][0]["y"]]
    assert render_png(other) != render_png(spec)


def test_drawing_ignores_the_users_matplotlib_style(monkeypatch):
    import matplotlib  # noqa: PLC0415

    spec = plot_specs(ring_report())["plots"][2]
    before = render_png(spec)
    monkeypatch.setitem(matplotlib.rcParams, "lines.linewidth", 7.0)
    monkeypatch.setitem(matplotlib.rcParams, "axes.facecolor", "black")
    monkeypatch.setitem(matplotlib.rcParams, "figure.dpi", 33)
    assert render_png(spec) == before


def test_without_matplotlib_nothing_is_drawn_and_every_plot_says_why(monkeypatch):
    def missing():
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(plots_module, "_matplotlib", missing)
    found = draw_plots(ring_report())
    assert found["plots"] == [] and found["matplotlib"] is None
    assert found["unavailable"].startswith("matplotlib cannot be imported on the controller (No module named")
    reasons = {s["id"]: s["reason"] for s in found["not_drawn"]}
    assert list(reasons) == list(PLOTS)
    assert reasons["pingpong_bandwidth"] == found["unavailable"]
    assert reasons["nccl_busbw"] == "skipped: no GPU on n0"


# --- the report, its Markdown and the MLflow run -------------------------------------------


def drawn_result(report, prefix="demo-20261206T131425Z"):
    """What the validation_plots action returns for a report (files not written)."""
    found = draw_plots(report)
    plots = [
        {
            "id": p["id"],
            "title": p["title"],
            "check": p["check"],
            "file": f"{prefix}-{p['id']}.png",
            "path": f"/reports/{prefix}-{p['id']}.png",
            "artifact": f"plots/{p['id']}.png",
            "bytes": len(p["png"]),
            "sha256": "0" * 64,
            "width": 800,
            "height": 450,
        }
        for p in found["plots"]
    ]
    return {"changed": True, "plots": plots, "not_drawn": found["not_drawn"], "artifacts": {"plots/x.png": "AAAA"},
            "matplotlib": found["matplotlib"], "unavailable": found["unavailable"]}  # fmt: skip


def test_the_report_records_the_plots_but_not_their_content():
    report = ring_report()
    recorded = with_plots(report, drawn_result(report))
    plots = recorded["plots"]
    assert [f["file"] for f in plots["files"]][:2] == [
        "demo-20261206T131425Z-pingpong_bandwidth.png",
        "demo-20261206T131425Z-pingpong_latency.png",
    ]
    assert plots["files"][0]["artifact"] == "plots/pingpong_bandwidth.png"
    assert [s["id"] for s in plots["not_drawn"]] == ["nccl_busbw"]
    assert "AAAA" not in json.dumps(recorded) and "artifacts" not in plots
    # The checks and their tables are untouched.
    assert recorded["checks"] == report["checks"] and recorded["summary"] == report["summary"]


def test_markdown_links_the_pngs_beside_it_and_gives_each_missing_plot_its_reason():
    report = ring_report()
    before = validation_markdown(report)
    text = validation_markdown(with_plots(report, drawn_result(report)))
    assert "\n## Plots\n" in text and "## Plots" not in before
    assert "![fi_pingpong bandwidth by message size](demo-20261206T131425Z-pingpong_bandwidth.png)" in text
    assert "![NIXL against a plain copy of the same buffer](demo-20261206T131425Z-nixl_yardsticks.png)" in text
    assert "- NCCL all_reduce bus bandwidth by message size: skipped: no GPU on n0" in text
    assert "The PNG files are beside this report." in text
    # Everything the report said before is still there, in the same order, with the plots before the nodes.
    head, _plots, tail = text.partition("\n## Plots\n")
    assert before.startswith(head) and tail.split("\n## Nodes\n")[1] == before.split("\n## Nodes\n")[1]


def test_markdown_names_the_mlflow_run_that_received_the_plots():
    report = ring_report()
    report["mlflow"]["run_id"] = "abc123"
    plan = {"mlflow": {"status": "run", "writer": "n0", "reader": "n1", "url": "http://127.0.1.1:5000"}}
    artifacts = [{"path": "plots/pingpong_bandwidth.png", "bytes": 38585, "listed": True}]
    answer = {"ok": True, "run_id": "abc123", "metrics": 50, "params": 17, "tags": 19, "status": "FINISHED",
              "artifacts": artifacts}  # fmt: skip
    logged = with_mlflow_report(with_plots(report, drawn_result(report)), plan, {"rc": 0, "stdout": json.dumps(answer)})
    check = by_id(logged)[("mlflow.report", None)]
    assert check["status"] == "passed"
    assert check["reason"].endswith("; 1 artifact(s) uploaded and listed: plots/pingpong_bandwidth.png")
    text = validation_markdown(logged)
    assert "The PNG files are beside this report, and in the MLflow run `abc123` as artifacts under `plots/`." in text


def test_markdown_says_plots_were_skipped_and_why_without_matplotlib(monkeypatch):
    def missing():
        raise ImportError("no matplotlib")

    monkeypatch.setattr(plots_module, "_matplotlib", missing)
    report = ring_report()
    found = draw_plots(report)
    recorded = with_plots(report, dict(found, plots=[], artifacts={}))
    text = validation_markdown(recorded)
    assert "Plots skipped: matplotlib cannot be imported on the controller (no matplotlib)" in text
    # The matplotlib reason once; the plots that had no figures keep their own.
    assert text.count("matplotlib cannot be imported") == 1
    assert "- NCCL all_reduce bus bandwidth by message size: skipped: no GPU on n0" in text
    # Plots, drawn or not, change no check.
    assert recorded["summary"] == report["summary"] and recorded["checks"] == report["checks"]


@pytest.mark.parametrize(
    ("result", "said"),
    [
        ({"failed": True, "msg": "dest is not writable"}, "the plots were not drawn: dest is not writable"),
        ({"failed": False, "exception": "Traceback ...\nValueError: bad"}, "the plots were not drawn: ValueError: bad"),
        ({"skipped": True, "changed": False}, "the plots were not drawn: the task did not run"),
        ({}, "the plots were not drawn: the task did not run"),
    ],
)
def test_a_drawing_task_that_did_not_draw_is_said_in_the_report(result, said):
    recorded = with_plots(ring_report(2), result)
    assert recorded["plots"]["unavailable"] == said and recorded["plots"]["files"] == []
    assert f"Plots skipped: {said}." in validation_markdown(recorded)


def test_the_mlflow_report_check_fails_when_the_run_did_not_get_its_plots():
    plan = {"status": "run", "writer": "n0", "reader": "n1", "url": "http://127.0.1.1:5000"}
    error = "artifact upload: the run's artifacts go to 's3://b/x', which the tracking server does not serve"
    answer = {"ok": False, "artifact_error": True, "run_id": "abc", "error": error}
    check = mlflow_report_check(plan, {"rc": 1, "stdout": json.dumps(answer)}, {})
    assert check["status"] == "failed" and check["reason"].startswith("artifact upload: the run's artifacts go to")
    assert "--serve-artifacts" in check["cause"] and "mlflow_artifacts_destination" in check["fix"]
