"""The vllm role's templates, rendered by Ansible's own templar with the role's defaults and vars.

The GPU path of the role cannot run without GPUs, so these tests render what it would write on a
prefill and a decode node (the probe's answer is given here) and check the parts that must be
exactly right: the --kv-transfer-config JSON, the NIXL side-channel environment, addresses and
ports, the proxy's upstreams, the secret environment file and the fact contract.
"""

import json
import pathlib
import shlex

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.template import trust_as_template

ROLE = pathlib.Path(__file__).resolve().parents[3] / "roles" / "vllm"
PREFILL_IP = "10.0.0.5"
DECODE_IP = "10.0.0.6"
VENV = "/opt/nixl-efa/venvs/vllm"
EFA_LIB = {"owner": "root", "group": "root", "mode": "0755", "dir": True}


def probe(gpus=1, efa=False, address="10.9.9.9"):
    """What the role's probe (nixl_efa.cluster.service_node_info) answers, as registered."""
    return {
        "changed": False,
        "gpus": [f"GPU {i}: NVIDIA H100 80GB HBM3 (UUID: GPU-{i})" for i in range(gpus)],
        "address": address,
        "python": "3.11.2" if gpus else "",
        "debs": {"python3-venv": True, "python3-packaging": True},
        "installed": {},
        "user": True,
        "paths": {"/opt/amazon/efa/lib": EFA_LIB if efa else None},
        "files": {},
        "facts_dir": True,
        "units": {},
        "health": {},
    }


def endpoint(address, prefill=False, decode=False, serving=True):
    """The vllm_endpoint fact each host sets after its probe (tasks/main.yml)."""
    return {
        "serving": serving,
        "address": address,
        "prefill_url": f"http://{address}:8100" if serving and prefill else None,
        "decode_url": f"http://{address}:8200" if serving and decode else None,
        "proxy_url": f"http://{address}:8192" if serving and prefill else None,
    }


class Host:
    """Variables of one host as the role sees them, and a templar over them."""

    def __init__(self, name, answer, groups=None, hostvars=None, **extra):
        loader = DataLoader()
        variables = {}
        for part in ("defaults", "vars"):
            variables.update(loader.load_from_file(str(ROLE / part / "main.yml"), trusted_as_template=True))
        hostvars = hostvars or {
            "p0": {"vllm_endpoint": endpoint(PREFILL_IP, prefill=True)},
            "d0": {"vllm_endpoint": endpoint(DECODE_IP, decode=True)},
        }
        variables.update(
            inventory_hostname=name,
            groups=groups or {"all": ["p0", "d0"], "prefill": ["p0"], "decode": ["d0"]},
            ansible_play_hosts_all=list(hostvars),
            hostvars=hostvars,
            ansible_managed="Ansible managed",
            vllm__probe=answer,
        )
        variables.update(extra)
        self.loader = loader
        self.variables = variables

    def value(self, expression, **extra):
        templar = Templar(loader=self.loader, variables=dict(self.variables, **extra))
        return templar.template(trust_as_template("{{ " + expression + " }}"))

    def render(self, template, **extra):
        templar = Templar(loader=self.loader, variables=dict(self.variables, **extra))
        return templar.template(trust_as_template((ROLE / "templates" / template).read_text()))

    def server_unit(self, name):
        server = next(s for s in self.value("vllm__servers") if s["name"] == name)
        return Unit(self.render("vllm-server.service.j2", item=server))


class Unit:
    """A rendered systemd unit: its [Service] settings and ExecStart split into words."""

    def __init__(self, text):
        self.text = text
        joined = text.replace("\\\n", " ")
        self.environment = {}
        self.settings = {}
        for line in joined.splitlines():
            if line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            if key == "Environment":
                for word in shlex.split(value):
                    name, val = word.split("=", 1)
                    self.environment[name] = val.replace("%%", "%")
            else:
                self.settings[key] = value
        # systemd unescapes %% (and $$ in command lines); shlex does the quoting like systemd here.
        self.argv = [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(self.settings["ExecStart"])]

    def option(self, name):
        return self.argv[self.argv.index(name) + 1]

    def options(self, name):
        return [self.argv[i + 1] for i, word in enumerate(self.argv) if word == name]


def test_prefill_unit_serves_with_nixl_connector():
    unit = Host("p0", probe(), node_private_ip=PREFILL_IP).server_unit("prefill")
    assert unit.argv[:3] == [f"{VENV}/bin/vllm", "serve", "Qwen/Qwen3-0.6B"]
    assert unit.option("--host") == PREFILL_IP
    assert unit.option("--port") == "8100"
    assert unit.option("--tensor-parallel-size") == "1"
    assert json.loads(unit.option("--kv-transfer-config")) == {
        "kv_connector": "NixlConnector",
        "kv_role": "kv_both",
        "kv_load_failure_policy": "fail",
        "kv_connector_extra_config": {"backends": ["UCX"]},
    }
    assert unit.environment["VLLM_NIXL_SIDE_CHANNEL_HOST"] == PREFILL_IP
    assert unit.environment["VLLM_NIXL_SIDE_CHANNEL_PORT"] == "5600"
    assert "LD_LIBRARY_PATH" not in unit.environment
    assert unit.settings["EnvironmentFile"] == "/etc/nixl-efa/vllm.env"
    assert unit.settings["User"] == "vllm"
    assert unit.settings["Restart"] == "on-failure"
    assert unit.settings["LimitMEMLOCK"] == "infinity"


