# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the nixl role needs to know about a node, read on the node in one task (nixl_node_info).

The CUDA major the NIXL wheel must match (an override, the toolkit's version.json, the driver's
nvidia-smi banner, else a default), the Debian packages, the EFA installer's libfabric and its efa
provider, the distributions in the NIXL venv, and, when the venv exists, whether NIXL imports and
an agent with each backend can be created. That last part must run in the venv's interpreter with
the CUDA and EFA libraries on the library path: it is CHECK_CODE, run as ``<venv python> -c
CHECK_CODE <json>``, and answers one JSON line on stdout. Each command goes through a runner
``run(argv, env=None) -> (rc, stdout, stderr)`` (service_node.command_runner; rc None when it
cannot run), so tests hand in fake commands. Only reads; Python standard library only (3.8 and
later): this runs on the node.
"""

import json
import os

from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_info
from ansible_collections.nixl_efa.cluster.plugins.module_utils import service_node

# Run by the venv's interpreter: import nixl_cu<N>, list its plugins, and try one agent per backend.
# For a backend that does not load it adds what the dynamic loader says of the plugin (dlopen's
# error and ldd's missing libraries and symbol versions). NIXL and UCX log on stdout: the answer
# goes to the original stdout, everything else to stderr. It ends with os._exit: NIXL's and its
# plugins' native destructors have been seen to crash at exit (SIGSEGV after a failed LIBFABRIC
# load), which would turn a complete answer into a failure.
CHECK_CODE = r"""
import ctypes, glob, json, os, re, subprocess, sys
request = json.loads(sys.argv[1])
answer = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)

def unresolved(path):
    try:
        proc = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    missing = []
    for raw in (proc.stdout + proc.stderr).splitlines():
        line = raw.strip()
        if "=> not found" in line:
            missing.append(line.split()[0] + " not found")
        else:
            match = re.search(r"version `([^']+)' not found \(required by [^)]*\)", line)
            if match:
                missing.append(match.group(1) + " not found in " + line.split(":")[1].strip())
    return missing

result = {"plugin_dir": None, "plugins": [], "backends": {}, "import_error": None}
try:
    name = request["module"]
    api = __import__(name + "._api", fromlist=["nixl_agent", "nixl_agent_config"])
    package = sys.modules[name]
except Exception as e:
    result["import_error"] = type(e).__name__ + ": " + str(e)
else:
    plugin_dir = os.environ.get("NIXL_PLUGIN_DIR") or os.path.normpath(
        os.path.join(os.path.dirname(package.__file__), "..", "." + name + ".mesonpy.libs", "plugins"))
    result["plugin_dir"] = plugin_dir
    result["plugins"] = sorted(os.path.basename(p)[len("libplugin_"):-len(".so")]
                               for p in glob.glob(os.path.join(plugin_dir, "libplugin_*.so")))
    for backend in request["backends"]:
        try:
            config = api.nixl_agent_config(enable_prog_thread=False, backends=[backend])
            api.nixl_agent("nixl-efa-probe-%s-%d" % (backend, os.getpid()), config)
            result["backends"][backend] = {"loadable": True, "error": None}
            continue
        except Exception as e:
            error = type(e).__name__ + ": " + str(e)
        path = os.path.join(plugin_dir, "libplugin_%s.so" % backend)
        if not os.path.exists(path):
            error += "; the wheel ships no " + os.path.basename(path)
        else:
            try:
                ctypes.CDLL(path)
            except OSError as e:
                error += "; " + str(e)
            missing = unresolved(path)
            if missing:
                error += "; ldd: " + ", ".join(missing)
        result["backends"][backend] = {"loadable": False, "error": error}
answer.write(json.dumps(result, sort_keys=True) + "\n")
answer.flush()
os._exit(0)
"""


def library_path(cuda_lib_dir, efa_prefix, existing, isdir=os.path.isdir):
    """LD_LIBRARY_PATH as the nixl role's environment file sets it: the EFA installer's libraries
    first, then CUDA's, each only when the directory exists, before what was there."""
    parts = [d for d in (os.path.join(efa_prefix, "lib"), cuda_lib_dir) if isdir(d)]
    if existing:
        parts.append(existing)
    return ":".join(parts)


