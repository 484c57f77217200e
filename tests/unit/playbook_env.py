"""The environment of an ansible-playbook run in a unit test: this checkout's ansible.cfg, and nothing of the
caller's Ansible, AWS or proxy settings; no instance metadata and one attempt per AWS call, so a call that
should not happen fails at once instead of retrying. Each test adds its credentials, endpoint or proxy."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def playbook_environ(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "AWS_")) and "PROXY" not in k.upper()}
    env.update(
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_RETRY_MODE="standard",
        NO_PROXY="",
    )
    env.update(extra)
    return env
