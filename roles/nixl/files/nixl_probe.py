"""Everything the nixl role needs to know about a node, in one remote command.

Run by the role as `PYTHON - ARGS < this file`, where PYTHON is the NIXL venv's interpreter when
the venv exists and the system python3 otherwise. Prints one JSON object on stdout:

- cuda_major / cuda_source: the CUDA major the NIXL wheel must match: --cuda-major when given
  ("override"), else the installed toolkit's (/usr/local/cuda/version.json), else the newest CUDA
  the driver supports (nvidia-smi), else --default-cuda-major ("default"). cuda_detected is the
  detected major (null without CUDA) whatever the override.
- debs: {package: installed} for the Debian packages asked for (python3-venv for python3 -m venv,
  python3-packaging for Ansible's pip module).
- cuda_lib_dir: whether the CUDA toolkit's library directory exists.
- efa_lib_dir / efa_provider: whether the EFA installer's libfabric is there, and whether its
  fi_info lists the efa provider.
- installed: {distribution: version} in the venv for the distributions asked for (empty without a venv).
- module: nixl_cu<cuda_major>, the import name of the wheel wanted.
- plugin_dir, plugins, backends: when the NIXL module is importable, the plugin files it
  ships and, per backend asked for, whether an agent with only that backend can be created, with
  the error (and the dynamic loader's reason) when not.

Standard library only; Python 3.8 and later (Ubuntu jammy has 3.10, noble 3.12, bookworm 3.11).
"""

import argparse
import ctypes
import glob
import json
import os
import re
import subprocess
import sys


def run(argv, timeout=30):
    """stdout of argv, or None when it cannot run or fails."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def cuda_major(version_json, nvidia_smi):
    """(major, source): the toolkit's major from version.json, else the driver's from nvidia-smi."""
    try:
        with open(version_json, encoding="utf-8") as f:
            version = json.load(f)["cuda"]["version"]
        return int(version.split(".")[0]), version_json
    except (OSError, ValueError, KeyError, TypeError):
        pass
    out = run([nvidia_smi])
    match = re.search(r"CUDA Version:\s*(\d+)\.", out or "")
    if match:
        return int(match.group(1)), "nvidia-smi"
    return None, None


def dpkg_installed(package):
    out = run(["dpkg-query", "-W", "-f=${Status}", package])
    return bool(out) and out.strip().endswith(" installed")


def efa_provider(efa_prefix):
    fi_info = os.path.join(efa_prefix, "bin", "fi_info")
    if not os.access(fi_info, os.X_OK):
        return False
    out = run([fi_info, "-p", "efa"])
    return bool(out) and "provider: efa" in out


def installed_versions(names):
    from importlib import metadata  # noqa: PLC0415 (3.8+: stdlib)

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def unresolved(path):
    """What the dynamic loader cannot resolve for path (ldd): missing libraries and symbol versions."""
    try:
        # ldd exits non-zero when a symbol version is missing: read its output whatever the status.
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
                missing.append(f"{match.group(1)} not found in {line.split(':')[1].strip()}")
    return missing


def plugin_dir_of(module):
    """The directory NIXL loads its plugins from: NIXL_PLUGIN_DIR, else the wheel's own."""
    if os.environ.get("NIXL_PLUGIN_DIR"):
        return os.environ["NIXL_PLUGIN_DIR"]
    package_dir = os.path.dirname(module.__file__)
    return os.path.normpath(os.path.join(package_dir, "..", "." + module.__name__ + ".mesonpy.libs", "plugins"))


def check_backends(module_name, backends):
    """Import NIXL and try one agent per backend; returns (info, None) or (None, import error)."""
    try:
        api = __import__(module_name + "._api", fromlist=["nixl_agent", "nixl_agent_config"])
        package = sys.modules[module_name]
    except Exception as e:  # noqa: BLE001 (any import failure is the answer)
        return None, f"{type(e).__name__}: {e}"
    plugin_dir = plugin_dir_of(package)
    plugins = sorted(
        os.path.basename(p)[len("libplugin_") : -len(".so")]
        for p in glob.glob(os.path.join(plugin_dir, "libplugin_*.so"))
    )
    result = {}
    for backend in backends:
        try:
            config = api.nixl_agent_config(enable_prog_thread=False, backends=[backend])
            api.nixl_agent(f"nixl-efa-probe-{backend}-{os.getpid()}", config)
            result[backend] = {"loadable": True, "error": None}
            continue
        except Exception as e:  # noqa: BLE001 (NIXL raises its own error types)
            error = f"{type(e).__name__}: {e}"
        path = os.path.join(plugin_dir, f"libplugin_{backend}.so")
        if not os.path.exists(path):
            error += f"; the wheel ships no {os.path.basename(path)}"
        else:
            try:
                ctypes.CDLL(path)
            except OSError as e:
                error += f"; {e}"
            missing = unresolved(path)
            if missing:
                error += "; ldd: " + ", ".join(missing)
        result[backend] = {"loadable": False, "error": error}
    return {"plugin_dir": plugin_dir, "plugins": plugins, "backends": result}, None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--cuda-major", type=int, default=0, choices=[0, 12, 13], help="CUDA major of the wheel; 0 detects it"
    )
    parser.add_argument(
        "--default-cuda-major", type=int, default=12, choices=[12, 13], help="CUDA major when none is detected"
    )
    parser.add_argument("--backend", action="append", default=[], help="backend to try (repeat)")
    parser.add_argument("--dist", action="append", default=[], help="distribution whose version to report")
    parser.add_argument("--deb", action="append", default=[], help="Debian package to look for (repeat)")
    parser.add_argument("--cuda-lib-dir", default="/usr/local/cuda/lib64")
    parser.add_argument("--efa-prefix", default="/opt/amazon/efa")
    parser.add_argument("--cuda-version-json", default="/usr/local/cuda/version.json")
    parser.add_argument("--nvidia-smi", default="nvidia-smi")
    args = parser.parse_args()

    # NIXL and UCX log on stdout and stderr: keep stdout for the JSON answer only.
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    detected, source = cuda_major(args.cuda_version_json, args.nvidia_smi)
    if args.cuda_major:
        major, source = args.cuda_major, "override"
    else:
        major, source = (detected, source) if detected else (args.default_cuda_major, "default")
    module = f"nixl_cu{major}"
    in_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    facts = {
        "cuda_major": major,
        "cuda_source": source,
        "cuda_detected": detected,
        "debs": {deb: dpkg_installed(deb) for deb in args.deb},
        "efa_lib_dir": os.path.isdir(os.path.join(args.efa_prefix, "lib")),
        "cuda_lib_dir": os.path.isdir(args.cuda_lib_dir),
        "efa_provider": efa_provider(args.efa_prefix),
        "in_venv": in_venv,
        # Both CUDA flavours, so that the role can remove the one not wanted.
        "installed": installed_versions([*args.dist, "nixl-cu12", "nixl-cu13"]) if in_venv else {},
        "ld_library_path": os.environ.get("LD_LIBRARY_PATH", ""),
        "module": module,
        "plugin_dir": None,
        "plugins": [],
        "backends": {},
        "import_error": None,
    }
    if in_venv:
        info, facts["import_error"] = check_backends(module, args.backend)
        if info:
            facts.update(info)
    json.dump(facts, answer, sort_keys=True)
    answer.write("\n")
    answer.flush()
    # Skip interpreter teardown: NIXL's and its plugins' native destructors have been seen to
    # crash at exit (SIGSEGV after a failed LIBFABRIC load), which would turn a complete answer
    # into a failed task.
    os._exit(0)


if __name__ == "__main__":
    main()
