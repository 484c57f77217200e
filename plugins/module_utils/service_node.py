# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a node role needs to know about a node before it installs or starts a service.

The helpers behind service_node_info, shared by the mlflow, vllm and ray roles: Debian packages,
distribution versions inside a venv, the interpreter a venv is made from, users, paths and their
owner, group and mode, file hashes, systemd units, the default route's address, /health answers
and the GPUs nvidia-smi lists. Each command goes through a runner ``run(argv) -> (rc, stdout)``
(rc None when the command cannot run), so tests can hand in fake commands. Only reads; Python
standard library only (3.8 and later): this runs on the node.
"""

import grp
import hashlib
import json
import os
import pwd
import stat
import time
from http.client import HTTPException

from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

HEALTH_TIMEOUT = 3

# Asked of the venv's interpreter: the versions of the distributions named in argv, missing ones left out.
VERSIONS_CODE = (
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


def command_runner(module, timeout, option="command_timeout", environ=None):
    """run(argv, env=None) -> (rc, stdout, stderr) over module.run_command.

    Each command is limited to timeout seconds by the ``timeout`` utility when the node has one (stderr
    then says so when it stopped the command); `environ` and then env are added to its environment; a
    command that cannot start answers (None, "", why). A timeout that is not positive fails the module,
    naming its option.
    """
    if timeout <= 0:
        module.fail_json(msg=f"{option} must be greater than 0")
    timeout_cmd = next((p for p in ("/usr/bin/timeout", "/bin/timeout") if os.access(p, os.X_OK)), None)

    def run(argv, env=None):
        if timeout_cmd:
            argv = [timeout_cmd, "-k", "5", str(timeout)] + list(argv)
        update = dict(environ or {}, **(env or {}))
        extra = {"environ_update": update} if update else {}
        try:
            rc, out, err = module.run_command(argv, expand_user_and_vars=False, handle_exceptions=False, **extra)
        except OSError as e:
            return None, "", str(e)
        if timeout_cmd and rc in (124, 137):
            err = f"timed out after {timeout} s. {err}"
        return rc, out, err

    return run


def module_runner(module, timeout):
    """The runner ServiceNode reads with: command_runner's, answering (rc, stdout)."""
    run = command_runner(module, timeout)
    return lambda argv: run(argv)[:2]


def user_exists(name):
    """Whether the user name exists (False for an empty name)."""
    if not name:
        return False
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def path_state(path):
    """{"owner", "group", "mode" ("0750"), "dir"} of path (links followed), None when missing."""
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
    """sha1 of the file's bytes (what Ansible's hash('sha1') gives for the same text), None when unreadable."""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha1(handle.read()).hexdigest()  # noqa: S324 (a content check, not security)
    except OSError:
        return None


def healthy(url, timeout=HEALTH_TIMEOUT):
    """Whether GET url answers 200 now (one try); False for an empty url."""
    if not url:
        return False
    try:
        with open_url(url, timeout=timeout) as response:
            return response.getcode() == 200
    except (OSError, ValueError, HTTPException, UrlConnectionError):
        return False


def wait_healthy(urls, wait=0, interval=2, check=healthy, clock=time.monotonic, sleep=time.sleep):
    """({url: answered 200}, seconds waited): one try each when wait is 0, else tries again every interval
    seconds those that have not answered until all have or wait seconds have passed. The wait happens here,
    on the node, in one task: a controller polling over Session Manager pays seconds per try."""
    start = clock()
    state = {url: check(url) for url in urls}
    while wait > 0 and not all(state.values()) and clock() - start + interval <= wait:
        sleep(interval)
        state.update({url: check(url) for url, ok in state.items() if not ok})
    return state, round(clock() - start, 1)


def parse_default_route_dev(text):
    """The device of ``ip -4 -o route show default`` ("default via 10.0.0.1 dev ens5 ..."), "" without one."""
    words = (text or "").split()
    if "dev" not in words or words.index("dev") + 1 >= len(words):
        return ""
    return words[words.index("dev") + 1]


def parse_inet_address(text):
    """The first IPv4 address (no prefix length) of ``ip -4 -o addr show dev DEV scope global``, "" without one."""
    for line in (text or "").splitlines():
        words = line.split()
        if "inet" in words and words.index("inet") + 1 < len(words):
            return words[words.index("inet") + 1].split("/")[0]
    return ""


