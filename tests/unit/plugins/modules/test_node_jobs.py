# -*- coding: utf-8 -*-
"""node_jobs end to end: main() on this machine with real processes, its argument checks, check mode,
and its stdin kept out of the logs (no_log)."""

import os

from ansible.module_utils import basic

from ansible_collections.nixl_efa.cluster.plugins.modules import node_jobs as module


def test_start_run_collect_in_one_task(run_module, tmp_path):
    args = {
        "run_id": "validation-main-20261206T131425Z-node-0",
        "base_dir": str(tmp_path / "jobs"),
        "steps": [
            {"name": "server", "action": "start", "cmd": "read word; echo served $word", "stdin": "hello\n"},
            {"name": "client", "argv": ["sh", "-c", "exit 0"], "retry_rc": [111], "retries": 3, "delay": 0.1},
            {"name": "server", "action": "collect", "timeout": 30},
        ],
    }
    result = run_module(module, args, aws=False)
    assert not result["failed"] and result["changed"] is False
    assert result["run_id"] == args["run_id"] and result["removed"] is True
    assert result["run_dir"] == str(tmp_path / "jobs" / args["run_id"])
    server, client = result["jobs"]["server"], result["jobs"]["client"]
    assert (server["rc"], server["stdout"], server["finished"]) == (0, "served hello\n", True)
    assert (client["rc"], client["attempts"], client["cmd"]) == (0, 1, ["sh", "-c", "exit 0"])
    assert set(server) == set(client)
    assert not os.path.exists(result["run_dir"])


def test_invalid_steps_fail_the_task_with_the_reason(run_module, tmp_path):
    args = {"run_id": "r", "base_dir": str(tmp_path), "steps": [{"name": "a", "cmd": "true", "timeout": 0}]}
    result = run_module(module, args, aws=False)
    assert result["failed"] and result["msg"] == "steps[0] (a): timeout must be a number of seconds above 0"


def test_argv_and_cmd_are_exclusive(run_module, tmp_path):
    args = {"run_id": "r", "base_dir": str(tmp_path), "steps": [{"name": "a", "cmd": "true", "argv": ["true"]}]}
    result = run_module(module, args, aws=False)
    assert result["failed"] and "mutually exclusive" in result["msg"]


def test_a_failing_job_does_not_fail_the_task(run_module, tmp_path):
    args = {"run_id": "r", "base_dir": str(tmp_path / "jobs"), "steps": [{"name": "a", "argv": ["false"]}]}
    result = run_module(module, args, aws=False)
    assert not result["failed"] and result["jobs"]["a"]["rc"] == 1


def test_check_mode_runs_nothing(run_module, tmp_path):
    marker = tmp_path / "ran"
    args = {"run_id": "r", "base_dir": str(tmp_path / "jobs"), "steps": [{"name": "a", "argv": ["touch", str(marker)]}]}
    result = run_module(module, args, check_mode=True, aws=False)
    assert not result["failed"] and result["changed"] is False
    assert result["jobs"]["a"]["skipped"] and result["jobs"]["a"]["msg"] == "not run in check mode"
    assert not marker.exists() and not (tmp_path / "jobs").exists()


def test_stdin_is_no_log_and_the_rest_is_not(run_module, monkeypatch, tmp_path):
    seen = {}
    exit_json = basic.AnsibleModule.exit_json

    def keep(self, **kwargs):
        seen["no_log_values"] = set(self.no_log_values)
        exit_json(self, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", keep)
    secret = "import os\nos.environ['MLFLOW_TRACKING_PASSWORD'] = 'Pw-0123456789'\nprint('ok')\n"
    args = {
        "run_id": "r",
        "base_dir": str(tmp_path / "jobs"),
        "steps": [{"name": "http", "argv": ["python3", "-"], "stdin": secret, "env": {"FI_TCP_IFACE": "lo"}}],
    }
    result = run_module(module, args, aws=False)
    assert result["jobs"]["http"]["stdout"] == "ok\n"
    # Only the stdin text is masked in what the task shows: masking the environment's or argv's short
    # words would garble every job's output.
    assert secret in seen["no_log_values"]
    assert "lo" not in seen["no_log_values"] and "python3" not in seen["no_log_values"]
    assert "Pw-0123456789" not in str(result["jobs"])
