"""What the vllm role needs to know about a node, in one remote command.

Run by the role as `/usr/bin/python3 - ARGS < this file`. Prints one JSON object on stdout:

- gpus: the lines of `nvidia-smi -L` ("GPU 0: NVIDIA H100 80GB HBM3 (UUID: ...)"); empty when
  nvidia-smi is missing or fails (no GPU, no driver).
- address: the IPv4 address of the interface holding the default route ("" when none).
- python: the version of the interpreter the venv is made from ("3.11.2"), "" when it is missing.
- debs: {package: installed} for the Debian packages asked for.
- installed: {distribution: version} inside the venv (empty when the venv does not exist).
- user: whether the service user exists.
- paths: {path: {"owner", "group", "mode", "dir"}} for the paths asked for (null when missing).
- facts_dir: whether /etc/ansible/facts.d exists.
- efa_lib_dir: whether the EFA installer's libfabric directory exists.
- units: {unit: {"enabled", "active"}} from systemctl.
- health: {port: whether http://<host>:<port>/health answers 200 now} (one quick try each).

Only read-only commands; the GPU path of the role is decided from `gpus` before anything is
installed. Standard library only; Python 3.8 and later.
"""

import argparse
import grp
import json
import os
import pwd
import stat
import subprocess
import urllib.request


def run(argv, timeout=30):
    """(returncode, stdout) of argv; (None, "") when it cannot run."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None, ""
    return proc.returncode, proc.stdout


def dpkg_installed(package):
    _rc, out = run(["dpkg-query", "-W", "-f=${Status}", package])
    return out.strip().endswith(" installed")


def installed_versions(python, names):
    """Versions of names in the venv of python, asked of that interpreter."""
    if not os.access(python, os.X_OK):
        return {}
    code = (
        "import json, sys\n"
        "from importlib import metadata\n"
        "v = {}\n"
        "for n in sys.argv[1:]:\n"
        "    try:\n"
        "        v[n] = metadata.version(n)\n"
        "    except metadata.PackageNotFoundError:\n"
        "        pass\n"
        "print(json.dumps(v))\n"
    )
    rc, out = run([python, "-c", code, *names])
    return json.loads(out) if rc == 0 and out.strip() else {}


def path_state(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return {"owner": owner, "group": group, "mode": f"{stat.S_IMODE(st.st_mode):04o}", "dir": stat.S_ISDIR(st.st_mode)}


def default_address():
    """IPv4 address of the default route's interface, from iproute2 (no packet is sent)."""
    _rc, out = run(["ip", "-4", "-o", "route", "show", "default"])
    words = out.split()
    if "dev" not in words:
        return ""
    dev = words[words.index("dev") + 1]
    _rc, out = run(["ip", "-4", "-o", "addr", "show", "dev", dev, "scope", "global"])
    for line in out.splitlines():
        words = line.split()
        if "inet" in words:
            return words[words.index("inet") + 1].split("/")[0]
    return ""


def healthy(url):
    if not url:
        return False
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (http URL built by the role)
            return response.status == 200
    except (OSError, ValueError):
        return False


def gpus(nvidia_smi):
    rc, out = run([nvidia_smi, "-L"])
    if rc != 0:
        return []
    return [line.strip() for line in out.splitlines() if line.startswith("GPU ")]


def python_version(python):
    rc, out = run([python, "-c", "import platform; print(platform.python_version())"])
    return out.strip() if rc == 0 else ""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", required=True, help="the venv's python")
    parser.add_argument("--base-python", default="/usr/bin/python3", help="the python the venv is made from")
    parser.add_argument("--nvidia-smi", default="nvidia-smi")
    parser.add_argument("--dist", action="append", default=[])
    parser.add_argument("--deb", action="append", default=[])
    parser.add_argument("--user", required=True)
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--facts-dir", default="/etc/ansible/facts.d")
    parser.add_argument("--efa-prefix", default="/opt/amazon/efa")
    parser.add_argument("--unit", action="append", default=[])
    parser.add_argument("--host", default="", help="the servers' address; empty takes the default route's")
    parser.add_argument("--port", action="append", type=int, default=[], help="port whose /health to try")
    args = parser.parse_args()

    found = gpus(args.nvidia_smi)
    address = default_address()
    host = args.host or address
    try:
        pwd.getpwnam(args.user)
        user = True
    except KeyError:
        user = False
    units = {}
    for unit in args.unit:
        _rc, enabled = run(["systemctl", "is-enabled", unit])
        _rc, active = run(["systemctl", "is-active", unit])
        units[unit] = {"enabled": enabled.strip() == "enabled", "active": active.strip() == "active"}
    facts = {
        "gpus": found,
        "address": address,
        "python": python_version(args.base_python) if found else "",
        "debs": {deb: dpkg_installed(deb) for deb in args.deb},
        "installed": installed_versions(args.python, args.dist) if found else {},
        "user": user,
        "paths": {path: path_state(path) for path in args.path},
        "facts_dir": os.path.isdir(args.facts_dir),
        "efa_lib_dir": os.path.isdir(os.path.join(args.efa_prefix, "lib")),
        "units": units,
        "health": {str(port): healthy(f"http://{host}:{port}/health" if host and found else "") for port in args.port},
    }
    print(json.dumps(facts, sort_keys=True))


if __name__ == "__main__":
    main()
