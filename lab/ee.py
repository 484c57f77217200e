#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""The execution environment of meta/execution-environment.yml, built and run in the lab.

    lab/ee.py build --builder PATH [--tag IMAGE]
        build/ee/collections: the collection's tarball (ansible-galaxy collection build) and its
            dependencies' tarballs, repacked from this virtual environment's `ansible` bundle (the
            lab cannot reach Galaxy: the build installs them offline, as an air-gapped build would);
        build/ee/session-manager-plugin: the lab's stand-in (lab/session-manager-plugin) in place
            of AWS's package, through the definition's own local-copy hook;
        build/ee/context: `ansible-builder create` of meta/execution-environment.yml, unchanged, in a
            network namespace of its own when one can be made (proof that rendering is offline);
        the image: `docker build` of that context, on the Debian base lab/ee_base_image.sh makes,
            through build arguments only (EE_BASE_IMAGE, PKGMGR, PYPKG, PYCMD,
            ANSIBLE_GALAXY_CLI_COLLECTION_OPTS). Prints the image's name, size and build time.

    lab/ee.py sync --port PORT --out FILE [--tag IMAGE]
        what AWX's inventory sync of a project source does, in the image: ansible-inventory
        --list --export of inventories/lab in the project's folder (its ansible.cfg), then FILE,
        the script AWX gives a job as its inventory (it prints the synced JSON).

    lab/ee.py run --port PORT [--tag IMAGE] [--dir DIR] [--inventory-script FILE] PLAYBOOK [ARGS...]
        runs PLAYBOOK of a copy of this repository (the files git sees, as AWX checks a project
        out) with ansible-runner inside the image, as AWX runs a job: private data directory
        /runner (project/, env/envvars with the lab's AWS variables, env/extravars, and
        inventory/hosts, the sync's script, when given; else the inventory is inventories/lab,
        read at run time), the image's own collections and session-manager-plugin (extra var
        ansible_aws_ssm_plugin, which outranks the lab inventory's path to the checkout's stand-in),
        on the host's network (the lab listens on loopback), with the Docker socket and CLI the
        stand-in opens its shells in the node containers with. Exits with ansible-runner's status.

Lab tooling under lab/, never shipped. Run it with the project's virtual environment (make ee,
make ee-test): the dependency tarballs come from that environment's collections.
"""

import argparse
import hashlib
import importlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import time

import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
DEFINITION = ROOT / "meta" / "execution-environment.yml"
BUILD = ROOT / "build" / "ee"
COLLECTIONS = BUILD / "collections"
PLUGIN = BUILD / "session-manager-plugin"
CONTEXT = BUILD / "context"
BASE_IMAGE_RECIPE = HERE / "ee_base_image.sh"
STAND_IN = (HERE / "session-manager-plugin", HERE / "session_manager_plugin.py")
DEFAULT_TAG = "nixl-efa/ee:lab"
# Where ansible-builder puts what the image's user and ansible-runner need.
RUNNER_DIR = "/runner"
RUNNER_UID = 1000
PLUGIN_IN_IMAGE = "/usr/local/bin/session-manager-plugin"
DOCKER_SOCKET = "/var/run/docker.sock"
# The base image's package manager shim and Python (lab/ee_base_image.sh).
LAB_PKGMGR = "/usr/local/sbin/ee-pkgmgr"
LAB_PYTHON = "/opt/ee-python/bin/python3"


def galaxy_requirements(path=ROOT / "requirements.yml"):
    """The collections requirements.yml names (namespace.name), in its order."""
    return [entry["name"] for entry in yaml.safe_load(path.read_text())["collections"]]


def repack(collection_dir, out_dir):
    """A collection artifact (namespace-name-version.tar.gz) made from an installed collection.

    An installed copy carries the artifact's MANIFEST.json and FILES.json, but the `ansible` bundle
    leaves files out (tests, CI settings) that FILES.json still lists, and ansible-galaxy refuses an
    artifact missing a listed file. So FILES.json keeps the entries that exist, each file's checksum
    is checked, and MANIFEST.json gets FILES.json's new checksum.
    """
    collection_dir = pathlib.Path(collection_dir)
    manifest = json.loads((collection_dir / "MANIFEST.json").read_text())
    files = json.loads((collection_dir / "FILES.json").read_text())
    kept = []
    for entry in files["files"]:
        path = collection_dir / entry["name"]
        if entry["name"] != "." and not path.exists():
            continue
        if entry["ftype"] == "file":
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != entry["chksum_sha256"]:
                raise ValueError(f"{path} differs from its FILES.json checksum")
        kept.append(entry)
    files = dict(files, files=kept)
    files_json = json.dumps(files, indent=4, sort_keys=True).encode()
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    info = manifest["collection_info"]
    out = pathlib.Path(out_dir) / f"{info['namespace']}-{info['name']}-{info['version']}.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        for name, data in (("MANIFEST.json", json.dumps(manifest, indent=4).encode()), ("FILES.json", files_json)):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            member.mode = 0o644
            tar.addfile(member, io.BytesIO(data))
        for entry in kept:
            if entry["name"] != ".":
                tar.add(collection_dir / entry["name"], arcname=entry["name"], recursive=False)
    return out


def installed_collection(name):
    namespace, collection = name.split(".")
    return pathlib.Path(importlib.import_module(f"ansible_collections.{namespace}.{collection}").__path__[0])


def stage(out=print):
    """build/ee/collections and build/ee/session-manager-plugin, made afresh."""
    for path in (COLLECTIONS, PLUGIN):
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    galaxy = pathlib.Path(sys.executable).parent / "ansible-galaxy"
    subprocess.run([str(galaxy), "collection", "build", "--output-path", str(COLLECTIONS), str(ROOT)],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    for name in galaxy_requirements():
        out(f"dependency tarball: {repack(installed_collection(name), COLLECTIONS).name}")
    for path in STAND_IN:
        shutil.copy2(path, PLUGIN / path.name)
    return sorted(p.name for p in COLLECTIONS.iterdir())


def build_args(base_image):
    """The lab's only differences from a user's build: build arguments the definition already has."""
    return {
        "EE_BASE_IMAGE": base_image,
        "PKGMGR": LAB_PKGMGR,
        "PYPKG": "python3",
        "PYCMD": LAB_PYTHON,
        # Galaxy is out of reach: the dependencies were installed from build/ee/collections.
        "ANSIBLE_GALAXY_CLI_COLLECTION_OPTS": "--offline",
    }


def offline_prefix():
    """`unshare --net` when this process may make a network namespace (root), else nothing."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--net", "true"], capture_output=True, check=False).returncode == 0:
        return [unshare, "--net"]
    return []


