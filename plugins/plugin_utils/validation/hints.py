# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Likely cause and fix for each failure kind of the validation report."""

# Likely cause and fix per failure kind, from the old system's troubleshooting notes and what each
# tool says when it fails. {node}, {provider}, {port}, ... are filled from the check's context.
HINTS = {
    "unreachable": (
        "The node did not answer over the connection (SSM agent not running, instance stopped, or the instance "
        "role lacks AmazonSSMManagedInstanceCore).",
        "Check that the instance runs and is online in Systems Manager (aws ssm describe-instance-information), "
        "then run the play again.",
    ),
    "node_info": (
        "Reading the node failed (nixl_efa.cluster.efa_node_info or the validation probe).",
        "Read the error; run ansible NODE -m nixl_efa.cluster.efa_node_info by hand.",
    ),
    "efa_device": (
        "No EFA PCI device: the instance type has no EFA, or the instance was launched without an EFA network "
        "interface (InterfaceType efa).",
        "Use an EFA-capable instance type (nixl_efa.cluster.efa_instance_type_info tells: p4d, p5, g5.12xlarge and "
        "larger, ...) launched with an efa interface, as the instances role's launch template does.",
    ),
    "efa_not_installed": (
        "The EFA software is missing (no /opt/amazon/efa_installed_packages): without the EFA installer there is "
        "no efa kernel module and no EFA libfabric.",
        "Apply nixl_efa.cluster.efa (the EFA installer), or use a Deep Learning AMI, which ships it.",
    ),
    "efa_module": (
        "The efa kernel module is not loaded although the EFA software is installed (a kernel update without the "
        "module rebuilt, or the module failed to load).",
        "modprobe efa and read dmesg | grep -i efa; reboot after a kernel update; re-run the EFA installer.",
    ),
    "infiniband": (
        "No /dev/infiniband verbs devices: the efa driver has not bound an EFA device.",
        "Load the efa module (modprobe efa), check the EFA PCI device, re-run the EFA installer.",
    ),
    "fi_info_efa": (
        "libfabric does not offer the efa provider: fi_info is not the EFA installer's "
        "(/opt/amazon/efa/bin/fi_info), FI_PROVIDER names another provider, or there is no EFA device.",
        "Put /opt/amazon/efa/bin first on PATH and /opt/amazon/efa/lib on LD_LIBRARY_PATH, unset FI_PROVIDER or "
        "set it to efa, and fix the EFA device and efa module checks first.",
    ),
    "fi_info": (
        "libfabric does not offer the {provider} provider on this node (not built in, or FI_PROVIDER restricts "
        "the providers).",
        "Check fi_info -l; unset FI_PROVIDER, or set validation_fabric_provider to a provider fi_info lists.",
    ),
    "fi_info_missing": (
        "fi_info is not installed (neither /opt/amazon/efa/bin/fi_info nor one on PATH).",
        "Apply nixl_efa.cluster.efa (the EFA installer; libfabric-bin from the distribution in the lab).",
    ),
    "gpu": (
        "No NVIDIA GPU is visible: the instance type has none, or the NVIDIA driver is not loaded (nvidia-smi "
        "missing or failing).",
        "Use a GPU instance type (p4d, p5, g5, g6e) and an AMI with the NVIDIA driver (a Deep Learning AMI); run "
        "nvidia-smi on the node.",
    ),
    "pingpong_refused": (
        "The client could not open fi_pingpong's control connection to {server} port {port}: the server did not "
        "start, or the security group does not let the nodes reach each other.",
        "Read the server's output in the details; the cluster's security group needs the self-referencing rule "
        "that allows ALL traffic (protocol -1, inbound and outbound, source the group itself), which the "
        "network role creates.",
    ),
    "pingpong_timeout": (
        "The control connection worked but the transfer hung or lost messages: the fabric traffic itself is "
        "blocked. EFA's SRD traffic is not TCP, so a security group that allows only TCP between the nodes "
        "passes the control connection and drops the data.",
        "Give the security group a self-referencing rule for ALL traffic (protocol -1) inbound and outbound, and "
        "launch both nodes in the same subnet and the cluster placement group.",
    ),
    "pingpong_provider": (
        "fi_pingpong found no usable {provider} endpoint (fi_getinfo failed): wrong provider or FI_PROVIDER, or "
        "no EFA device on one of the nodes.",
        "Run fi_info -p {provider} on both nodes; unset FI_PROVIDER; fix the EFA device checks first.",
    ),
    "pingpong_server": (
        "fi_pingpong did not run on the server node {server}.",
        "Read the server's error in the details (fi_pingpong missing: apply nixl_efa.cluster.efa; port {port} in "
        "use: set validation_pingpong_port).",
    ),
    "pingpong": (
        "fi_pingpong between the nodes failed.",
        "Read the client's and the server's output in the details; run the pair by hand with -v.",
    ),
    "nixl_missing": (
        "NIXL is not installed on {node} (no nixl_efa_nixl fact).",
        "Apply nixl_efa.cluster.nixl to every node.",
    ),
    "nixl_metadata": (
        "The NIXL agents did not exchange metadata over TCP ({target} port {port}): the target did not listen, or "
        "the security group blocks the port between the nodes.",
        "Read the target's error in the details; allow all traffic within the cluster's security group; pick a "
        "free port with validation_nixl_port.",
    ),
    "nixl_port": (
        "The NIXL target could not listen on {target} port {port}: another socket on that node holds the port "
        "(another program's listener, or an outgoing connection given that port from the node's ephemeral range).",
        "The details name the sockets on the port. Set validation_nixl_port to a port that nothing on the node uses, "
        "below the ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default).",
    ),
    "nixl_transfer": (
        "The NIXL WRITE did not complete with backend {backend}: the fabric path between the nodes is broken (for "
        "LIBFABRIC on EFA, the causes of a failing fi_pingpong: security group without the all-traffic rule, no "
        "EFA device, wrong FI_PROVIDER).",
        "Make fi_pingpong pass first; then check the nixl_efa_nixl fact and the nixl environment file "
        "(LD_LIBRARY_PATH must put /opt/amazon/efa/lib first for LIBFABRIC).",
    ),
    "nixl_mismatch": (
        "The bytes the target received differ from those the initiator wrote.",
        "A transfer that completes with wrong data is a NIXL or provider bug: keep this report (it has the "
        "versions) and try the other backend (validation_nixl_backend).",
    ),
    "nixl": (
        "The NIXL transfer script failed.",
        "Read the error and the traceback in the details; run the script by hand in the NIXL venv.",
    ),
    "nccl_missing": (
        "{node} has GPUs but no nixl_efa_nccl fact: the nccl role was not applied.",
        "Apply nixl_efa.cluster.nccl to every node.",
    ),
    "nccl_torchrun": (
        "torchrun (PyTorch) was not found on {node}.",
        "Set validation_torchrun to the torchrun of an environment with CUDA PyTorch (the vllm role's venv, or "
        "/opt/pytorch/bin/torchrun on a Deep Learning AMI).",
    ),
    "nccl_rendezvous": (
        "The torchrun processes did not meet at the c10d rendezvous on {master} port {port}: the port is blocked "
        "between the nodes, or a node did not start.",
        "Allow all traffic within the cluster's security group; pick a free port with validation_nccl_port; read "
        "each node's output in the details.",
    ),
    "nccl_net": (
        "NCCL could not set up its network transport: the aws-ofi-nccl plugin is missing or does not find the "
        "efa provider (FI_PROVIDER, LD_LIBRARY_PATH), or the security group drops the EFA traffic.",
        "Source the nccl role's environment file, run again with NCCL_DEBUG=INFO (validation_nccl_env) and look "
        "for NET/OFI lines; fix the EFA checks first.",
    ),
    "nccl": (
        "The NCCL all_reduce failed.",
        "Read each node's output in the details; run again with NCCL_DEBUG=INFO in validation_nccl_env.",
    ),
    "mlflow_missing": (
        "{node} is in group mlflow but has no nixl_efa_mlflow fact: the mlflow role was not applied.",
        "Apply nixl_efa.cluster.mlflow to the mlflow group, or set validation_mlflow_url.",
    ),
    "mlflow_unreachable": (
        "The MLflow server at {url} did not answer from {node}: the service is not running, or port {port} is not "
        "open between the nodes.",
        "On the MLflow node: systemctl status nixl-efa-mlflow, journalctl -u nixl-efa-mlflow; the security group "
        "must allow the MLflow port from the cluster's own group (the network role's rule).",
    ),
    "mlflow_forbidden": (
        "MLflow refused the request (HTTP {status}): its host-header or CORS protection does not accept {url}.",
        "Add the address to mlflow_allowed_hosts of the mlflow role and restart the server.",
    ),
    "mlflow_mismatch": (
        "The run read on {node} does not hold what {writer} wrote.",
        "Several MLflow servers behind one address, or a backend store that lost the write: check the server's "
        "backend store and its log.",
    ),
    "mlflow_artifacts": (
        "The run's params and metrics were logged, but the tracking server at {url} did not take the report's "
        "plots as the run's artifacts: it does not serve artifacts (mlflow server --serve-artifacts), or its "
        "artifact destination refused the write (on AWS the cluster bucket's mlflow-artifacts/ prefix, written "
        "with the MLflow node's instance role).",
        "On the MLflow node: journalctl -u nixl-efa-mlflow for the PUT's error; check mlflow_artifacts_destination "
        "of the mlflow role and, on AWS, the iam_s3 role's grant on mlflow-artifacts/*. The plots are also beside "
        "the report on the controller.",
    ),
    "mlflow": (
        "The MLflow write or read failed.",
        "Read the error in the details; try the REST API by hand: curl {url}/api/2.0/mlflow/experiments/search.",
    ),
    "vllm": (
        "A vLLM endpoint did not answer as it should (a service down or still loading the model, or the proxy "
        "cannot reach them), or decode did not pull the prompt's KV blocks from prefill through NIXL (a failed "
        "transfer recomputed under kv_load_failure_policy recompute, a handshake that timed out, a prompt shorter "
        "than a KV block), or its text differs from the single server's.",
        "journalctl -u 'nixl-efa-vllm-*' on the nodes ('Finished recving KV transfer' on decode, 'NIXL' errors); "
        "curl the decode server's /metrics for vllm:nixl_*; the security group must allow the vLLM and side-channel "
        "ports inside the VPC.",
    ),
}


class _Context(dict):
    def __missing__(self, key):
        return "?"


def hint(kind, **context):
    """{cause, fix} for a failure kind (falls back to the kind's family: pingpong_x -> pingpong)."""
    cause, fix = HINTS.get(kind) or HINTS.get(kind.split("_")[0], ("", ""))
    context = _Context({k: v for k, v in context.items() if v is not None})
    return {"cause": cause.format_map(context), "fix": fix.format_map(context)}