def test_decode_unit_uses_its_own_port_and_side_channel():
    host = Host("d0", probe(), node_private_ip=DECODE_IP)
    assert [s["name"] for s in host.value("vllm__servers")] == ["decode"]
    assert host.value("vllm__units") == ["nixl-efa-vllm-decode"]
    unit = host.server_unit("decode")
    assert unit.option("--host") == DECODE_IP
    assert unit.option("--port") == "8200"
    assert unit.environment["VLLM_NIXL_SIDE_CHANNEL_HOST"] == DECODE_IP
    assert unit.environment["VLLM_NIXL_SIDE_CHANNEL_PORT"] == "5601"
    assert json.loads(unit.option("--kv-transfer-config"))["kv_connector"] == "NixlConnector"


def test_efa_node_uses_libfabric_and_the_efa_libfabric():
    nixl_node = {"backends": {"UCX": {"loadable": True, "error": None}, "LIBFABRIC": {"loadable": True, "error": None}}}
    unit = Host("p0", probe(efa=True), node_private_ip=PREFILL_IP, nixl_node=nixl_node).server_unit("prefill")
    config = json.loads(unit.option("--kv-transfer-config"))
    assert config["kv_connector_extra_config"] == {"backends": ["LIBFABRIC"]}
    assert unit.environment["LD_LIBRARY_PATH"] == "/opt/amazon/efa/lib"


def test_libfabric_not_loadable_falls_back_to_ucx():
    nixl_node = {"backends": {"LIBFABRIC": {"loadable": False, "error": "FABRIC_1.10 not found"}}}
    host = Host("p0", probe(), node_private_ip=PREFILL_IP, nixl_node=nixl_node)
    assert host.value("vllm_kv_backends") == ["UCX"]


def test_address_falls_back_to_the_probe_without_node_private_ip():
    unit = Host("p0", probe(address="172.31.5.7")).server_unit("prefill")
    assert unit.option("--host") == "172.31.5.7"
    assert unit.environment["VLLM_NIXL_SIDE_CHANNEL_HOST"] == "172.31.5.7"


def test_extra_arguments_and_environment_are_quoted_for_systemd():
    unit = Host(
        "p0",
        probe(),
        node_private_ip=PREFILL_IP,
        vllm_serve_args=["--served-model-name", "my model 100%"],
        vllm_prefill_args=["--max-model-len", "8192"],
        vllm_prefill_environment={"CUDA_VISIBLE_DEVICES": "0,1", "NOTE": "cost $5"},
    ).server_unit("prefill")
    assert unit.option("--served-model-name") == "my model 100%"
    assert unit.option("--max-model-len") == "8192"
    assert unit.environment["CUDA_VISIBLE_DEVICES"] == "0,1"
    # $ is literal in Environment= (systemd expands variables in command lines only).
    assert "Environment='NOTE=cost $5'" in unit.text
    assert "'my model 100%%'" in unit.text


def test_host_in_both_groups_runs_both_servers_on_distinct_ports():
    groups = {"all": ["n0"], "prefill": ["n0"], "decode": ["n0"]}
    hostvars = {"n0": {"vllm_endpoint": endpoint(PREFILL_IP, prefill=True, decode=True)}}
    host = Host("n0", probe(gpus=2), groups=groups, hostvars=hostvars, node_private_ip=PREFILL_IP)
    assert host.value("vllm__units") == ["nixl-efa-vllm-prefill", "nixl-efa-vllm-decode", "nixl-efa-vllm-proxy"]
    prefill, decode = host.server_unit("prefill"), host.server_unit("decode")
    assert (prefill.option("--port"), decode.option("--port")) == ("8100", "8200")
    assert prefill.environment["VLLM_NIXL_SIDE_CHANNEL_PORT"] != decode.environment["VLLM_NIXL_SIDE_CHANNEL_PORT"]


def test_proxy_unit_lists_serving_upstreams():
    hostvars = {
        "p0": {"vllm_endpoint": endpoint(PREFILL_IP, prefill=True)},
        "d0": {"vllm_endpoint": endpoint(DECODE_IP, decode=True)},
        "d1": {"vllm_endpoint": endpoint("10.0.0.7", decode=True, serving=False)},
        "cpu": {},
    }
    groups = {"all": list(hostvars), "prefill": ["p0"], "decode": ["d0", "d1"]}
    unit = Unit(
        Host("p0", probe(), groups=groups, hostvars=hostvars, node_private_ip=PREFILL_IP).render(
            "vllm-proxy.service.j2"
        )
    )
    assert unit.argv[:2] == [f"{VENV}/bin/python", "/opt/nixl-efa/vllm/disagg_proxy.py"]
    assert unit.option("--host") == PREFILL_IP
    assert unit.option("--port") == "8192"
    assert unit.options("--prefill") == [f"http://{PREFILL_IP}:8100"]
    assert unit.options("--decode") == [f"http://{DECODE_IP}:8200"]


