# -*- coding: utf-8 -*-
"""The execution environment (meta/execution-environment.yml), built and run as AWX would run it.

`make ee-test` runs these in file order; they share one image and one lab:

1. `ansible-builder create` renders the build context in a network namespace without any
   network: every file the build needs comes from this checkout;
2. another EE that only lists nixl_efa.cluster as a dependency reads the collection's Python and
   system packages from the same meta/execution-environment.yml (ansible-builder's introspection,
   over the tarball installed offline);
3. the image, built with Docker from that same file through build arguments only (a Debian base
   made here instead of UBI, the dependencies from this environment's collections instead of
   Galaxy, the lab's session-manager-plugin stand-in instead of AWS's package): ansible-core,
   ansible-runner, the collections, the Python packages and the plugin where AWX finds them;
4. the README's first-run workflow, job by job in the image with ansible-runner (a private data
   directory laid out as AWX lays it: project/, env/envvars with the AWS variables a credential
   injects, env/extravars, inventory/hosts, the script AWX writes from the last inventory sync),
   against a lab of its own on the host's network, over amazon.aws.aws_ssm through the image's
   session-manager-plugin: playbooks/provision.yml with the inventory synced before any node
   existed, an inventory sync (ansible-inventory --export in the image, as AWX's project source
   sync), playbooks/site.yml, verify_efa.yml and playbooks/teardown.yml with the new sync; then
   `make demo-down`.

Needs Docker, debootstrap, the lab's wheelhouse (tools/wheelhouse.py), root (for the network
namespace and the private data directory's owner) and about 10 minutes on 2 cores (8 with the
image built), most of it site.yml. Node containers use loopback addresses 127.0.1.x: never beside
molecule, e2e or release-test.
"""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "lab"))

import ee  # noqa: E402
from session_manager_plugin import VERSION as STAND_IN_VERSION  # noqa: E402

BUILDER = pathlib.Path(os.environ.get("EE_BUILDER") or ROOT / ".venv-ee" / "bin" / "ansible-builder")
IMAGE = os.environ.get("EE_IMAGE") or ee.DEFAULT_TAG
TIMINGS = {}


def _tail(result):
    return f"rc={result.returncode}\n{result.stdout[-8000:]}\n{(result.stderr or '')[-3000:]}"


def _lines(path):
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session", autouse=True)
def timings():
    yield TIMINGS
    for name, value in TIMINGS.items():
        print(f"ee timing: {name}: {value}")


@pytest.fixture(scope="session")
def staged():
    assert BUILDER.exists(), f"{BUILDER}: make ee-test makes it (tests/ee/requirements.txt)"
    return ee.stage(out=lambda _line: None)


