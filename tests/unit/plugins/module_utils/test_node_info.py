# -*- coding: utf-8 -*-
"""Parsers and the probe behind efa_node_info, on sample text and a fake file tree.

Where the samples come from:
- efa_installed_packages: the file as printed in aws/aws-parallelcluster-cookbook pull request #1882
  (EFA installer 1.22.0 on an EL8 instance).
- fi_info on Debian 12: captured from `fi_info --version` and `fi_info -l` of Debian's libfabric-bin
  1.17.0 in this project's lab node (lab/labctl.py nodes up).
- fi_info on AWS: the `fi_info --version` example of the EFA installer's libfabric
  (/opt/amazon/efa/bin/fi_info: 1.22.0amzn5.0) quoted in public EFA setup guides; the `fi_info -l`
  sample is written in the same format with the efa provider added (no EFA hardware here).
- nvidia-smi: the CSV format of `--query-gpu ... --format=csv,noheader,nounits` for a p5.48xlarge's
  eight H100 80GB HBM3 (81559 MiB each) and the standard nvidia-smi banner.
- /proc/net/route: captured in the lab node (host networking), plus an EC2-like one written by hand.
"""

import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import HTTPServer

import pytest
from node_tree import write

from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_info as ni

EFA_INSTALLED_PACKAGES = """\
# EFA installer version: 1.22.0
# Debug packages installed: no
# Packages installed:
efa-config-1.13-1.el8.noarch efa-profile-1.5-1.el8.noarch libfabric-aws-1.17.0-1.el8.x86_64 \
libfabric-aws-devel-1.17.0-1.el8.x86_64 openmpi40-aws-4.1.5-1.x86_64 ibacm-43.0-1.el8.x86_64 \
rdma-core-43.0-1.el8.x86_64 rdma-core-devel-43.0-1.el8.x86_64
"""

FI_INFO_VERSION_DEBIAN = "fi_info: 1.17.0\nlibfabric: 1.17.0\nlibfabric api: 1.17\n"
FI_INFO_VERSION_AWS = "/opt/amazon/efa/bin/fi_info: 1.22.0amzn5.0\nlibfabric: 1.22.0amzn5.0\nlibfabric api: 1.22\n"

FI_INFO_LIST_DEBIAN = """\
psm2:
    version: 117.0
psm:
    version: 117.0
ofi_rxm:
    version: 117.0
ofi_rxd:
    version: 117.0
shm:
    version: 117.0
udp:
    version: 117.0
tcp:
    version: 117.0
sockets:
    version: 117.0
net:
    version: 117.0
ofi_hook_perf:
    version: 117.0
ofi_hook_debug:
    version: 117.0
ofi_hook_noop:
    version: 117.0
ofi_hook_hmem:
    version: 117.0
ofi_hook_dmabuf_peer_mem:
    version: 117.0
ofi_mrail:
    version: 117.0
"""

FI_INFO_LIST_AWS = """\
efa:
    version: 122.0
shm:
    version: 122.0
tcp:
    version: 122.0
sockets:
    version: 122.0
ofi_rxm:
    version: 122.0
"""

NVIDIA_SMI_CSV = "NVIDIA H100 80GB HBM3, 81559, 550.90.07\n" * 8

NVIDIA_SMI_BANNER = """\
Tue Nov 25 10:00:00 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.90.07              Driver Version: 550.90.07      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+
"""

CUDA_VERSION_JSON = '{\n   "cuda" : {\n      "name" : "CUDA SDK",\n      "version" : "12.4.1"\n   },\n   "cuda_cudart" : {\n      "name" : "CUDA Runtime (cudart)",\n      "version" : "12.4.127"\n   }\n}\n'  # noqa: E501

ROUTE_LAB = """\
Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	010200C0	0003	0	0	0	00000000	0	0	0
docker0	000011AC	00000000	0001	0	0	0	0000FFFF	0	0	0
eth0	000200C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
"""