def parse_check(rc, out, err):
    """The check's answer, or a result whose import_error says why there is none."""
    for line in reversed((out or "").splitlines()):
        try:
            answer = json.loads(line)
        except ValueError:
            continue
        if isinstance(answer, dict) and "backends" in answer:
            return answer
    tail = " ".join((err or "").strip().splitlines()[-3:])
    why = "it could not run" if rc is None else f"it exited {rc}"
    return {
        "plugin_dir": None,
        "plugins": [],
        "backends": {},
        "import_error": f"the NIXL check gave no answer ({why}){': ' + tail if tail else ''}",
    }


class NixlNode:
    """Reads the node through run(argv, env=None) -> (rc, stdout, stderr) and a root for files (tests)."""

    def __init__(self, run, root="/"):
        self.run = run
        self.root = root
        # Packages and venv versions are read as service_node_info reads them.
        self.service = service_node.ServiceNode(lambda argv: run(argv)[:2])

    def _local(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def _isdir(self, path):
        return os.path.isdir(self._local(path))

    def _read(self, path):
        try:
            with open(self._local(path), encoding="utf-8") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError):
            return None

    def cuda_detected(self, cuda_version_json, nvidia_smi):
        """(major, source): the toolkit's from version.json, else the driver's from nvidia-smi; (None, None)."""
        major = node_info.cuda_major(node_info.parse_cuda_version_json(self._read(cuda_version_json)))
        if major:
            return major, cuda_version_json
        rc, out, _err = self.run([nvidia_smi])
        major = node_info.cuda_major(node_info.parse_nvidia_smi_cuda_version(out)) if rc == 0 else None
        return (major, "nvidia-smi") if major else (None, None)

    def efa_provider(self, efa_prefix):
        fi_info = os.path.join(efa_prefix, "bin", "fi_info")
        if not os.access(self._local(fi_info), os.X_OK):
            return False
        rc, out, _err = self.run([fi_info, "-p", "efa"])
        return rc == 0 and "provider: efa" in out

    def facts(
        self,
        venv,
        cuda_major=0,
        default_cuda_major=12,
        debs=(),
        distributions=(),
        backends=(),
        efa_prefix=node_info.EFA_PREFIX,
        cuda_lib_dir="/usr/local/cuda/lib64",
        cuda_version_json="/usr/local/cuda/version.json",
        nvidia_smi="nvidia-smi",
        plugin_dir="",
    ):
        detected, source = self.cuda_detected(cuda_version_json, nvidia_smi)
        if cuda_major:
            major, source = cuda_major, "override"
        elif detected:
            major = detected
        else:
            major, source = default_cuda_major, "default"
        python = os.path.join(venv, "bin", "python")
        in_venv = os.access(self._local(python), os.X_OK)
        existing = os.environ.get("LD_LIBRARY_PATH", "")
        env = {"LD_LIBRARY_PATH": library_path(cuda_lib_dir, efa_prefix, existing, isdir=self._isdir)}
        if plugin_dir:
            env["NIXL_PLUGIN_DIR"] = plugin_dir
        facts = {
            "cuda_major": major,
            "cuda_source": source,
            "cuda_detected": detected,
            "debs": {deb: self.service.dpkg_installed(deb) for deb in debs},
            "efa_lib_dir": self._isdir(os.path.join(efa_prefix, "lib")),
            "cuda_lib_dir": self._isdir(cuda_lib_dir),
            "efa_provider": self.efa_provider(efa_prefix),
            "in_venv": in_venv,
            # Both CUDA flavours, so that the role can remove the one not wanted.
            "installed": self.service.versions_of(python, [*distributions, "nixl-cu12", "nixl-cu13"])
            if in_venv
            else {},
            "ld_library_path": env["LD_LIBRARY_PATH"],
            "import_name": f"nixl_cu{major}",
            "plugin_dir": None,
            "plugins": [],
            "backends": {},
            "import_error": None,
        }
        if in_venv:
            request = json.dumps({"module": facts["import_name"], "backends": list(backends)})
            facts.update(parse_check(*self.run([python, "-c", CHECK_CODE, request], env=env)))
        return facts