def test_environment_file_holds_the_token_only_when_set():
    host = Host("p0", probe(), node_private_ip=PREFILL_IP)
    assert "HF_TOKEN" not in host.render("vllm.env.j2")
    text = host.render("vllm.env.j2", vllm_hf_token="hf_secret")
    assert "HF_TOKEN=hf_secret\n" in text
    assert "HF_HOME=/var/lib/nixl-efa/hf-cache\n" in text


API_KEY = "Zq8api-key-from-secrets-manager-0123456789"


def test_api_key_goes_to_the_environment_file_only():
    """VLLM_API_KEY (read by vLLM itself and by the proxy) is in the 0600 environment file; no unit,
    hence no command line that ps shows, holds it."""
    hostvars = {"n0": {"vllm_endpoint": endpoint(PREFILL_IP, prefill=True, decode=True)}}
    groups = {"all": ["n0"], "prefill": ["n0"], "decode": ["n0"]}
    host = Host("n0", probe(gpus=2), groups=groups, hostvars=hostvars, node_private_ip=PREFILL_IP, vllm_api_key=API_KEY)
    env = dict(
        line.split("=", 1) for line in host.render("vllm.env.j2").splitlines() if line and not line.startswith("#")
    )
    assert env["VLLM_API_KEY"] == API_KEY
    proxy_unit = Unit(host.render("vllm-proxy.service.j2"))
    for unit in (host.server_unit("prefill"), host.server_unit("decode"), proxy_unit):
        assert API_KEY not in unit.text
        assert "--api-key" not in unit.argv
        assert unit.settings["EnvironmentFile"] == "/etc/nixl-efa/vllm.env"


@pytest.mark.parametrize(
    ("name", "answer", "groups", "reason"),
    [
        ("p0", probe(gpus=0), None, "skipped: no GPU"),
        ("x0", probe(), {"all": ["x0"], "prefill": [], "decode": []}, "skipped: not in the prefill or decode group"),
    ],
)
def test_fact_when_not_serving(name, answer, groups, reason):
    host = Host(name, answer, groups=groups, node_private_ip=PREFILL_IP)
    assert host.value("vllm__reason") == reason
    fact = host.value("vllm__fact", vllm_endpoint=endpoint(PREFILL_IP, serving=False))
    assert fact == {
        "serving": False,
        "reason": reason,
        "model": None,
        "prefill_url": None,
        "decode_url": None,
        "proxy_url": None,
    }


def test_fact_on_serving_hosts_points_at_the_peers():
    prefill = Host("p0", probe(), node_private_ip=PREFILL_IP)
    fact = prefill.value("vllm__fact", vllm_endpoint=endpoint(PREFILL_IP, prefill=True))
    assert fact == {
        "serving": True,
        "reason": None,
        "model": "Qwen/Qwen3-0.6B",
        "prefill_url": f"http://{PREFILL_IP}:8100",
        "decode_url": f"http://{DECODE_IP}:8200",
        "proxy_url": f"http://{PREFILL_IP}:8192",
    }
    decode = Host("d0", probe(), node_private_ip=DECODE_IP)
    fact = decode.value("vllm__fact", vllm_endpoint=endpoint(DECODE_IP, decode=True))
    assert (fact["prefill_url"], fact["decode_url"], fact["proxy_url"]) == (
        f"http://{PREFILL_IP}:8100",
        f"http://{DECODE_IP}:8200",
        f"http://{PREFILL_IP}:8192",
    )


def test_environment_file_task_is_root_only_and_never_logged():
    """The task that writes the key: mode 0600 root:root, no_log, and it restarts the servers and the proxy."""
    tasks = DataLoader().load_from_file(str(ROLE / "tasks" / "serve.yml"))
    (task,) = [t for t in tasks if t.get("ansible.builtin.template", {}).get("src") == "vllm.env.j2"]
    template = task["ansible.builtin.template"]
    assert (template["owner"], template["group"], template["mode"]) == ("root", "root", "0600")
    assert template["dest"] == "{{ vllm_env_file }}"
    assert task["no_log"] is True
    assert set(task["notify"]) == {"Restart vLLM servers", "Restart the vLLM proxy"}
    (check,) = [t for t in tasks if "vllm_api_key" in str(t.get("ansible.builtin.assert", {}).get("that", ""))]
    assert "vllm_api_key | length >= 16" in " ".join(check["ansible.builtin.assert"]["that"])
    assert "vllm_api_key }}" not in check["ansible.builtin.assert"]["fail_msg"]
