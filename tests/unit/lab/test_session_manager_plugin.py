# -*- coding: utf-8 -*-
"""The lab's session-manager-plugin stand-in: the arguments amazon.aws.aws_ssm passes, the shell it opens."""

import importlib.util
import io
import json
import pathlib
import sys
import time

import pytest

PATH = pathlib.Path(__file__).resolve().parents[3] / "lab" / "session_manager_plugin.py"
SPEC = importlib.util.spec_from_file_location("lab_session_manager_plugin", PATH)
plugin = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(plugin)

RESPONSE = {"SessionId": "lab-0123", "TokenValue": "token", "StreamUrl": "ws://127.0.0.1:5055/lab/x"}


def argv(response=None, target="i-0abc", action="StartSession"):
    # What amazon.aws.aws_ssm runs: PLUGIN response REGION StartSession PROFILE parameters ENDPOINT
    return [
        json.dumps(RESPONSE if response is None else response),
        "us-east-1",
        action,
        "",
        json.dumps({"Target": target}),
        "https://ssm.us-east-1.amazonaws.com",
    ]


def test_parse_reads_the_session_and_the_target():
    assert plugin.parse(argv()) == ("lab-0123", "i-0abc")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (argv()[:3], "usage"),
        (argv(action="TerminateSession"), "usage"),
        (argv(response={"SessionId": "lab-1"}), "lacks SessionId, TokenValue or StreamUrl"),
        (argv(target=""), "lack a Target"),
    ],
)
def test_parse_refuses_what_the_real_plugin_would_not_get(args, message):
    with pytest.raises(ValueError, match=message):
        plugin.parse(args)


def test_latency_from_the_environment(monkeypatch):
    monkeypatch.delenv("LAB_SSM_COMMAND_LATENCY", raising=False)
    assert plugin.latency() == 0
    monkeypatch.setenv("LAB_SSM_COMMAND_LATENCY", "0.25")
    assert plugin.latency() == 0.25
    monkeypatch.setenv("LAB_SSM_COMMAND_LATENCY", "-1")
    with pytest.raises(ValueError, match="0 or more"):
        plugin.latency()


def test_the_shell_is_an_interactive_bash_on_a_pty_in_the_instance_container_as_the_user():
    command = plugin.shell_command("i-0abc", "ssm-user")
    assert command[:2] == ["docker", "exec"]
    assert command[command.index("-u") + 1] == "ssm-user"
    assert "nixl-efa-lab-i-0abc" in command
    assert command[-4:] == ["script", "-qfc", "bash -i", "/dev/null"]
    assert "-t" not in command  # the pty is made on the node by script, as the agent makes one


def test_relay_passes_every_byte_and_delays_each_line(monkeypatch, tmp_path):
    data = b"echo one\necho two\npartial"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    out = tmp_path / "out"
    started = time.monotonic()
    copy = f"import sys; open({str(out)!r}, 'wb').write(sys.stdin.buffer.read())"
    rc = plugin.relay([sys.executable, "-c", copy], 0.2)
    elapsed = time.monotonic() - started
    assert rc == 0
    assert out.read_bytes() == data
    assert elapsed >= 0.4  # two newlines, 0.2 s each


def test_main_refuses_a_target_without_a_running_container(monkeypatch, capsys):
    monkeypatch.setattr(plugin, "running", lambda name: False)
    assert plugin.main(argv()) == 1
    captured = capsys.readouterr()
    assert "TargetNotConnected" in captured.err
    assert "Starting session" not in captured.out


def test_main_announces_the_session_then_runs_the_shell(monkeypatch, capsys):
    monkeypatch.setattr(plugin, "running", lambda name: name == "nixl-efa-lab-i-0abc")
    monkeypatch.setenv("LAB_SSM_COMMAND_LATENCY", "0.01")
    ran = []
    monkeypatch.setattr(plugin, "relay", lambda command, delay: ran.append((command, delay)) or 0)
    assert plugin.main(argv()) == 0
    assert "Starting session with SessionId: lab-0123" in capsys.readouterr().out
    assert ran and ran[0][1] == 0.01 and ran[0][0][-3] == "-qfc"


def test_main_reports_bad_arguments_with_usage(capsys):
    assert plugin.main(["x"]) == 2
    assert "usage" in capsys.readouterr().err


def test_version_says_it_is_the_stand_in(monkeypatch, capsys):
    # The execution environment's build runs `session-manager-plugin --version` after installing it.
    monkeypatch.setattr(plugin, "running", lambda name: pytest.fail("--version must not look for a node"))
    assert plugin.main(["--version"]) == 0
    assert "stand-in" in capsys.readouterr().out
