# -*- coding: utf-8 -*-
"""lab/ee.py, the lab's build and run of the execution environment, without Docker.

What it passes to docker (the lab's differences from a user's build are build arguments only; a
job runs as AWX runs one), the dependency tarballs it repacks from installed collections, and the
private data directory it lays out for ansible-runner.
"""

import hashlib
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
SPEC = importlib.util.spec_from_file_location("lab_ee", ROOT / "lab" / "ee.py")
ee = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(ee)


def test_the_lab_build_differs_from_a_users_by_build_arguments_only():
    args = ee.build_args("nixl-efa/ee-base-debian12:abc")
    assert args == {
        "EE_BASE_IMAGE": "nixl-efa/ee-base-debian12:abc",
        "PKGMGR": "/usr/local/sbin/ee-pkgmgr",
        "PYPKG": "python3",
        "PYCMD": "/opt/ee-python/bin/python3",
        "ANSIBLE_GALAXY_CLI_COLLECTION_OPTS": "--offline",
    }
    # Each is an ARG of the Dockerfile ansible-builder renders (meta/execution-environment.yml sets
    # PYCMD and PYPKG; the others are ansible-builder's own).
    command = ee.docker_build_command(pathlib.Path("/ctx"), "nixl-efa/ee:lab", args)
    assert command[:4] == ["docker", "build", "--network", "host"]
    assert command[-1] == "/ctx" and command[4:6] == ["-f", "/ctx/Dockerfile"]
    assert [command[i + 1] for i, word in enumerate(command) if word == "--build-arg"] == [
        f"{name}={value}" for name, value in args.items()
    ]


def test_the_definition_is_rendered_as_shipped():
    command = ee.create_command("/venv/bin/ansible-builder", "/ctx")
    assert command[:3] == ["/venv/bin/ansible-builder", "create", "-f"]
    assert command[3] == str(ROOT / "meta" / "execution-environment.yml")
    assert command[command.index("--context") + 1] == "/ctx"
    assert command[command.index("--output-filename") + 1] == "Dockerfile"


def test_a_job_runs_as_awx_runs_one():
    command = ee.run_command("img:1", "/tmp/job", "playbooks/site.yml", "/usr/bin/docker", 998, ("-v",))
    assert command[:6] == ["docker", "run", "--rm", "--network", "host", "--group-add"] and command[6] == "998"
    options = command[: command.index("img:1")]
    mounts = [options[i + 1] for i, word in enumerate(options) if word == "-v"]
    assert "/var/run/docker.sock:/var/run/docker.sock" in mounts
    assert "/usr/bin/docker:/usr/local/bin/docker:ro" in mounts
    assert "/tmp/job:/runner" in mounts
    runner = command[command.index("img:1") + 1 :]
    assert runner == ["ansible-runner", "run", "/runner", "-p", "playbooks/site.yml",
                      "--inventory", "/runner/project/inventories/lab", "-v"]  # fmt: skip


def test_the_requirements_collections_are_the_dependencies_staged():
    assert ee.galaxy_requirements() == [
        "amazon.aws", "community.aws", "ansible.utils", "ansible.posix", "community.general",
    ]  # fmt: skip


def _installed_collection(path, files):
    """An installed collection: files on disk, FILES.json listing them plus one the bundle left out."""
    path.mkdir(parents=True)
    (path / "plugins").mkdir()
    entries = [{"name": ".", "ftype": "dir", "chksum_type": None, "chksum_sha256": None, "format": 1}]
    entries.append({"name": "plugins", "ftype": "dir", "chksum_type": None, "chksum_sha256": None, "format": 1})
    for name, data in files.items():
        (path / name).write_bytes(data)
        entries.append({"name": name, "ftype": "file", "chksum_type": "sha256",
                        "chksum_sha256": hashlib.sha256(data).hexdigest(), "format": 1})  # fmt: skip
    entries.append({"name": "tests/unit/test_x.py", "ftype": "file", "chksum_type": "sha256",
                    "chksum_sha256": "0" * 64, "format": 1})  # fmt: skip
    (path / "FILES.json").write_text(json.dumps({"files": entries, "format": 1}))
    manifest = {
        "collection_info": {"namespace": "acme", "name": "demo", "version": "1.2.3", "dependencies": {}},
        "file_manifest_file": {"name": "FILES.json", "ftype": "file", "chksum_type": "sha256",
                               "chksum_sha256": "stale", "format": 1},
        "format": 1,
    }  # fmt: skip
    (path / "MANIFEST.json").write_text(json.dumps(manifest))
    return path