ROUTE_EC2_TWO_DEFAULTS = """\
Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
ens6	00000000	0100000A	0003	0	0	1100	00000000	0	0	0
ens5	00000000	0100000A	0003	0	0	100	00000000	0	0	0
ens5	0000000A	00000000	0001	0	0	100	00FFFFFF	0	0	0
docker0	00000000	00000000	0000	0	0	0	00000000	0	0	0
"""

LDCONFIG_P = (
    "1234 libs found in cache `/etc/ld.so.cache'\n"
    "\tlibnccl.so (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libnccl.so\n"
    "\tlibnccl.so.2 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libnccl.so.2\n"
    "\tlibnccl-net.so (libc6,x86-64) => /opt/amazon/ofi-nccl/lib/libnccl-net.so\n"
    "\tlibc.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libc.so.6\n"
)


# -- parsers ---------------------------------------------------------------------------------------
def test_efa_installed_packages():
    parsed = ni.parse_efa_installed_packages(EFA_INSTALLED_PACKAGES)
    assert parsed["installer_version"] == "1.22.0"
    assert parsed["debug_packages"] is False
    assert parsed["packages"][0] == "efa-config-1.13-1.el8.noarch"
    assert "libfabric-aws-1.17.0-1.el8.x86_64" in parsed["packages"]
    assert len(parsed["packages"]) == 8


def test_efa_installed_packages_empty_or_odd():
    assert ni.parse_efa_installed_packages("") == {"installer_version": None, "debug_packages": None, "packages": []}
    odd = "# a comment without a colon\n# EFA installer version: 1.47.0\n# Packages installed: a b\nc\n"
    parsed = ni.parse_efa_installed_packages(odd)
    assert parsed["installer_version"] == "1.47.0" and parsed["packages"] == ["a", "b", "c"]


@pytest.mark.parametrize(
    "text, version",
    [
        (FI_INFO_VERSION_DEBIAN, "1.17.0"),
        (FI_INFO_VERSION_AWS, "1.22.0amzn5.0"),
        ("fi_info: 2.1.0\n", "2.1.0"),
        ("", None),
    ],
)
def test_fi_info_version(text, version):
    assert ni.parse_fi_info_version(text) == version


def test_fi_info_providers_debian_has_tcp_not_efa():
    providers = ni.parse_fi_info_providers(FI_INFO_LIST_DEBIAN)
    assert providers[:3] == ["psm2", "psm", "ofi_rxm"]
    assert "tcp" in providers and "efa" not in providers
    assert len(providers) == 15


def test_fi_info_providers_aws():
    assert ni.parse_fi_info_providers(FI_INFO_LIST_AWS) == ["efa", "shm", "tcp", "sockets", "ofi_rxm"]
    assert ni.parse_fi_info_providers("tcp:\n    version: 1\ntcp:\n    version: 1\nnoise\n") == ["tcp"]


