"""The mlflow role's systemd unit (templates/mlflow.service.j2), rendered with the role's own defaults and vars.

MLflow 3 blocks a POST whose Origin is neither localhost nor in --cors-allowed-origins, the UI's own among them
(its runs search is a POST): the server's URL is always allowed, the user's origins after it, and nothing wider.
"""

import pathlib

from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar
from ansible.template import trust_as_template

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "mlflow"
_PLUGINS = []


def unit(**variables):
    if not _PLUGINS:
        init_plugin_loader()
        _PLUGINS.append(True)
    loader = DataLoader()
    values = {}
    for part in ("defaults", "vars"):
        values.update(loader.load_from_file(str(ROLE / part / "main.yml"), trusted_as_template=True))
    values.update(ansible_managed="managed", mlflow__probe={"address": "10.0.1.5"}, inventory_hostname="node-0",
                  **variables)  # fmt: skip
    templar = Templar(loader=loader, variables=values)
    return templar.template(trust_as_template((ROLE / "templates" / "mlflow.service.j2").read_text()))


def server_options(text):
    command = text.split("ExecStart=", 1)[1].split("\nRestart=", 1)[0]
    words = command.replace("\\\n", " ").split()
    return {w: words[i + 1] for i, w in enumerate(words) if w.startswith("--") and i + 1 < len(words)}


def test_the_servers_own_url_is_always_an_allowed_origin():
    options = server_options(unit(mlflow_host="127.0.1.1"))
    assert options["--cors-allowed-origins"] == "http://127.0.1.1:5000"
    assert options["--allowed-hosts"].startswith("127.0.1.1,127.0.1.1:5000,localhost")
    # The bind address found by the probe when none is set (AWS: the private address).
    assert server_options(unit())["--cors-allowed-origins"] == "http://10.0.1.5:5000"


def test_the_users_origins_come_after_it_and_nothing_wider():
    options = server_options(unit(mlflow_host="127.0.1.1", mlflow_cors_allowed_origins=[
        "https://mlflow.example.com", "http://127.0.1.1:5000"]))  # fmt: skip
    assert options["--cors-allowed-origins"] == "http://127.0.1.1:5000,https://mlflow.example.com"
    assert "*" not in options["--cors-allowed-origins"]