def test_repack_makes_an_artifact_of_what_is_installed(tmp_path):
    source = _installed_collection(tmp_path / "acme" / "demo", {"plugins/a.py": b"A = 1\n", "README.md": b"hi\n"})
    out = tmp_path / "out"
    out.mkdir()
    tarball = ee.repack(source, out)
    assert tarball.name == "acme-demo-1.2.3.tar.gz"
    with tarfile.open(tarball) as tar:
        names = sorted(tar.getnames())
        files_json = tar.extractfile("FILES.json").read()
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        assert tar.extractfile("plugins/a.py").read() == b"A = 1\n"
    assert names == ["FILES.json", "MANIFEST.json", "README.md", "plugins", "plugins/a.py"]
    listed = [entry["name"] for entry in json.loads(files_json)["files"]]
    assert listed == [".", "plugins", "plugins/a.py", "README.md"], "the file the bundle left out is no longer listed"
    assert manifest["file_manifest_file"]["chksum_sha256"] == hashlib.sha256(files_json).hexdigest()


def test_repack_refuses_a_changed_file(tmp_path):
    source = _installed_collection(tmp_path / "acme" / "demo", {"plugins/a.py": b"A = 1\n"})
    (source / "plugins" / "a.py").write_bytes(b"A = 2\n")
    with pytest.raises(ValueError, match="differs from its FILES.json checksum"):
        ee.repack(source, tmp_path)


def test_the_repacked_artifact_installs_with_ansible_galaxy(tmp_path):
    source = _installed_collection(tmp_path / "src" / "acme" / "demo", {"plugins/a.py": b"A = 1\n"})
    tarball = ee.repack(source, tmp_path)
    result = subprocess.run(
        ["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "-p", str(tmp_path / "dest"),
         str(tarball)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
        env={"PATH": str(pathlib.Path(sys.executable).parent), "ANSIBLE_CONFIG": str(tmp_path / "x")},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "dest" / "ansible_collections" / "acme" / "demo" / "plugins" / "a.py").read_bytes() == b"A = 1\n"


def _git_repo(path):
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / ".gitignore").write_text(".venv/\n")
    (path / ".venv").mkdir()
    (path / ".venv" / "big").write_text("x")
    (path / "playbooks").mkdir()
    (path / "playbooks" / "site.yml").write_text("---\n")
    (path / "meta").mkdir()
    (path / "meta" / "bindep.txt").write_text("ca-certificates\n")
    (path / "bindep.txt").symlink_to("meta/bindep.txt")
    return path


def test_the_private_data_directory_is_laid_out_as_awx_lays_it(tmp_path):
    repo = _git_repo(tmp_path / "repo")
    directory = ee.private_data_dir(tmp_path / "job", {"AWS_REGION": "us-east-1"}, {"x": 1}, root=repo)
    project = directory / "project"
    assert (project / "playbooks" / "site.yml").is_file()
    assert not (project / ".venv").exists(), "only what git sees, as a checkout"
    assert (project / "bindep.txt").is_symlink() and (project / "bindep.txt").read_text() == "ca-certificates\n"
    assert yaml.safe_load((directory / "env" / "envvars").read_text()) == {"AWS_REGION": "us-east-1"}
    assert yaml.safe_load((directory / "env" / "extravars").read_text()) == {"x": 1}
    assert (directory / "artifacts").is_dir()


