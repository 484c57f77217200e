"""The validation_plots action (plugins/action/validation_plots.py): the PNGs written beside the report on the
controller, rewritten only when their bytes change, nothing written in check mode, and the artifacts the role
uploads into the MLflow run (each the file's own bytes).
"""

import base64
import hashlib
import os
import types

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.nixl_efa.cluster.plugins.action import validation_plots as action
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation import plots as plots_module
from tests.unit.plugins.plugin_utils.test_validation_plots import ring_report

PREFIX = "demo-20261206T131425Z"


def run(args, check_mode=False):
    task = types.SimpleNamespace(args=args, async_val=0, check_mode=check_mode, action="validation_plots")
    connection = types.SimpleNamespace(_shell=types.SimpleNamespace(tmpdir="/unused"))
    module = action.ActionModule(task, connection, None, None, None, None)
    return module.run(task_vars={})


@pytest.fixture(scope="module")
def report():
    return ring_report()


def test_writes_one_png_per_plot_beside_the_report(tmp_path, report):
    dest = tmp_path / "reports"
    result = run({"report": report, "dest": str(dest), "prefix": PREFIX})
    assert result["changed"] is True and result["unavailable"] is None
    names = sorted(p.name for p in dest.iterdir())
    assert names == sorted(f"{PREFIX}-{i}.png" for i in ("pingpong_bandwidth", "pingpong_latency", "nixl_transfers",
                                                         "nixl_yardsticks"))  # fmt: skip
    assert oct(dest.stat().st_mode & 0o777) == "0o755"
    for plot in result["plots"]:
        data = (dest / plot["file"]).read_bytes()
        assert plot["path"] == str(dest / plot["file"])
        assert (plot["width"], plot["height"], plot["bytes"]) == (800, 450, len(data))
        assert plot["sha256"] == hashlib.sha256(data).hexdigest()
        assert oct(os.stat(plot["path"]).st_mode & 0o777) == "0o644"
        # What the MLflow run receives is the file itself.
        assert plot["artifact"] == f"plots/{plot['id']}.png"
        assert base64.b64decode(result["artifacts"][plot["artifact"]]) == data
    assert sorted(result["artifacts"]) == sorted(p["artifact"] for p in result["plots"])
    assert [(s["id"], s["reason"]) for s in result["not_drawn"]] == [("nccl_busbw", "skipped: no GPU on n0")]
    assert not [p for p in dest.iterdir() if p.name.startswith(".")], "no temporary file left behind"


def test_the_same_report_again_changes_nothing(tmp_path, report):
    args = {"report": report, "dest": str(tmp_path), "prefix": PREFIX}
    first = run(args)
    stamps = {p["path"]: os.stat(p["path"]).st_mtime_ns for p in first["plots"]}
    again = run(args)
    assert again["changed"] is False
    assert {p["path"]: os.stat(p["path"]).st_mtime_ns for p in again["plots"]} == stamps
    assert [p["sha256"] for p in again["plots"]] == [p["sha256"] for p in first["plots"]]


def test_check_mode_draws_but_writes_nothing(tmp_path, report):
    dest = tmp_path / "reports"
    result = run({"report": report, "dest": str(dest), "prefix": PREFIX}, check_mode=True)
    assert result["changed"] is True and len(result["plots"]) == 4
    assert not dest.exists()
    run({"report": report, "dest": str(dest), "prefix": PREFIX})
    assert run({"report": report, "dest": str(dest), "prefix": PREFIX}, check_mode=True)["changed"] is False


def test_a_custom_artifact_folder(tmp_path, report):
    result = run({"report": report, "dest": str(tmp_path), "prefix": PREFIX, "artifact_dir": "/validation/plots/"})
    assert {p["artifact"].rsplit("/", 1)[0] for p in result["plots"]} == {"validation/plots"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"prefix": "a/b"}, "prefix must be a file name, without '/': 'a/b'"),
        ({"prefix": ".."}, "prefix must be a file name"),
        ({"artifact_dir": "../up"}, "artifact_dir must be a relative folder without '..'"),
    ],
)
def test_names_that_would_leave_their_folder_are_refused(tmp_path, report, args, message):
    with pytest.raises(AnsibleActionFail, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(dict({"report": report, "dest": str(tmp_path / "r"), "prefix": PREFIX}, **args))
    assert not (tmp_path / "r").exists()


def test_without_matplotlib_nothing_is_written_and_the_reason_is_returned(tmp_path, report, monkeypatch):
    def missing():
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(plots_module, "_matplotlib", missing)
    result = run({"report": report, "dest": str(tmp_path / "r"), "prefix": PREFIX})
    assert result["changed"] is False and result["plots"] == [] and result["artifacts"] == {}
    assert result["unavailable"].startswith("matplotlib cannot be imported on the controller")
    assert len(result["not_drawn"]) == 5
    assert not (tmp_path / "r").exists()


def test_png_size_reads_the_header_and_refuses_anything_else():
    assert action.png_size(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x03\x20\x00\x00\x01\xc2") == (800, 450)
    with pytest.raises(ValueError, match="not a PNG"):
        action.png_size(b"GIF89a")
