# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a cluster node has for EFA, GPUs, NCCL and its network, read on the node itself.

The parsers are pure functions over the text the node gives (files under /opt/amazon, /proc
and /sys, the output of fi_info, nvidia-smi and ldconfig) and are unit tested with samples.
NodeProbe reads the node through a root directory and a command runner, so tests can hand it
a fake file tree and fake commands. Python standard library only: this runs on the node.
"""

import glob
import http.client
import json
import os
import re
from urllib.parse import urlsplit

# Amazon's PCI vendor id and the EFA device ids the Linux efa driver binds
# (drivers/infiniband/hw/efa/efa_main.c, efa_pci_tbl: one id per EFA generation).
EFA_PCI_VENDOR_ID = "0x1d0f"
EFA_PCI_DEVICE_IDS = ("0xefa0", "0xefa1", "0xefa2", "0xefa3", "0xefa4")

# Where the EFA installer puts things (AWS EC2 user guide, "Get started with EFA and NCCL").
EFA_PREFIX = "/opt/amazon/efa"
EFA_INSTALLED_PACKAGES = "/opt/amazon/efa_installed_packages"

# aws-ofi-nccl: the EFA installer's copy first, then older DLAMI and source-build locations.
OFI_NCCL_LIB_DIRS = (
    "/opt/amazon/ofi-nccl/lib",
    "/opt/amazon/ofi-nccl/lib64",
    "/opt/aws-ofi-nccl/lib",
    "/usr/local/lib",
)
# Preferred plugin file names, best first; any other libnccl-net*.so comes after them.
OFI_NCCL_PLUGIN_NAMES = ("libnccl-net-ofi.so", "libnccl-net.so")
# NCCL libraries outside the linker cache: the DLAMI keeps NCCL beside CUDA.
NCCL_LIB_DIRS = ("/usr/local/cuda/lib", "/usr/local/cuda/lib64", "/opt/nccl/build/lib", "/usr/local/lib")
# nccl-tests binaries shipped on DLAMIs (/usr/local/cuda-X.Y/efa/test-cuda-X.Y) or built by hand.
NCCL_TESTS_GLOBS = ("/usr/local/cuda-*/efa/test-cuda-*/all_reduce_perf", "/opt/nccl-tests/build/all_reduce_perf")

# Directories searched for commands besides PATH (sudo's secure_path may be short).
DEFAULT_COMMAND_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

IMDS_TOKEN_TTL_SECONDS = "60"


def parse_efa_installed_packages(text):
    """Parse /opt/amazon/efa_installed_packages, which the EFA installer writes.

    Its header lines are ``# EFA installer version: 1.22.0`` and ``# Debug packages installed: no``,
    then ``# Packages installed:`` and the package names, separated by white space.
    """
    result = {"installer_version": None, "debug_packages": None, "packages": []}
    in_packages = False
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            key, sep, value = line.lstrip("#").partition(":")
            key, value = key.strip().lower(), value.strip()
            if not sep:
                continue
            if key == "efa installer version":
                result["installer_version"] = value or None
            elif key == "debug packages installed":
                result["debug_packages"] = value.lower() in ("yes", "true", "1")
            in_packages = key == "packages installed"
            if in_packages and value:
                result["packages"].extend(value.split())
            continue
        if in_packages:
            result["packages"].extend(line.split())
    return result


def parse_fi_info_version(text):
    """The libfabric version from ``fi_info --version``.

    Its lines are ``<argv0>: <version>``, ``libfabric: <version>``, ``libfabric api: <major.minor>``;
    the ``libfabric:`` line wins, else the first line's value.
    """
    first = None
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        value = value.strip()
        if key.strip() == "libfabric" and value:
            return value
        if first is None and value:
            first = value
    return first


def parse_fi_info_providers(text):
    """Provider names from ``fi_info -l``: each provider is an unindented ``name:`` line,
    followed by indented detail lines (``    version: 117.0``). Order kept, duplicates dropped."""
    providers = []
    for line in (text or "").splitlines():
        if not line or line[0].isspace():
            continue
        name = line.strip()
        if not name.endswith(":"):
            continue
        name = name[:-1].strip()
        if name and name not in providers:
            providers.append(name)
    return providers


def parse_nvidia_smi_gpus(text):
    """GPUs from ``nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits``.

    One line per GPU, e.g. ``NVIDIA H100 80GB HBM3, 81559, 550.90.07``. Memory is in MiB; a value
    nvidia-smi cannot read is written ``[N/A]`` and becomes None.
    """
    gpus = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.rsplit(",", 2)]
        name = parts[0]
        memory = parts[1] if len(parts) > 1 else ""
        driver = parts[2] if len(parts) > 2 else ""
        memory_mib = int(memory) if memory.isdigit() else None
        gpus.append(
            {
                "name": name,
                "memory_mib": memory_mib,
                "driver_version": driver if driver and not driver.startswith("[") else None,
            }
        )
    return gpus


def parse_nvidia_smi_cuda_version(text):
    """The CUDA version the driver supports, from the banner of plain ``nvidia-smi`` (``CUDA Version: 12.4``)."""
    match = re.search(r"CUDA Version:\s*([0-9]+(?:\.[0-9]+)*)", text or "")
    return match.group(1) if match else None


def parse_cuda_version_json(text):
    """The toolkit version from ``<cuda>/version.json`` (CUDA 11.1 and later): ``{"cuda": {"version": "12.4.1"}}``."""
    try:
        data = json.loads(text or "")
    except ValueError:
        return None
    version = data.get("cuda", {}).get("version") if isinstance(data, dict) else None
    return str(version) if version else None


def parse_cuda_version_txt(text):
    """The toolkit version from ``<cuda>/version.txt`` (CUDA 11.0 and older): ``CUDA Version 11.0.228``."""
    match = re.search(r"CUDA Version\s+([0-9]+(?:\.[0-9]+)*)", text or "")
    return match.group(1) if match else None


def cuda_major(version):
    """12 for "12.4.1", None when there is no version."""
    if not version:
        return None
    head = str(version).split(".", 1)[0]
    return int(head) if head.isdigit() else None


def parse_proc_net_route(text):
    """(default route interface, interfaces with routes) from /proc/net/route.

    Columns: Iface Destination Gateway Flags RefCnt Use Metric Mask ...; addresses in hex. The
    default route has destination and mask 00000000 and the RTF_UP flag (0x1); with several, the
    lowest metric wins, as the kernel would choose.
    """
    default = None
    best_metric = None
    interfaces = []
    for line in (text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        iface, destination, flags, metric, mask = fields[0], fields[1], fields[3], fields[6], fields[7]
        if iface not in interfaces:
            interfaces.append(iface)
        try:
            up = int(flags, 16) & 0x1
            metric = int(metric)
        except ValueError:
            continue
        if up and destination == "00000000" and mask == "00000000" and (best_metric is None or metric < best_metric):
            default, best_metric = iface, metric
    return default, interfaces


def parse_ldconfig_nccl(text):
    """The NCCL library path from ``ldconfig -p``, whose lines look like
    ``<TAB>libnccl.so.2 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libnccl.so.2``.
    A versioned libnccl.so.N is preferred over the bare development link."""
    found = []
    for line in (text or "").splitlines():
        match = re.match(r"^\s*(libnccl\.so(?:\.\d+)*)\s.*=>\s*(\S+)\s*$", line)
        if match:
            found.append((match.group(1) == "libnccl.so", match.group(2)))
    found.sort(key=lambda item: item[0])
    return found[0][1] if found else None


def version_key(text):
    """Sort key for version-like strings: "12.10" after "12.9"."""
    return [int(part) if part.isdigit() else -1 for part in re.split(r"[.-]", text)]


def imds_instance_type(endpoint, timeout):
    """(instance type, error) from the EC2 instance metadata service with IMDSv2.

    PUT /latest/api/token, then GET /latest/meta-data/instance-type with that token, each with
    `timeout` seconds to connect and to answer. Off AWS this fails within about two timeouts and
    returns (None, reason); it never raises.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "") or not parts.hostname:
        return None, f"imds_endpoint must be an http:// URL, not {endpoint!r}"
    base = parts.path.rstrip("/")
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request(
            "PUT", base + "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": IMDS_TOKEN_TTL_SECONDS}
        )
        response = connection.getresponse()
        token = response.read().decode("utf-8", "replace").strip()
        if response.status != 200 or not token:
            return None, f"IMDSv2 token request answered HTTP {response.status}"
        connection.request("GET", base + "/latest/meta-data/instance-type", headers={"X-aws-ec2-metadata-token": token})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace").strip()
        if response.status != 200 or not body:
            return None, f"instance-type request answered HTTP {response.status}"
        return body, None
    except (OSError, http.client.HTTPException) as e:
        return None, f"instance metadata service not reachable at {endpoint}: {e or type(e).__name__}"
    finally:
        connection.close()


