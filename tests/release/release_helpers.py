# -*- coding: utf-8 -*-
"""What the release tests share: paths and a command runner (conftest.py puts this folder on sys.path)."""

import importlib.util
import pathlib
import subprocess
import sys
import sysconfig

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
# The virtual environment's own collections (amazon.aws, community.aws, ...) live here.
SITE = pathlib.Path(sysconfig.get_paths()["purelib"])
CONSUMER = ROOT / "tests" / "consumer" / "ansible_collections" / "acme" / "gpu_ops"

# The lab's local AWS (a fixture) and the playbook outcome reader, as the integration tests have them.
_spec = importlib.util.spec_from_file_location("nixl_efa_integration_conftest", ROOT / "tests/integration/conftest.py")
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)
lab_aws = _integration.lab_aws
PlaybookRun = _integration.PlaybookRun


def run(command, env, cwd, timeout=600, check=True):
    """Run a command; on failure (when check), say what it printed."""
    result = subprocess.run(
        [str(c) for c in command], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check:
        assert result.returncode == 0, (
            f"{' '.join(map(str, command))}: rc={result.returncode}\n" + (result.stdout + result.stderr)[-8000:]
        )
    return result
