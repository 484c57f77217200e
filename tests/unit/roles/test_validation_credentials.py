"""How the validation role hands credentials to its HTTP checks on the nodes.

The role's own vars render the script it feeds to the node's python on stdin (a preamble that puts
MLFLOW_TRACKING_USERNAME/PASSWORD and VLLM_API_KEY into the process's environment, then
files/validation_http.py); that exact text then runs, as the command task runs it, against a
stand-in MLflow basic-auth server: the write succeeds with the credentials, no command line holds
them, and the answer does not echo them.
"""

import base64
import json
import pathlib
import subprocess
import sys

from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar
from ansible.template import trust_as_template

from .test_validation_scripts import FakeMlflow
from .test_validation_scripts import mlflow_state
from .test_validation_scripts import serve

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "validation"
PASSWORD = "Pw'with\"quotes\\and-0123456789"
KEY = "vllm-key-0123456789abcdef"


_PLUGINS = []


def render(expression, **variables):
    if not _PLUGINS:
        init_plugin_loader()
        _PLUGINS.append(True)
    loader = DataLoader()
    values = {}
    for part in ("defaults", "vars"):
        values.update(loader.load_from_file(str(ROLE / part / "main.yml"), trusted_as_template=True))
    values.update(role_path=str(ROLE), ansible_search_path=[str(ROLE)], **variables)
    templar = Templar(loader=loader, variables=values)
    return templar.template(trust_as_template("{{ " + expression + " }}"))


def test_preamble_sets_only_the_credentials_given():
    env = render("validation__http_env", mlflow_admin_password=PASSWORD, vllm_api_key=KEY)
    assert env == {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": PASSWORD, "VLLM_API_KEY": KEY}
    assert render("validation__http_env") == {}


def test_the_rendered_script_logs_to_mlflow_with_basic_auth():
    script = render("validation__http_script", mlflow_admin_password=PASSWORD)
    assert script.startswith("import os\nos.environ.update(")
    token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    state = dict(mlflow_state(), authorization=f"Basic {token}")
    with serve(FakeMlflow, state) as url:
        argv = [sys.executable, "-", "--timeout", "10", "mlflow-write", "--url", url]
        argv += ["--experiment", "e", "--run-name", "r"]
        result = subprocess.run(argv, input=script, capture_output=True, text=True, timeout=60, check=False)
    answer = json.loads(result.stdout)
    assert result.returncode == 0 and answer["ok"], result.stdout + result.stderr
    assert state.get("refused", 0) == 0
    assert PASSWORD not in " ".join(argv) and PASSWORD not in result.stdout + result.stderr