def parse_nvidia_smi_list(text):
    """The ``GPU N: name (UUID: ...)`` lines of ``nvidia-smi -L``, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.startswith("GPU ")]


class ServiceNode:
    """Reads the node through run(argv) -> (rc, stdout); rc is None when the command cannot run."""

    def __init__(self, run):
        self.run = run

    def dpkg_installed(self, package):
        _rc, out = self.run(["dpkg-query", "-W", "-f=${Status}", package])
        return out.strip().endswith(" installed")

    def installed_versions(self, python, names):
        """{name: version} of the distributions names in the venv of python, asked of that interpreter;
        {} when python is not executable or fails."""
        if not python or not names or not os.access(python, os.X_OK):
            return {}
        return self.versions_of(python, names)

    def versions_of(self, python, names):
        """{name: version} as python answers for names, with no check that python exists; {} when it fails."""
        rc, out = self.run([python, "-c", VERSIONS_CODE] + list(names))
        if rc != 0 or not out.strip():
            return {}
        try:
            versions = json.loads(out)
        except ValueError:
            return {}
        return versions if isinstance(versions, dict) else {}

    def python_version(self, python):
        """platform.python_version() of python ("3.11.2"), "" when it cannot run."""
        if not python:
            return ""
        rc, out = self.run([python, "-c", "import platform; print(platform.python_version())"])
        return out.strip() if rc == 0 else ""

    def unit_state(self, unit):
        """{"enabled", "active", "exists"} of a systemd unit, from systemctl."""
        _rc, enabled = self.run(["systemctl", "is-enabled", unit])
        _rc, active = self.run(["systemctl", "is-active", unit])
        _rc, load = self.run(["systemctl", "show", "--property=LoadState", "--value", unit])
        return {
            "enabled": enabled.strip() == "enabled",
            "active": active.strip() == "active",
            "exists": load.strip() not in ("", "not-found"),
        }

    def default_address(self):
        """IPv4 address of the default route's interface, from iproute2 (no packet is sent); "" without one."""
        _rc, out = self.run(["ip", "-4", "-o", "route", "show", "default"])
        dev = parse_default_route_dev(out)
        if not dev:
            return ""
        _rc, out = self.run(["ip", "-4", "-o", "addr", "show", "dev", dev, "scope", "global"])
        return parse_inet_address(out)

    def gpus(self, nvidia_smi):
        """The lines of ``nvidia-smi -L``; [] when it is missing or fails (no GPU, no driver)."""
        rc, out = self.run([nvidia_smi, "-L"])
        if rc != 0:
            return []
        return parse_nvidia_smi_list(out)

    def facts(
        self,
        python=None,
        distributions=(),
        base_python=None,
        debs=(),
        user=None,
        paths=(),
        files=(),
        units=(),
        host="",
        health_ports=(),
        health_wait=0,
        list_gpus=False,
        nvidia_smi="nvidia-smi",
        gpus_required=False,
    ):
        """Everything service_node_info returns, as one dict (see its RETURN)."""
        found = self.gpus(nvidia_smi) if list_gpus else []
        # Without a GPU a role that needs one serves nothing: the venv, the interpreter and the
        # servers are then not asked about.
        wanted = bool(found) or not gpus_required
        address = self.default_address()
        host = host or address
        urls = {str(port): f"http://{host}:{port}/health" if host and wanted else "" for port in health_ports}
        health, waited = wait_healthy([url for url in urls.values() if url], wait=health_wait if wanted else 0)
        return {
            "gpus": found,
            "address": address,
            "python": self.python_version(base_python) if wanted else "",
            "debs": {deb: self.dpkg_installed(deb) for deb in debs},
            "installed": self.installed_versions(python, distributions) if wanted else {},
            "user": user_exists(user),
            "paths": {path: path_state(path) for path in paths},
            "files": {path: file_sha1(path) for path in files},
            "units": {unit: self.unit_state(unit) for unit in units},
            "health": {port: health.get(url, False) for port, url in urls.items()},
            "health_seconds": waited,
        }
