"""What the ray role needs to know about a node, in one remote command.

Run by the role as `/usr/bin/python3 - ARGS < this file`. Prints one JSON object on stdout:

- python: the system interpreter's version ("3.11"), the one the venv is made from.
- debs: {package: installed} for the Debian packages asked for.
- ray: the version of the distribution `ray` inside the venv ("" when missing or no venv).
- user: whether the service user exists.
- paths: {path: {"owner", "group", "mode", "dir"}} for the directories asked for (null when missing).
- files: {path: sha1 of the content} for the files asked for (null when missing), so the role
  rewrites a unit, environment or fact file only when its rendered content differs.
- facts_dir: whether /etc/ansible/facts.d exists.
- units: {unit: {"enabled": bool, "active": bool, "exists": bool}} for the units asked for.

Standard library only; Python 3.8 and later.
"""

import argparse
import grp
import hashlib
import json
import os
import pwd
import stat
import subprocess
import sys


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


def dist_version(python, name):
    """Version of the distribution name in the venv of python ("" when missing)."""
    if not os.access(python, os.X_OK):
        return ""
    code = (
        "import sys\n"
        "from importlib import metadata\n"
        "try:\n"
        "    print(metadata.version(sys.argv[1]))\n"
        "except metadata.PackageNotFoundError:\n"
        "    pass\n"
    )
    rc, out = run([python, "-c", code, name])
    return out.strip() if rc == 0 else ""


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


def file_sha1(path):
    """sha1 of the file's bytes (what Ansible's hash('sha1') gives for the same text), or None."""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha1(handle.read()).hexdigest()  # noqa: S324 (a content check, not security)
    except OSError:
        return None


def unit_state(unit):
    _rc, enabled = run(["systemctl", "is-enabled", unit])
    _rc, active = run(["systemctl", "is-active", unit])
    _rc, load = run(["systemctl", "show", "--property=LoadState", "--value", unit])
    return {
        "enabled": enabled.strip() == "enabled",
        "active": active.strip() == "active",
        "exists": load.strip() not in ("", "not-found"),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", required=True, help="the venv's python")
    parser.add_argument("--deb", action="append", default=[])
    parser.add_argument("--user", required=True)
    parser.add_argument("--path", action="append", default=[])
    parser.add_argument("--file", action="append", default=[])
    parser.add_argument("--unit", action="append", default=[])
    parser.add_argument("--facts-dir", default="/etc/ansible/facts.d")
    args = parser.parse_args()

    try:
        pwd.getpwnam(args.user)
        user = True
    except KeyError:
        user = False
    facts = {
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "debs": {deb: dpkg_installed(deb) for deb in args.deb},
        "ray": dist_version(args.python, "ray"),
        "user": user,
        "paths": {path: path_state(path) for path in args.path},
        "files": {path: file_sha1(path) for path in args.file},
        "facts_dir": os.path.isdir(args.facts_dir),
        "units": {unit: unit_state(unit) for unit in args.unit},
    }
    print(json.dumps(facts, sort_keys=True))


if __name__ == "__main__":
    main()
