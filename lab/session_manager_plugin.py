# -*- coding: utf-8 -*-
"""The lab's stand-in for AWS's session-manager-plugin, as amazon.aws.aws_ssm runs it.

Lab tooling under lab/, never shipped. The real plugin is the executable the aws_ssm
connection starts after its StartSession call; it opens Session Manager's data channel to the
agent on the instance and relays a shell. This stand-in keeps the connection's side exactly as
on AWS and replaces only the data channel:

    session-manager-plugin '<StartSession response json>' REGION StartSession PROFILE \
        '{"Target": "i-..."}' ENDPOINT

It checks the arguments as the real one reads them, prints the "Starting session with
SessionId: ..." line the connection waits for, and opens an interactive bash inside the
instance's container (lab_nodes.py names it nixl-efa-lab-<instance id>) through a
pseudo-terminal made on the node by util-linux `script`, as the agent gives a session a
terminal. The shell runs as ssm-user, the user Session Manager's agent creates (with
password-less sudo) and starts sessions as; Ansible's become goes through sudo as on AWS.
The connection's terminal handling, command wrapping and S3 presigned-URL/curl file transfers
then run unmodified.

LAB_SSM_COMMAND_LATENCY (seconds, default 0) delays every line sent to the node by that much:
a stand-in for Session Manager's round trips when benchmarking.
LAB_SSM_USER (default ssm-user) changes the session's user.

`session-manager-plugin --version` prints VERSION, as the real plugin prints its own: the
execution environment's build (meta/ee/install-session-manager-plugin.sh) runs it, and
tests/ee installs this stand-in there in place of AWS's package.
"""

import json
import os
import subprocess
import sys
import time

CONTAINER_PREFIX = "nixl-efa-lab-"
# What --version prints: no release of AWS's plugin, and says what it is.
VERSION = "0.0.0-lab (the lab's stand-in for AWS's session-manager-plugin)"
USAGE = (
    "usage: session-manager-plugin '<StartSession response json>' REGION StartSession PROFILE "
    "'<parameters json with Target>' ENDPOINT"
)


def parse(argv):
    """(session id, instance id) from the real plugin's argument layout; ValueError when it differs."""
    if len(argv) < 5 or argv[2] != "StartSession":
        raise ValueError(USAGE)
    response = json.loads(argv[0])
    parameters = json.loads(argv[4])
    session_id = response.get("SessionId")
    target = parameters.get("Target")
    if not session_id or not response.get("TokenValue") or not response.get("StreamUrl"):
        raise ValueError("the StartSession response lacks SessionId, TokenValue or StreamUrl")
    if not target:
        raise ValueError("the session parameters lack a Target")
    return session_id, target


def latency():
    value = float(os.environ.get("LAB_SSM_COMMAND_LATENCY") or 0)
    if value < 0:
        raise ValueError(f"LAB_SSM_COMMAND_LATENCY must be 0 or more, got {value}")
    return value


def shell_command(target, user):
    return [
        "docker",
        "exec",
        "-i",
        "-u",
        user,
        "-w",
        f"/home/{user}",
        "-e",
        f"HOME=/home/{user}",
        "-e",
        "TERM=vt100",
        CONTAINER_PREFIX + target,
        "script",
        "-qfc",
        "bash -i",
        "/dev/null",
    ]


def relay(command, delay):
    """Runs the shell, passing stdin through line by line, each line `delay` seconds late."""
    child = subprocess.Popen(command, stdin=subprocess.PIPE, bufsize=0)
    source = sys.stdin.buffer.raw
    try:
        while True:
            chunk = source.read(65536)
            if not chunk:
                break
            if b"\n" in chunk:
                time.sleep(delay * chunk.count(b"\n"))
            child.stdin.write(chunk)
    except BrokenPipeError:
        pass
    finally:
        try:
            child.stdin.close()
        except BrokenPipeError:
            pass
    return child.wait()


def running(container):
    try:
        result = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Running}}", container], capture_output=True, text=True, check=False
        )
    except OSError:  # no docker CLI: no lab node can be running
        return False
    return result.returncode == 0 and result.stdout.strip() == "true"


def main(argv):
    if argv == ["--version"]:
        print(VERSION)
        return 0
    try:
        session_id, target = parse(argv)
        delay = latency()
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    if not running(CONTAINER_PREFIX + target):
        print(f"An error occurred (TargetNotConnected): {target} is not connected.", file=sys.stderr)
        return 1
    print(f"\nStarting session with SessionId: {session_id}", flush=True)
    command = shell_command(target, os.environ.get("LAB_SSM_USER") or "ssm-user")
    if not delay:
        os.execvp(command[0], command)
    return relay(command, delay)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
