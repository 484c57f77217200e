"""What the validation role reads with efa_node_info besides the EFA state (module_utils/validation_node.py):
fi_info -p <provider> on real fi_info outputs, and the torchrun with its Python, on a fake node tree."""

import subprocess

from node_tree import write

from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_info
from ansible_collections.nixl_efa.cluster.plugins.module_utils import validation_node as vn

FI_INFO_EFA = """\
provider: efa
    fabric: efa
    domain: rdmap16s27-rdm
    version: 122.0
    type: FI_EP_RDM
    protocol: FI_PROTO_EFA
provider: efa
    fabric: efa-direct
    domain: rdmap16s27-rdm
    version: 122.0
    type: FI_EP_RDM
    protocol: FI_PROTO_EFA
provider: efa
    fabric: efa
    domain: rdmap16s27-dgrm
    version: 122.0
    type: FI_EP_DGRAM
    protocol: FI_PROTO_EFA
"""

FI_INFO_TCP = """\
provider: tcp;ofi_rxm
    fabric: 127.0.0.1/32
    domain: lo
    version: 117.0
    type: FI_EP_RDM
    protocol: FI_PROTO_RXM
provider: tcp
    fabric: 127.0.0.1/32
    domain: lo
    version: 117.0
    type: FI_EP_MSG
    protocol: FI_PROTO_SOCK_TCP
"""


def run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def test_parse_fi_info_efa():
    entries = vn.parse_fi_info(FI_INFO_EFA)
    assert len(entries) == 3
    assert entries[1] == {
        "provider": "efa",
        "fabric": "efa-direct",
        "domain": "rdmap16s27-rdm",
        "version": "122.0",
        "type": "FI_EP_RDM",
        "protocol": "FI_PROTO_EFA",
    }


def test_layered_provider_matches_its_core_provider():
    entries = vn.parse_fi_info(FI_INFO_TCP)
    assert [vn.provider_matches(e["provider"], "tcp") for e in entries] == [True, True]
    assert not vn.provider_matches("tcp;ofi_rxm", "efa")


def fake_fi_info(root, stdout, rc=0):
    write(root, "/opt/amazon/efa/bin/fi_info", f"#!/bin/sh\ncat <<'EOF'\n{stdout}EOF\nexit {rc}\n", 0o755)


def test_fi_info_endpoints_of_the_efa_installer_first(tmp_path):
    fake_fi_info(tmp_path, FI_INFO_EFA)
    ok = vn.fi_info_endpoints(node_info.NodeProbe(run, root=str(tmp_path), path_env=""), "efa")
    assert ok["path"] == "/opt/amazon/efa/bin/fi_info"
    assert ok["rc"] == 0 and ok["matched"] == 3 and ok["entry_count"] == 3 and ok["error"] is None


def test_fi_info_endpoints_failing_and_missing(tmp_path):
    fake_fi_info(tmp_path, "", rc=61)
    missing = vn.fi_info_endpoints(node_info.NodeProbe(run, root=str(tmp_path), path_env=""), "efa")
    assert missing["rc"] == 61 and missing["matched"] == 0
    assert missing["error"] == "fi_info -p efa exited 61 with no output"
    empty = tmp_path / "empty"
    empty.mkdir()
    absent = vn.fi_info_endpoints(node_info.NodeProbe(run, root=str(empty), path_env=""), "efa")
    assert absent["path"] is None and absent["error"].startswith("fi_info not found")


def test_torchrun_and_its_python(tmp_path):
    write(tmp_path, "/opt/conda/bin/python3", "", 0o755)
    write(tmp_path, "/opt/conda/bin/torchrun", "#!/opt/conda/bin/python3\nimport sys\n", 0o755)
    write(tmp_path, "/usr/local/bin/torchrun", "#!/usr/bin/env python3\n", 0o755)
    write(tmp_path, "/usr/bin/python3", "", 0o755)
    probe = node_info.NodeProbe(run, root=str(tmp_path), path_env="")
    assert vn.torchrun(probe, ["", "/absent/torchrun", "/opt/conda/bin/torchrun"]) == (
        "/opt/conda/bin/torchrun",
        "/opt/conda/bin/python3",
    )
    assert vn.torchrun(probe, ["torchrun"]) == ("/usr/local/bin/torchrun", "/usr/bin/python3")
    assert vn.torchrun(probe, ["/absent/torchrun"]) == (None, None)