class NodeProbe:
    """Reads one node. `run(argv)` returns (rc, stdout, stderr); paths are read under `root`."""

    def __init__(self, run, root="/", path_env=None):
        self.run = run
        self.root = root
        self.path_env = os.environ.get("PATH", "") if path_env is None else path_env

    # -- file system, seen through root --------------------------------------------------------
    def local(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def exists(self, path):
        return os.path.exists(self.local(path))

    def isdir(self, path):
        return os.path.isdir(self.local(path))

    def read(self, path):
        try:
            with open(self.local(path), encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return None

    def listdir(self, path):
        try:
            return sorted(os.listdir(self.local(path)))
        except OSError:
            return []

    def glob(self, pattern):
        prefix = self.local("/").rstrip("/")
        return sorted(found[len(prefix) :] for found in glob.glob(self.local(pattern)))

    def is_executable(self, path):
        local = self.local(path)
        return os.path.isfile(local) and os.access(local, os.X_OK)

    def which(self, name, first_dirs=()):
        """The node path of command `name`: in first_dirs, then PATH, then the usual system directories."""
        dirs = list(first_dirs) + [d for d in self.path_env.split(os.pathsep) if d] + list(DEFAULT_COMMAND_DIRS)
        for directory in dirs:
            candidate = os.path.join(directory, name)
            if self.is_executable(candidate):
                return candidate
        return None

    def command(self, path, *args):
        """Run a command found by which(); (rc, stdout, stderr)."""
        return self.run([self.local(path)] + list(args))

    def proc_sys_writable(self):
        """Whether /proc/sys is mounted read-write (it is read-only in unprivileged containers)."""
        try:
            return not os.statvfs(self.local("/proc/sys")).f_flag & os.ST_RDONLY
        except OSError:
            return False

    # -- sections ------------------------------------------------------------------------------
    def efa(self):
        packages_text = self.read(EFA_INSTALLED_PACKAGES)
        packages = parse_efa_installed_packages(packages_text) if packages_text is not None else None
        pci = []
        for address in self.listdir("/sys/bus/pci/devices"):
            base = "/sys/bus/pci/devices/" + address
            vendor = (self.read(base + "/vendor") or "").strip().lower()
            device = (self.read(base + "/device") or "").strip().lower()
            if vendor == EFA_PCI_VENDOR_ID and device in EFA_PCI_DEVICE_IDS:
                pci.append({"address": address, "device": device})
        infiniband = ["/dev/infiniband/" + name for name in self.listdir("/dev/infiniband")]
        infiniband += ["/sys/class/infiniband/" + name for name in self.listdir("/sys/class/infiniband")]
        ptrace = self.read("/proc/sys/kernel/yama/ptrace_scope")
        return {
            "installed": packages is not None,
            "installer_version": packages["installer_version"] if packages else None,
            "installed_packages": packages["packages"] if packages else [],
            "prefix_present": self.isdir(EFA_PREFIX),
            "pci_devices": pci,
            "kernel_module_loaded": self.isdir("/sys/module/efa"),
            "infiniband_devices": infiniband,
            "libfabric": self.libfabric(),
            "ptrace_scope": ptrace.strip() if ptrace is not None else None,
            "proc_sys_writable": self.proc_sys_writable(),
        }

    def libfabric(self):
        fi_info = self.which("fi_info", first_dirs=(EFA_PREFIX + "/bin",))
        result = {"fi_info": fi_info, "version": None, "providers": [], "efa_provider": False, "error": None}
        if not fi_info:
            return result
        rc, out, err = self.command(fi_info, "--version")
        if rc == 0:
            result["version"] = parse_fi_info_version(out)
        rc, out, err = self.command(fi_info, "-l")
        if rc == 0:
            result["providers"] = parse_fi_info_providers(out)
        else:
            result["error"] = f"fi_info -l failed (rc {rc}): {(err or out).strip()[:300]}"
        result["efa_provider"] = "efa" in result["providers"]
        return result

    def cuda_home(self):
        """/usr/local/cuda when it has nvcc, else the newest /usr/local/cuda-X.Y that has."""
        candidates = ["/usr/local/cuda"] + sorted(
            self.glob("/usr/local/cuda-*"), key=lambda p: version_key(p.rsplit("-", 1)[-1]), reverse=True
        )
        for home in candidates:
            if self.is_executable(home + "/bin/nvcc"):
                return home
        return None

    def gpu(self):
        smi = self.which("nvidia-smi")
        result = {
            "nvidia_smi": smi,
            "count": 0,
            "gpus": [],
            "driver_version": None,
            "cuda_version": None,
            "cuda_version_source": None,
            "cuda_major": None,
            "cuda_home": self.cuda_home(),
            "neuron_devices": self.glob("/dev/neuron*"),
            "error": None,
        }
        if smi:
            rc, out, err = self.command(
                smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"
            )
            if rc == 0:
                gpus = parse_nvidia_smi_gpus(out)
                result["gpus"] = [{"name": g["name"], "memory_mib": g["memory_mib"]} for g in gpus]
                result["count"] = len(gpus)
                result["driver_version"] = next((g["driver_version"] for g in gpus if g["driver_version"]), None)
            else:
                result["error"] = f"nvidia-smi failed (rc {rc}): {(err or out).strip()[:300]}"
        if result["cuda_home"]:
            home = result["cuda_home"]
            version = parse_cuda_version_json(self.read(home + "/version.json")) or parse_cuda_version_txt(
                self.read(home + "/version.txt")
            )
            if version:
                result["cuda_version"], result["cuda_version_source"] = version, "toolkit"
        if not result["cuda_version"] and result["count"]:
            rc, out, err = self.command(smi)
            version = parse_nvidia_smi_cuda_version(out) if rc == 0 else None
            if version:
                result["cuda_version"], result["cuda_version_source"] = version, "driver"
        result["cuda_major"] = cuda_major(result["cuda_version"])
        return result

    def nccl(self, cuda_home=None, tests_paths=()):
        plugin = None
        for directory in OFI_NCCL_LIB_DIRS:
            found = self.glob(directory + "/libnccl-net*.so")
            if not found:
                continue
            names = {os.path.basename(p): p for p in found}
            preferred = [names[n] for n in OFI_NCCL_PLUGIN_NAMES if n in names]
            plugin = (preferred or found)[0]
            break
        library = None
        ldconfig = self.which("ldconfig")
        if ldconfig:
            rc, out, err = self.command(ldconfig, "-p")
            if rc == 0:
                library = parse_ldconfig_nccl(out)
        if not library:
            dirs = list(NCCL_LIB_DIRS) + ([cuda_home + "/lib", cuda_home + "/lib64"] if cuda_home else [])
            for directory in dirs:
                found = self.glob(directory + "/libnccl.so*")
                if found:
                    library = sorted(found, key=lambda p: (p.endswith("libnccl.so"), p))[0]
                    break
        home = None
        if library:
            parent = os.path.dirname(os.path.dirname(library))
            if self.exists(parent + "/include/nccl.h"):
                home = parent
        tests = None
        candidates = list(tests_paths)
        for pattern in NCCL_TESTS_GLOBS:
            candidates.extend(sorted(self.glob(pattern), reverse=True))
        for candidate in candidates:
            if self.is_executable(candidate):
                tests = candidate
                break
        return {
            "ofi_nccl_plugin": plugin,
            "ofi_nccl_plugin_dir": os.path.dirname(plugin) if plugin else None,
            "library": library,
            "home": home,
            "nccl_tests": tests,
        }

    def network(self):
        default, route_interfaces = parse_proc_net_route(self.read("/proc/net/route"))
        return {
            "default_interface": default,
            "route_interfaces": route_interfaces,
            "interfaces": self.listdir("/sys/class/net"),
        }

    def paths(self, paths):
        return {path: self.exists(path) for path in paths}
