# -*- coding: utf-8 -*-
"""local_fact end to end: main() on this machine, the facts directory under tmp_path."""

import json
import stat

from ansible_collections.nixl_efa.cluster.plugins.module_utils import local_fact as local_fact_utils
from ansible_collections.nixl_efa.cluster.plugins.modules import local_fact as module

FACT = {"version": "0.9.0", "backends": {"UCX": {"loadable": True}}, "python": "/opt/x/bin/python"}


def test_writes_the_fact_creating_the_directory_then_changes_nothing(run_module, tmp_path):
    facts_dir = tmp_path / "etc/ansible/facts.d"
    args = {"name": "nixl_efa_nixl", "content": FACT, "facts_dir": str(facts_dir)}
    first = run_module(module, args, aws=False)
    path = facts_dir / "nixl_efa_nixl.fact"
    assert not first["failed"] and first["changed"] is True
    assert first["path"] == str(path) and first["fact"] == FACT
    assert json.loads(path.read_text()) == FACT
    assert path.read_text().endswith("}\n") and '    "backends": {' in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in facts_dir.iterdir()] == ["nixl_efa_nixl.fact"]  # no temporary file left
    second = run_module(module, args, aws=False)
    assert second["changed"] is False


def test_formatting_alone_is_no_change_and_a_new_value_is(run_module, tmp_path):
    path = tmp_path / "nixl_efa_vllm.fact"
    path.write_text(json.dumps(FACT))  # compact, as another writer might leave it
    args = {"name": "nixl_efa_vllm", "content": FACT, "facts_dir": str(tmp_path)}
    assert run_module(module, args, aws=False)["changed"] is False
    assert path.read_text() == json.dumps(FACT)
    changed = run_module(module, dict(args, content=dict(FACT, version="1.0.0")), aws=False)
    assert changed["changed"] is True and json.loads(path.read_text())["version"] == "1.0.0"


def test_check_mode_and_diff_write_nothing(run_module, tmp_path):
    facts_dir = tmp_path / "facts.d"
    args = {"name": "nixl_efa_efa", "content": FACT, "facts_dir": str(facts_dir), "_ansible_diff": True}
    result = run_module(module, args, check_mode=True, aws=False)
    assert result["changed"] is True and not facts_dir.exists()
    assert result["diff"]["before"] == "" and json.loads(result["diff"]["after"]) == FACT


def test_refusals_name_the_rule(run_module, tmp_path):
    bad = run_module(module, {"name": "../etc/passwd", "content": {}, "facts_dir": str(tmp_path)}, aws=False)
    assert bad["failed"] and "lowercase letters, digits or underscores" in bad["msg"]
    not_dir = tmp_path / "file"
    not_dir.write_text("")
    result = run_module(module, {"name": "x", "content": {}, "facts_dir": str(not_dir)}, aws=False)
    assert result["failed"] and "is not a directory" in result["msg"]


def test_read_facts_reports_broken_files(tmp_path):
    (tmp_path / "nixl_efa_nixl.fact").write_text('{"module": "nixl_cu12"}')
    (tmp_path / "nixl_efa_vllm.fact").write_text("{broken")
    (tmp_path / "other.fact").write_text("{}")
    facts = local_fact_utils.read_facts(str(tmp_path), "nixl_efa_")
    assert facts["nixl_efa_nixl"] == {"module": "nixl_cu12"}
    assert "error" in facts["nixl_efa_vllm"]
    assert "other" not in facts
    assert local_fact_utils.read_facts(str(tmp_path / "absent"), "nixl_efa_") == {}