def create_command(builder, context=CONTEXT, definition=DEFINITION):
    return [str(builder), "create", "-f", str(definition), "--context", str(context),
            "--output-filename", "Dockerfile", "-v", "2"]  # fmt: skip


def docker_build_command(context, tag, args):
    """The context built as `ansible-builder build --container-runtime docker` would, on the host's
    network (pip inside the build reaches the package index this machine reaches)."""
    command = ["docker", "build", "--network", "host", "-f", str(pathlib.Path(context) / "Dockerfile"), "-t", tag]
    for name, value in args.items():
        command += ["--build-arg", f"{name}={value}"]
    return [*command, str(context)]


def image_size(tag):
    result = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", tag],
                            capture_output=True, text=True, check=True)  # fmt: skip
    return int(result.stdout.strip())


def build(builder, tag=DEFAULT_TAG, out=print):
    start = time.monotonic()
    staged = stage(out)
    base = subprocess.run([str(BASE_IMAGE_RECIPE)], stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    shutil.rmtree(CONTEXT, ignore_errors=True)
    subprocess.run([*offline_prefix(), *create_command(builder)], check=True)
    rendered = time.monotonic()
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    subprocess.run(docker_build_command(CONTEXT, tag, build_args(base)), check=True, env=env)
    built = time.monotonic()
    out(f"collections: {', '.join(staged)}")
    out(f"base image: {base}")
    out(f"image: {tag}, {image_size(tag) / 1e6:.0f} MB")
    out(f"time: {rendered - start:.0f} s to stage and render, {built - rendered:.0f} s to build")
    return 0


def project_files(root=ROOT):
    """The files git sees (tracked, and untracked ones .gitignore does not ignore): what AWX checks out."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=root, capture_output=True, check=True).stdout.decode().split("\0")  # fmt: skip
    return [name for name in listed if name and ((root / name).exists() or (root / name).is_symlink())]


def private_data_dir(path, envvars, extravars, root=ROOT):
    """ansible-runner's private data directory, as AWX lays it out: project/ and env/."""
    path = pathlib.Path(path)
    project = path / "project"
    for name in project_files(root):
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        source = root / name
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    (path / "env").mkdir(parents=True, exist_ok=True)
    (path / "env" / "envvars").write_text(yaml.safe_dump(envvars, default_flow_style=False))
    (path / "env" / "extravars").write_text(yaml.safe_dump(extravars, default_flow_style=False))
    (path / "artifacts").mkdir(exist_ok=True)
    return path


def lab_envvars(port):
    """The lab's AWS variables (labctl.py's), as AWX's Amazon Web Services credential injects AWS's."""
    sys.path.insert(0, str(HERE))
    import labctl  # noqa: PLC0415 (lab/ is no package)

    return labctl.Lab(port).aws_vars()


def run_command(tag, private_dir, playbook, docker_cli, docker_gid, runner_args=(), synced=False):
    """ansible-runner inside the image, as AWX's job runs in an execution environment. With a synced
    inventory, ansible-runner takes /runner/inventory itself, as in AWX's jobs."""
    inventory = [] if synced else ["--inventory", f"{RUNNER_DIR}/project/inventories/lab"]
    return [
        "docker", "run", "--rm", "--network", "host",
        "--group-add", str(docker_gid),
        "-v", f"{DOCKER_SOCKET}:{DOCKER_SOCKET}",
        "-v", f"{docker_cli}:/usr/local/bin/docker:ro",
        "-v", f"{private_dir}:{RUNNER_DIR}",
        tag,
        "ansible-runner", "run", RUNNER_DIR, "-p", playbook, *inventory, *runner_args,
    ]  # fmt: skip


# What AWX sets for an inventory sync (awx/main/constants.py, STANDARD_INVENTORY_UPDATE_ENV).
SYNC_ENV = {"ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "ANSIBLE_INVENTORY_EXPORT": "True"}


def sync_command(tag, project_dir, envvars):
    """ansible-inventory in the image, in the project's folder, as AWX syncs a project source."""
    command = ["docker", "run", "--rm", "--network", "host", "-v", f"{project_dir}:{RUNNER_DIR}/project:ro",
               "-w", f"{RUNNER_DIR}/project"]  # fmt: skip
    for name, value in {**envvars, **SYNC_ENV}.items():
        command += ["-e", f"{name}={value}"]
    return [*command, tag, "ansible-inventory", "-i", "inventories/lab", "--list"]


def inventory_script(data):
    """What AWX writes as a job's inventory (awx/main/tasks/jobs.py, write_inventory_file)."""
    return f"#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint({json.dumps(data)!r})\n"


def sync(tag, port, out):
    """The lab's nodes as AWX's inventory sync records them, written as AWX's job inventory script."""
    work = pathlib.Path(out).parent / "sync-project"
    shutil.rmtree(work, ignore_errors=True)
    private_data_dir(work, {}, {})
    result = subprocess.run(sync_command(tag, work / "project", lab_envvars(port)),
                            capture_output=True, text=True, check=False)  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    if result.returncode != 0:
        raise RuntimeError(f"ansible-inventory failed: {result.stderr[-3000:]}")
    data = json.loads(result.stdout)
    pathlib.Path(out).write_text(inventory_script(data))
    pathlib.Path(out).chmod(0o700)
    return data


def own_tree(path, uid):
    for directory, _dirs, files in os.walk(path):
        os.chown(directory, uid, 0)
        for name in files:
            os.lchown(os.path.join(directory, name), uid, 0)


def docker_socket_gid():
    """The group that may use Docker's socket: the image's user joins it, for the stand-in's docker exec."""
    return os.stat(DOCKER_SOCKET).st_gid


def run(tag, port, directory, playbook, runner_args=(), extravars=None, inventory=None):
    directory = pathlib.Path(directory)
    if directory.exists():
        shutil.rmtree(directory)
    extra = {"ansible_aws_ssm_plugin": PLUGIN_IN_IMAGE, **(extravars or {})}
    private_data_dir(directory, lab_envvars(port), extra)
    if inventory:
        (directory / "inventory").mkdir()
        shutil.copy2(inventory, directory / "inventory" / "hosts")
    # The image runs as uid 1000, group 0 (ansible-builder's default): its private data dir is its own.
    own_tree(directory, RUNNER_UID)
    docker_cli = shutil.which("docker")
    command = run_command(tag, directory, playbook, docker_cli, docker_socket_gid(), runner_args, bool(inventory))
    return subprocess.run(command, check=False).returncode


def parser():
    top = argparse.ArgumentParser(prog="lab/ee.py", description=__doc__.split("\n\n", maxsplit=1)[0])
    commands = top.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="stage, render offline and build the image")
    make.add_argument("--builder", required=True, help="the ansible-builder executable")
    make.add_argument("--tag", default=DEFAULT_TAG)
    synced = commands.add_parser("sync", help="the lab's inventory as AWX syncs it, written as AWX's job inventory")
    synced.add_argument("--port", type=int, required=True, help="the lab's port (LAB_PORT)")
    synced.add_argument("--tag", default=DEFAULT_TAG)
    synced.add_argument("--out", required=True, help="the inventory script to write")
    job = commands.add_parser("run", help="a playbook in the image with ansible-runner, against the lab")
    job.add_argument("--port", type=int, required=True, help="the lab's port (LAB_PORT)")
    job.add_argument("--tag", default=DEFAULT_TAG)
    job.add_argument("--dir", default=str(BUILD / "runner"), help="the private data directory (made afresh)")
    job.add_argument("--inventory-script", help="the job's inventory: a script `sync` wrote (default: inventories/lab)")
    job.add_argument("playbook")
    job.add_argument("runner_args", nargs=argparse.REMAINDER)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    if args.command == "build":
        return build(args.builder, args.tag)
    if args.command == "sync":
        hosts = sync(args.tag, args.port, args.out)["_meta"]["hostvars"]
        print(f"{args.out}: {len(hosts)} hosts ({', '.join(sorted(hosts))})")
        return 0
    return run(args.tag, args.port, args.dir, args.playbook, args.runner_args, inventory=args.inventory_script)


if __name__ == "__main__":
    sys.exit(main())
