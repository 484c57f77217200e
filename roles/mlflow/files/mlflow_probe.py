"""What the mlflow role needs to know about a node, in one remote command.

Run by the role as `/usr/bin/python3 - ARGS < this file`. Prints one JSON object on stdout:

- debs: {package: installed} for the Debian packages asked for.
- installed: {distribution: version} inside the venv (empty when the venv does not exist).
- user: whether the service user exists.
- paths: {path: {"owner", "group", "mode"}} for the directories asked for (null when missing).
- facts_dir: whether /etc/ansible/facts.d exists.
- enabled, active: what systemctl says of the unit.
- health: whether GET http://<host>:<port>/health answers 200 now (one quick try, no waiting).
- address: the IPv4 address of the interface holding the default route ("" when none).

Standard library only; Python 3.8 and later.
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", required=True, help="the venv's python")
    parser.add_argument("--dist", action="append", default=[])
    parser.add_argument("--deb", action="append", default=[])
    parser.add_argument("--user", required=True)
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--facts-dir", default="/etc/ansible/facts.d")
    parser.add_argument("--unit", required=True)
    parser.add_argument("--host", default="", help="the server's address; empty takes the default route's")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    try:
        pwd.getpwnam(args.user)
        user = True
    except KeyError:
        user = False
    _rc, enabled = run(["systemctl", "is-enabled", args.unit])
    _rc, active = run(["systemctl", "is-active", args.unit])
    address = default_address()
    host = args.host or address
    facts = {
        "debs": {deb: dpkg_installed(deb) for deb in args.deb},
        "installed": installed_versions(args.python, args.dist),
        "user": user,
        "paths": {path: path_state(path) for path in args.path},
        "facts_dir": os.path.isdir(args.facts_dir),
        "enabled": enabled.strip() == "enabled",
        "active": active.strip() == "active",
        "health": healthy(f"http://{host}:{args.port}/health" if host else ""),
        "address": address,
    }
    print(json.dumps(facts, sort_keys=True))


if __name__ == "__main__":
    main()