def test_the_build_context_renders_offline(staged, tmp_path):
    prefix = ee.offline_prefix()
    if not prefix:
        pytest.skip("no network namespace can be made here (needs root): the render's offline claim is unproven")
    context = tmp_path / "context"
    command = [*prefix, *ee.create_command(BUILDER, context)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, _tail(result)
    dockerfile = (context / "Dockerfile").read_text()
    # The user's defaults, unchanged: UBI 9 with Python 3.12, the tested ansible-core range, dnf.
    assert 'ARG EE_BASE_IMAGE="docker.io/redhat/ubi9:latest"' in dockerfile
    assert 'ARG PYCMD="/usr/bin/python3.12"' in dockerfile
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.19.0,<2.22 ansible-runner>=2.4,<3"' in dockerfile
    assert 'ARG PKGMGR="/usr/bin/dnf"' in dockerfile
    # The collection before its Galaxy requirements; the plugin in the final image.
    assert dockerfile.index("install-collections.sh") < dockerfile.index("-r requirements.yml")
    assert "ARG SSM_PLUGIN_VERSION=latest" in dockerfile
    assert "install-session-manager-plugin.sh" in dockerfile.split("# Final build stage")[1]
    build = context / "_build"
    assert (build / "requirements.yml").read_text() == (ROOT / "requirements.yml").read_text()
    assert (build / "requirements.txt").read_text() == (ROOT / "meta" / "ee-requirements.txt").read_text()
    assert (build / "bindep.txt").read_text() == (ROOT / "meta" / "bindep.txt").read_text()
    assert {p.name for p in (build / "collections").iterdir()} == {"install-collections.sh", *staged}
    assert (build / "session-manager-plugin" / "install-session-manager-plugin.sh").exists()


def test_another_ee_reads_the_collections_dependencies_from_the_same_file(staged, tmp_path):
    """ansible-builder's introspection reads an installed collection's meta/execution-environment.yml,
    with `python` and `system` relative to the collection's root: the links there must find the lists."""
    (tarball,) = [ee.COLLECTIONS / name for name in staged if name.startswith("nixl_efa-cluster-")]
    install = tmp_path / "collections"
    # Away from this checkout, whose ansible.cfg finds the collection through .collections (installed already).
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"))
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p",
                    str(install), str(tarball)], env=env, cwd=tmp_path, capture_output=True, check=True)  # fmt: skip
    assert (install / "ansible_collections" / "nixl_efa" / "cluster" / "MANIFEST.json").exists()
    python = BUILDER.parent / "python"
    where = "import ansible_builder._target_scripts as s, pathlib; print(pathlib.Path(s.__file__).parent)"
    script = subprocess.run([str(python), "-c", where], capture_output=True, text=True, check=True).stdout.strip()
    result = subprocess.run([str(python), f"{script}/introspect.py", "introspect", str(install)],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, _tail(result)
    found = yaml.safe_load(result.stdout)
    ours = " # from collection nixl_efa.cluster"
    python_lines = [line.replace(ours, "").strip() for line in found["python"] if line.endswith(ours)]
    system_lines = [line.replace(ours, "").strip() for line in found["system"] if line.endswith(ours)]
    assert python_lines == _lines(ROOT / "meta" / "ee-requirements.txt")
    assert system_lines == _lines(ROOT / "meta" / "bindep.txt")
    # Not the repository's requirements.txt (test tools), which a collection without this file would give.
    assert not any("molecule" in line or "moto" in line for line in found["python"])


@pytest.fixture(scope="session")
def image(staged):
    start = time.monotonic()
    result = subprocess.run([str(BIN / "python"), str(ROOT / "lab" / "ee.py"), "build", "--builder", str(BUILDER),
                             "--tag", IMAGE], capture_output=True, text=True, timeout=1800, check=False)  # fmt: skip
    assert result.returncode == 0, _tail(result)
    TIMINGS["make ee (stage, render, build)"] = f"{time.monotonic() - start:.0f} s"
    TIMINGS["image size"] = f"{ee.image_size(IMAGE) / 1e6:.0f} MB"
    return IMAGE


def _in_image(image, command):
    result = subprocess.run(["docker", "run", "--rm", image, "bash", "-c", command],
                            capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert result.returncode == 0, _tail(result)
    return result.stdout


def test_the_image_holds_what_a_job_needs(image):
    labels = json.loads(subprocess.run(["docker", "image", "inspect", "-f", "{{json .Config.Labels}}", image],
                                       capture_output=True, text=True, check=True).stdout)  # fmt: skip
    assert labels.get("ansible-execution-environment") == "true"
    assert _in_image(image, "id -u").strip() == str(ee.RUNNER_UID)
    assert _in_image(image, "ansible --version").startswith("ansible [core 2.19.")
    assert _in_image(image, "ansible-runner --version").strip().startswith("2.")
    listed = json.loads(_in_image(image, "ansible-galaxy collection list --format json 2>/dev/null"))
    installed = listed["/usr/share/ansible/collections/ansible_collections"]
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert installed["nixl_efa.cluster"]["version"] == galaxy["version"]
    assert set(galaxy["dependencies"]) <= set(installed), installed
    versions = _in_image(image, "python3 -c 'import boto3, botocore, netaddr; print(botocore.__version__)'")
    assert versions.strip().startswith("1.")
    # amazon.aws.aws_ssm's default plugin path; here the lab's stand-in, as the definition installed it.
    plugin = _in_image(image, "readlink -f /usr/local/bin/session-manager-plugin; session-manager-plugin --version")
    assert plugin.splitlines() == ["/usr/local/sessionmanagerplugin/bin/session-manager-plugin", STAND_IN_VERSION]


class Lab:
    """A lab of its own (make lab-up with node containers), and the jobs run against it."""

    def __init__(self, tmp):
        self.port = _free_port()
        self.tmp = tmp
        self.jobs = {}
        self.synced = None

    def make(self, *args, timeout=600):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), *args, f"LAB_PORT={self.port}"],
                              env=env, capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip

    def sync(self, name):
        """The inventory as AWX's sync of the project source records it: the job inventory script."""
        script = self.tmp / f"{name}.inventory"
        result = subprocess.run(
            [str(BIN / "python"), str(ROOT / "lab" / "ee.py"), "sync", "--port", str(self.port), "--tag", IMAGE,
             "--out", str(script)],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert result.returncode == 0, _tail(result)
        printed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
        return script, json.loads(printed)

    def job(self, name, playbook, inventory, timeout=1800):
        """A playbook in the image with ansible-runner, with a synced inventory; its private data
        directory and result."""
        directory = self.tmp / name
        start = time.monotonic()
        result = subprocess.run(
            [str(BIN / "python"), str(ROOT / "lab" / "ee.py"), "run", "--port", str(self.port), "--tag", IMAGE,
             "--dir", str(directory), "--inventory-script", str(inventory), playbook],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        TIMINGS[f"{playbook} in the image"] = f"{time.monotonic() - start:.0f} s, exit {result.returncode}"
        self.jobs[name] = result
        return directory, result

    def containers(self):
        result = subprocess.run(["docker", "ps", "-a", "--filter", f"label=nixl-efa.lab={self.port}",
                                 "--format", "{{.State}}"], capture_output=True, text=True, check=True)  # fmt: skip
        return result.stdout.split()


def _artifacts(directory):
    """ansible-runner's record of the job: (status, rc, stdout)."""
    (run,) = [p for p in (directory / "artifacts").iterdir() if p.is_dir()]
    return (run / "status").read_text().strip(), int((run / "rc").read_text()), (run / "stdout").read_text()


@pytest.fixture(scope="module")
def lab(image, tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("ee-jobs"))
    node_image = subprocess.run([str(BIN / "python"), str(ROOT / "lab" / "labctl.py"), "image"],
                                capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    wheelhouse = subprocess.run([str(BIN / "python"), str(ROOT / "tools" / "wheelhouse.py")],
                                capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    up = lab.make("lab-up", f"LAB_NODE_IMAGE={node_image}", f"LAB_WHEELHOUSE={wheelhouse}")
    assert up.returncode == 0, _tail(up)
    try:
        yield lab
    finally:
        down = lab.make("demo-down")
        assert down.returncode == 0, _tail(down)
        assert lab.containers() == []
        shutil.rmtree(lab.tmp, ignore_errors=True)


def _nodes(inventory):
    return sorted(inventory.get("nixl_efa_nodes", {}).get("hosts", []))


def test_provision_runs_in_the_image_with_the_inventory_synced_before_any_node(lab):
    """A first run in AWX: the job's inventory is the sync from before the nodes existed."""
    empty, data = lab.sync("before")
    assert _nodes(data) == []
    # The cluster's settings came in with the sync, as the `all` group's variables.
    assert data["all"]["vars"]["cluster_name"] == "nixl-efa-lab"
    directory, result = lab.job("provision", "playbooks/provision.yml", empty)
    assert _artifacts(directory)[:2] == ("successful", 0), _tail(result)
    assert lab.containers() == ["running", "running"]


def test_site_yml_runs_in_the_image_after_the_inventory_sync(lab):
    assert lab.jobs.get("provision") is not None and lab.jobs["provision"].returncode == 0, "provision failed"
    synced, data = lab.sync("after")
    assert len(_nodes(data)) == 2
    lab.synced = synced
    directory, result = lab.job("site", "playbooks/site.yml", synced)
    status, rc, stdout = _artifacts(directory)
    assert (status, rc) == ("successful", 0), _tail(result)
    # AWX's checkout has no .collections link: every nixl_efa.cluster role and plugin came from the image.
    assert not (directory / "project" / ".collections").exists()
    assert "PLAY RECAP" in stdout and "failed=0" in stdout
    report = json.loads((directory / "project" / "reports" / "latest.json").read_text())
    assert report["summary"]["status"] == "passed", report["summary"]
    passed = {c["id"] for c in report["checks"] if c["status"] == "passed"}
    assert {"fabric.pingpong", "nixl.transfer", "mlflow.write_read", "vllm.serving"} <= passed, report["checks"]
    assert "# Cluster validation: nixl-efa-lab" in stdout


def test_verify_efa_runs_in_the_image(lab):
    assert lab.jobs.get("site") is not None and lab.jobs["site"].returncode == 0, "site.yml failed in the image"
    directory, result = lab.job("verify_efa", "verify_efa.yml", lab.synced, timeout=900)
    assert _artifacts(directory)[:2] == ("successful", 0), _tail(result)
    report = json.loads((directory / "project" / "reports" / "latest-efa.json").read_text())
    assert report["summary"]["failed"] == 0
    assert any(c["id"] == "fabric.pingpong" and c["status"] == "passed" for c in report["checks"]), report["checks"]


def test_teardown_runs_in_the_image(lab):
    assert lab.jobs.get("provision") is not None, "nothing was provisioned"
    # With the latest sync (the one from before the nodes, if site.yml's never came): teardown
    # finds what to delete by tag, not through the inventory.
    inventory = lab.synced or lab.tmp / "before.inventory"
    directory, result = lab.job("teardown", "playbooks/teardown.yml", inventory, timeout=900)
    assert _artifacts(directory)[:2] == ("successful", 0), _tail(result)
    # The nodes are terminated: the lab removes their containers.
    assert lab.containers() == []
