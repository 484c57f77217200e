# -*- coding: utf-8 -*-
"""Lab stand-in for the machines behind EC2 instances: one Debian 12 systemd container per instance.

Switched on by LAB_NODE_IMAGE (a Docker image made by lab/node_image.sh); without it the lab's
instances are records only, as in plain moto. With it:

- RunInstances starts, for each instance it launched, a container named
  `nixl-efa-lab-<instance id>` (labels nixl-efa.lab=<LAB_NAME, default "lab"> and
  nixl-efa.lab.instance-id), host
  networking (the nodes talk over their own loopback addresses, never moto's invented 10.x
  addresses), systemd as PID 1, without --privileged (RUN_OPTIONS, the one recipe of a lab node).
- With LAB_WHEELHOUSE (a directory made by tools/wheelhouse.py), every container mounts it read-only
  at WHEELHOUSE_MOUNT: the wheels vLLM on the CPU needs, downloaded once on this machine instead of
  once per node (inventories/lab sets vllm_wheelhouse to that path).
- StopInstances stops the container, StartInstances starts it again, TerminateInstances removes it.
- online(instance_id) says whether the container's systemd is up (running or degraded): lab_ssm
  reports a node Online only then, as the SSM agent registers only once the machine has booted.
- Containers left by an earlier lab server of the same LAB_NAME (whose instances died with it) are
  removed at start; labs of other names (several may run, on different ports) are left alone.

Nodes without an instance (`lab/labctl.py nodes up PREFIX N`: PREFIX-0 .. PREFIX-(N-1), for trying a
role by hand, Ansible reaching them with ansible_connection=community.docker.docker) are the same
containers: up() and down() below.

Lab tooling under lab/, never shipped.
"""

import os
import subprocess
import threading
import time

LABEL = "nixl-efa.lab"
PREFIX = "nixl-efa-lab-"
RUN_OPTIONS = (
    "--cap-add",
    "SYS_ADMIN",
    "--security-opt",
    "seccomp=unconfined",
    "--tmpfs",
    "/run",
    "--tmpfs",
    "/run/lock",
    # /dev/shm as a machine has it (tmpfs, on EC2 half the memory), not Docker's 64 MB: vLLM's engine
    # allocates its shared-memory queues there (160 MB on the CPU).
    "--shm-size",
    "2g",
    "--cgroupns",
    "host",
    "-v",
    "/sys/fs/cgroup:/sys/fs/cgroup:rw",
    "--network",
    "host",
)
# Where the nodes see the wheelhouse (inventories/lab/group_vars/nixl_efa_nodes/lab.yml: vllm_wheelhouse).
WHEELHOUSE_MOUNT = "/var/cache/nixl-efa/wheelhouse"
_ORIGINALS = {}
_online = set()
_lock = threading.Lock()


class NodeError(RuntimeError):
    """A container could not be started or removed."""


def image():
    """The node image, or None when the lab runs without node containers."""
    return os.environ.get("LAB_NODE_IMAGE") or None


def lab_name():
    return os.environ.get("LAB_NAME") or "lab"


def wheelhouse_options():
    """docker run options that mount LAB_WHEELHOUSE read-only at WHEELHOUSE_MOUNT (none without it)."""
    wheelhouse = os.environ.get("LAB_WHEELHOUSE")
    return ["-v", f"{os.path.abspath(wheelhouse)}:{WHEELHOUSE_MOUNT}:ro"] if wheelhouse else []


def container_name(instance_id):
    return PREFIX + instance_id


def _docker(*args, check=True, timeout=120):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise NodeError(f"docker {args[0]} failed: {(result.stderr or result.stdout).strip()}")
    return result


def run_container(name, hostname, node_image, labels=()):
    """Starts a lab node: a fresh container `name` of `node_image` with systemd as PID 1 (an old one is removed)."""
    _docker("rm", "-f", name, check=False)
    label_options = [option for label in labels for option in ("--label", label)]
    _docker(
        "run",
        "-d",
        "--name",
        name,
        "--hostname",
        hostname,
        *label_options,
        *RUN_OPTIONS,
        *wheelhouse_options(),
        node_image,
        "/lib/systemd/systemd",
    )


def start(instance):
    """Starts the container of a newly launched instance (its host name is the instance's private DNS name)."""
    run_container(
        container_name(instance.id),
        instance.private_dns_name.split(".")[0],
        image(),
        labels=(f"{LABEL}={lab_name()}", f"{LABEL}.instance-id={instance.id}"),
    )


def system_state(name):
    """`systemctl is-system-running` in container `name` ("" when it cannot say)."""
    return _docker("exec", name, "systemctl", "is-system-running", check=False, timeout=30).stdout.strip()


def up(prefix, count, node_image, tries=120, interval=0.5, sleep=time.sleep):
    """Nodes PREFIX-0 .. PREFIX-(count-1) without an instance: started unless running, then waited for
    until systemd runs (running or degraded, at most tries * interval seconds each). {name: state}."""
    names = [f"{prefix}-{i}" for i in range(count)]
    for name in names:
        if not _docker("ps", "-q", "--filter", f"name=^{name}$", check=False).stdout.strip():
            run_container(name, name, node_image)
    states = {}
    for name in names:
        for _attempt in range(tries):
            states[name] = system_state(name)
            if states[name] in ("running", "degraded"):
                break
            sleep(interval)
    return states


def down(prefix):
    """Removes every container named PREFIX-*; how many there were."""
    ids = _docker("ps", "-aq", "--filter", f"name=^{prefix}-", check=False).stdout.split()
    if ids:
        _docker("rm", "-f", *ids)
    return len(ids)


def remove(instance_id):
    with _lock:
        _online.discard(instance_id)
    _docker("rm", "-f", container_name(instance_id), check=False)


def stop(instance_id):
    with _lock:
        _online.discard(instance_id)
    _docker("stop", container_name(instance_id), check=False)


def resume(instance_id):
    _docker("start", container_name(instance_id), check=False)


def online(instance_id):
    """True once the instance's container runs systemd to completion (cached until it stops)."""
    if image() is None:
        return True
    with _lock:
        if instance_id in _online:
            return True
    if system_state(container_name(instance_id)) in ("running", "degraded"):
        with _lock:
            _online.add(instance_id)
        return True
    return False


def remove_leftovers():
    """Removes containers of an earlier lab server: its instances no longer exist."""
    result = _docker("ps", "-aq", "--filter", f"label={LABEL}={lab_name()}", check=False)
    ids = result.stdout.split()
    if ids:
        _docker("rm", "-f", *ids, check=False)
    return len(ids)


def _ids(response):
    return list(response._get_param("InstanceIds", []))


def run_instances(self):
    result = _ORIGINALS["run_instances"](self)
    if image() is not None:
        for instance in result.result.instances:
            start(instance)
    return result


def _per_instance(name, action):
    """moto's `name` call, then `action(instance id)` for each instance it named."""

    def wrapper(self):
        result = _ORIGINALS[name](self)
        if image() is not None:
            for instance_id in _ids(self):
                action(instance_id)
        return result

    wrapper.__name__ = name
    return wrapper


WRAPPED = {
    "run_instances": run_instances,
    "terminate_instances": _per_instance("terminate_instances", remove),
    "stop_instances": _per_instance("stop_instances", stop),
    "start_instances": _per_instance("start_instances", resume),
}


def install(response_class):
    """Wraps the instance lifecycle calls (after lab_instances' own wrappers); idempotent."""
    for name, func in WRAPPED.items():
        _ORIGINALS.setdefault(name, getattr(response_class, name))
        setattr(response_class, name, func)
    if image() is not None:
        remove_leftovers()