def test_nvidia_smi_gpus():
    gpus = ni.parse_nvidia_smi_gpus(NVIDIA_SMI_CSV)
    assert len(gpus) == 8
    assert gpus[0] == {"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "driver_version": "550.90.07"}
    odd = ni.parse_nvidia_smi_gpus("NVIDIA A10G, [N/A], [N/A]\n\n")
    assert odd == [{"name": "NVIDIA A10G", "memory_mib": None, "driver_version": None}]


def test_cuda_versions():
    assert ni.parse_nvidia_smi_cuda_version(NVIDIA_SMI_BANNER) == "12.4"
    assert ni.parse_nvidia_smi_cuda_version("no banner") is None
    assert ni.parse_cuda_version_json(CUDA_VERSION_JSON) == "12.4.1"
    assert ni.parse_cuda_version_json("not json") is None
    assert ni.parse_cuda_version_json("[]") is None
    assert ni.parse_cuda_version_txt("CUDA Version 11.0.228\n") == "11.0.228"
    assert [ni.cuda_major(v) for v in ("12.4.1", "11", None, "")] == [12, 11, None, None]


def test_proc_net_route():
    assert ni.parse_proc_net_route(ROUTE_LAB) == ("eth0", ["eth0", "docker0"])
    # Two default routes: the lowest metric wins; a default route that is not up is ignored.
    assert ni.parse_proc_net_route(ROUTE_EC2_TWO_DEFAULTS) == ("ens5", ["ens6", "ens5", "docker0"])
    assert ni.parse_proc_net_route("") == (None, [])


def test_ldconfig_prefers_versioned_library():
    assert ni.parse_ldconfig_nccl(LDCONFIG_P) == "/usr/lib/x86_64-linux-gnu/libnccl.so.2"
    assert ni.parse_ldconfig_nccl("\tlibc.so.6 (libc6,x86-64) => /lib/libc.so.6\n") is None


def test_version_key_orders_numerically():
    assert sorted(["12.9", "12.10", "11.8"], key=ni.version_key) == ["11.8", "12.9", "12.10"]


# -- the probe over a fake tree ----------------------------------------------------------------------


class FakeRun:
    """Answers commands by basename and arguments; records what ran."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv):
        key = (os.path.basename(argv[0]),) + tuple(argv[1:])
        self.calls.append(key)
        return self.answers.get(key, (127, "", "not found"))


def aws_gpu_node(root):
    """A p5-like node: EFA installer, 2 EFA functions, efa module, 8 GPUs, CUDA 12.4, DLAMI NCCL."""
    write(root, ni.EFA_INSTALLED_PACKAGES, EFA_INSTALLED_PACKAGES)
    write(root, "/opt/amazon/efa/bin/fi_info", "", 0o755)
    for address, device in (("0000:10:1c.0", "0xefa1"), ("0000:20:1c.0", "0xefa1"), ("0000:00:05.0", "0x0ec2")):
        write(root, f"/sys/bus/pci/devices/{address}/vendor", "0x1d0f\n")
        write(root, f"/sys/bus/pci/devices/{address}/device", device + "\n")
    write(root, "/sys/bus/pci/devices/0000:00:1e.0/vendor", "0x10de\n")
    write(root, "/sys/bus/pci/devices/0000:00:1e.0/device", "0x2330\n")
    write(root, "/sys/module/efa/version", "2.13.0\n")
    write(root, "/dev/infiniband/uverbs0")
    write(root, "/sys/class/infiniband/rdmap16s27/node_type", "")
    write(root, "/proc/sys/kernel/yama/ptrace_scope", "1\n")
    write(root, "/usr/bin/nvidia-smi", "", 0o755)
    write(root, "/usr/local/cuda/bin/nvcc", "", 0o755)
    write(root, "/usr/local/cuda/version.json", CUDA_VERSION_JSON)
    write(root, "/usr/local/cuda/lib/libnccl.so.2")
    write(root, "/usr/local/cuda/include/nccl.h")
    write(root, "/opt/amazon/ofi-nccl/lib/libnccl-net.so")
    write(root, "/opt/amazon/ofi-nccl/lib/libnccl-net-ofi.so")
    write(root, "/usr/local/cuda-12.4/efa/test-cuda-12.4/all_reduce_perf", "", 0o755)
    write(root, "/proc/net/route", ROUTE_EC2_TWO_DEFAULTS)
    for name in ("ens5", "ens6", "lo"):
        write(root, f"/sys/class/net/{name}/mtu", "9001\n")
    return FakeRun(
        {
            ("fi_info", "--version"): (0, FI_INFO_VERSION_AWS, ""),
            ("fi_info", "-l"): (0, FI_INFO_LIST_AWS, ""),
            (
                "nvidia-smi",
                "--query-gpu=name,memory.total,driver_version",
                "--format=csv,noheader,nounits",
            ): (0, NVIDIA_SMI_CSV, ""),
        }
    )


def test_probe_aws_gpu_node(tmp_path):
    run = aws_gpu_node(tmp_path)
    probe = ni.NodeProbe(run, root=str(tmp_path), path_env="/usr/bin")
    efa = probe.efa()
    assert efa["installed"] and efa["installer_version"] == "1.22.0" and efa["prefix_present"]
    assert efa["pci_devices"] == [
        {"address": "0000:10:1c.0", "device": "0xefa1"},
        {"address": "0000:20:1c.0", "device": "0xefa1"},
    ]
    assert efa["kernel_module_loaded"]
    assert efa["infiniband_devices"] == ["/dev/infiniband/uverbs0", "/sys/class/infiniband/rdmap16s27"]
    assert efa["libfabric"]["fi_info"] == "/opt/amazon/efa/bin/fi_info"
    assert efa["libfabric"]["version"] == "1.22.0amzn5.0"
    assert efa["libfabric"]["efa_provider"] is True
    assert efa["ptrace_scope"] == "1"

    gpu = probe.gpu()
    assert gpu["nvidia_smi"] == "/usr/bin/nvidia-smi" and gpu["count"] == 8
    assert gpu["gpus"][0] == {"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559}
    assert gpu["driver_version"] == "550.90.07"
    assert (gpu["cuda_version"], gpu["cuda_version_source"], gpu["cuda_major"]) == ("12.4.1", "toolkit", 12)
    assert gpu["cuda_home"] == "/usr/local/cuda"

    nccl = probe.nccl(cuda_home=gpu["cuda_home"])
    assert nccl["ofi_nccl_plugin"] == "/opt/amazon/ofi-nccl/lib/libnccl-net-ofi.so"
    assert nccl["ofi_nccl_plugin_dir"] == "/opt/amazon/ofi-nccl/lib"
    assert nccl["library"] == "/usr/local/cuda/lib/libnccl.so.2"  # no ldconfig in the fake tree
    assert nccl["home"] == "/usr/local/cuda"
    assert nccl["nccl_tests"] == "/usr/local/cuda-12.4/efa/test-cuda-12.4/all_reduce_perf"

    assert probe.network() == {
        "default_interface": "ens5",
        "route_interfaces": ["ens6", "ens5", "docker0"],
        "interfaces": ["ens5", "ens6", "lo"],
    }
    assert probe.paths(["/usr/local/cuda", "/nowhere"]) == {"/usr/local/cuda": True, "/nowhere": False}


def test_probe_bare_node(tmp_path):
    """A node with nothing: every section answers, nothing is run."""
    run = FakeRun({})
    probe = ni.NodeProbe(run, root=str(tmp_path), path_env="/usr/bin")
    efa = probe.efa()
    assert efa["installed"] is False and efa["installer_version"] is None and efa["pci_devices"] == []
    assert efa["libfabric"] == {"fi_info": None, "version": None, "providers": [], "efa_provider": False, "error": None}
    assert efa["ptrace_scope"] is None
    gpu = probe.gpu()
    assert gpu["count"] == 0 and gpu["nvidia_smi"] is None and gpu["cuda_version"] is None
    assert probe.nccl() == {
        "ofi_nccl_plugin": None,
        "ofi_nccl_plugin_dir": None,
        "library": None,
        "home": None,
        "nccl_tests": None,
    }
    assert probe.network()["default_interface"] is None
    assert run.calls == []


def test_probe_gpu_driver_broken_and_cuda_from_driver(tmp_path):
    write(tmp_path, "/usr/bin/nvidia-smi", "", 0o755)
    query = ("nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits")
    broken = FakeRun({query: (9, "", "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")})
    gpu = ni.NodeProbe(broken, root=str(tmp_path), path_env="").gpu()
    assert gpu["count"] == 0 and "couldn't communicate" in gpu["error"]

    # No toolkit: the CUDA version is the driver's, from the banner.
    working = FakeRun({query: (0, NVIDIA_SMI_CSV, ""), ("nvidia-smi",): (0, NVIDIA_SMI_BANNER, "")})
    gpu = ni.NodeProbe(working, root=str(tmp_path), path_env="").gpu()
    assert (gpu["cuda_version"], gpu["cuda_version_source"], gpu["cuda_major"]) == ("12.4", "driver", 12)


def test_probe_newest_versioned_cuda_and_ldconfig(tmp_path):
    for version in ("12.4", "12.10", "11.8"):
        write(tmp_path, f"/usr/local/cuda-{version}/bin/nvcc", "", 0o755)
    write(tmp_path, "/usr/local/cuda-12.10/version.txt", "CUDA Version 12.10.0\n")
    write(tmp_path, "/sbin/ldconfig", "", 0o755)
    write(tmp_path, "/usr/lib/x86_64-linux-gnu/libnccl.so.2")
    write(tmp_path, "/opt/nccl-tests/build/all_reduce_perf", "", 0o755)
    write(tmp_path, "/opt/mine/all_reduce_perf", "", 0o755)
    run = FakeRun({("ldconfig", "-p"): (0, LDCONFIG_P, "")})
    probe = ni.NodeProbe(run, root=str(tmp_path), path_env="")
    gpu = probe.gpu()
    assert gpu["cuda_home"] == "/usr/local/cuda-12.10" and gpu["cuda_version"] == "12.10.0"
    nccl = probe.nccl(
        cuda_home=gpu["cuda_home"], tests_paths=["/opt/missing/all_reduce_perf", "/opt/mine/all_reduce_perf"]
    )
    assert nccl["library"] == "/usr/lib/x86_64-linux-gnu/libnccl.so.2" and nccl["home"] is None
    assert nccl["nccl_tests"] == "/opt/mine/all_reduce_perf"
    assert probe.nccl()["nccl_tests"] == "/opt/nccl-tests/build/all_reduce_perf"


def test_fi_info_failure_is_reported(tmp_path):
    write(tmp_path, "/usr/bin/fi_info", "", 0o755)
    run = FakeRun({("fi_info", "--version"): (0, FI_INFO_VERSION_DEBIAN, ""), ("fi_info", "-l"): (1, "", "boom")})
    lib = ni.NodeProbe(run, root=str(tmp_path), path_env="/usr/bin").libfabric()
    assert lib["fi_info"] == "/usr/bin/fi_info" and lib["version"] == "1.17.0"
    assert lib["providers"] == [] and lib["error"] == "fi_info -l failed (rc 1): boom"


# -- IMDSv2 ------------------------------------------------------------------------------------------
class _Imds(BaseHTTPRequestHandler):
    token = "token-123"

    def log_message(self, *args):
        pass

    def _answer(self, status, body=""):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._answer(200, self.token)
        else:
            self._answer(400)

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") != self.token:
            self._answer(401)
        elif self.path == "/latest/meta-data/instance-type":
            self._answer(200, "p5.48xlarge")
        else:
            self._answer(404)


@pytest.fixture
def imds_server():
    server = HTTPServer(("127.0.0.1", 0), _Imds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_imds_v2_token_then_instance_type(imds_server):
    assert ni.imds_instance_type(imds_server, 1.0) == ("p5.48xlarge", None)


def test_imds_refused_is_quick():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.monotonic()
    value, error = ni.imds_instance_type(f"http://127.0.0.1:{port}", 1.0)
    assert value is None and "not reachable" in error
    assert time.monotonic() - start < 1.0


def test_imds_silent_endpoint_times_out():
    """A listener that never answers (like a filtered 169.254.169.254): null after the timeout, no hang."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        start = time.monotonic()
        value, error = ni.imds_instance_type(f"http://127.0.0.1:{sock.getsockname()[1]}", 0.3)
        elapsed = time.monotonic() - start
    assert value is None and "timed out" in error
    assert 0.25 < elapsed < 2.0


def test_imds_bad_endpoint():
    assert ni.imds_instance_type("https://169.254.169.254", 1.0)[0] is None