def test_a_job_gets_the_labs_aws_variables_and_the_images_plugin():
    variables = ee.lab_envvars(5099)
    assert variables["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5099"
    assert variables["AWS_ACCESS_KEY_ID"] == "testing"
    assert ee.PLUGIN_IN_IMAGE == "/usr/local/bin/session-manager-plugin"


def test_run_passes_the_plugin_extra_var_and_owns_the_directory_as_the_images_user(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(ee, "private_data_dir", lambda path, env, extra: ran.append(("dir", env, extra)) or path)
    monkeypatch.setattr(ee, "own_tree", lambda path, uid: ran.append(("own", uid)))
    monkeypatch.setattr(ee, "docker_socket_gid", lambda: 994)
    monkeypatch.setattr(ee.subprocess, "run", lambda command, check: ran.append(("run", command)) or
                        type("R", (), {"returncode": 0})())  # fmt: skip
    assert ee.run("img", 5099, tmp_path / "job", "playbooks/teardown.yml") == 0
    (dir_step, env, extra), own, (run_step, command) = ran
    assert (dir_step, run_step) == ("dir", "run")
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5099"
    assert extra == {"ansible_aws_ssm_plugin": "/usr/local/bin/session-manager-plugin"}
    assert own == ("own", 1000)
    assert "994" in command and "playbooks/teardown.yml" in command


def test_the_stand_in_files_exist():
    assert all(path.is_file() for path in ee.STAND_IN)
    assert ee.STAND_IN[0].read_text().startswith("#!")


def test_a_job_with_a_synced_inventory_takes_it_from_the_private_data_directory():
    command = ee.run_command("img:1", "/tmp/job", "playbooks/site.yml", "/usr/bin/docker", 998, synced=True)
    assert "--inventory" not in command, "ansible-runner takes /runner/inventory itself, as in AWX's jobs"
    assert command[-5:] == ["ansible-runner", "run", "/runner", "-p", "playbooks/site.yml"]


def test_the_sync_runs_ansible_inventory_in_the_project_as_awx_does():
    command = ee.sync_command("img:1", "/tmp/sync/project", {"AWS_ENDPOINT_URL": "http://127.0.0.1:5099"})
    assert command[:5] == ["docker", "run", "--rm", "--network", "host"]
    assert command[command.index("-w") + 1] == "/runner/project", "the project's ansible.cfg applies"
    assert "/tmp/sync/project:/runner/project:ro" in command
    environment = [command[i + 1] for i, word in enumerate(command) if word == "-e"]
    assert environment == ["AWS_ENDPOINT_URL=http://127.0.0.1:5099", "ANSIBLE_INVENTORY_UNPARSED_FAILED=True",
                           "ANSIBLE_INVENTORY_EXPORT=True"]  # fmt: skip
    assert command[-5:] == ["img:1", "ansible-inventory", "-i", "inventories/lab", "--list"]


def test_the_inventory_script_prints_the_synced_inventory(tmp_path):
    data = {"all": {"vars": {"cluster_name": "nixl-efa-lab"}}, "_meta": {"hostvars": {"i-1": {"node_index": 0}}}}
    script = tmp_path / "hosts"
    script.write_text(ee.inventory_script(data))
    assert script.read_text().startswith("#! /usr/bin/env python3\n")
    printed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout
    assert json.loads(printed) == data


def test_the_project_parses_awx_inventory_script(tmp_path):
    """AWX gives a job its inventory as a script; the project's ansible.cfg must enable that plugin."""
    data = {"nixl_efa_nodes": {"hosts": ["i-1"]}, "_meta": {"hostvars": {"i-1": {"node_index": 0}}}}
    script = tmp_path / "hosts"
    script.write_text(ee.inventory_script(data).replace("/usr/bin/env python3", sys.executable, 1))
    script.chmod(0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    result = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "ansible-inventory"), "-i", str(script), "--graph"],
        cwd=ROOT, env={**env, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "i-1" in result.stdout, result.stdout + result.stderr


def test_run_puts_the_synced_inventory_where_awx_does(tmp_path, monkeypatch):
    synced = tmp_path / "synced"
    synced.write_text(ee.inventory_script({"_meta": {"hostvars": {}}}))
    ran = []
    monkeypatch.setattr(ee, "own_tree", lambda path, uid: None)
    monkeypatch.setattr(ee, "project_files", lambda root=None: [])
    monkeypatch.setattr(ee, "docker_socket_gid", lambda: 994)
    monkeypatch.setattr(ee.subprocess, "run", lambda command, check: ran.append(command) or
                        type("R", (), {"returncode": 0})())  # fmt: skip
    assert ee.run("img", 5099, tmp_path / "job", "playbooks/site.yml", inventory=synced) == 0
    assert (tmp_path / "job" / "inventory" / "hosts").read_text() == synced.read_text()
    assert "--inventory" not in ran[0]
