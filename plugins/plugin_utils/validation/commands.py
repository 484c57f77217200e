# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The command lines the validation role runs on the nodes: fi_pingpong, the NIXL script, torchrun, the
HTTP script's MLflow write and vLLM check.

Pure functions of the settings (validation__settings), the plan's entry for a node and the run's time
stamp. Every value that reaches a shell is quoted with shlex.quote; credentials never appear here
(the HTTP checks take theirs on stdin).
"""

import json
import re
import shlex


def _int(settings, name, default):
    value = settings.get(name)
    return int(value) if value not in (None, "") else default


def run_seed(stamp):
    """The NIXL buffer pattern's seed: the digits of the report's time stamp (20261206T131425Z)."""
    digits = re.sub(r"[^0-9]", "", str(stamp or ""))
    return int(digits) if digits else 0


def ring_port(settings, name, position=0, default=0):
    """The port of a server at this position of the ring: validation_<name> + validation_port_stride x position.

    The default stride, 0, gives every node's server the same port, as on AWS, where each node has its own
    network stack (and the cluster's security group allows all traffic between its members, whatever the
    port). The lab's nodes share the host's network stack (host networking, one loopback address each), so
    there each node's servers need ports of their own: its inventory sets a stride.
    """
    return _int(settings, name, default) + _int(settings, "port_stride", 0) * int(position)


def pingpong_argv(settings, role, server_ip="", position=0):
    """fi_pingpong's argv under `timeout`: the server binds the port (-B), the client connects (-P) to server_ip;
    position: the server's place in the ring (its port, see ring_port)."""
    if role not in ("server", "client"):
        raise ValueError(f"fi_pingpong role must be server or client, not {role!r}")
    argv = [
        "timeout",
        "-k",
        "5",
        str(_int(settings, "pingpong_timeout", 60)),
        "fi_pingpong",
        "-p",
        str(settings.get("fabric_provider") or "efa"),
        "-e",
        str(settings.get("pingpong_endpoint") or "rdm"),
        "-I",
        str(_int(settings, "pingpong_iterations", 1000)),
    ]
    sizes = str(settings.get("pingpong_sizes") or "")
    if sizes:
        argv += ["-S", sizes]
    argv += ["-B" if role == "server" else "-P", str(ring_port(settings, "pingpong_port", position, 47592))]
    if role == "client":
        argv.append(str(server_ip))
    return argv


def _source_env_file(env_file):
    """Shell text that exports the variables of env_file when it is readable ("" without one)."""
    if not env_file:
        return ""
    quoted = shlex.quote(str(env_file))
    return f"if [ -r {quoted} ]; then set -a; . {quoted}; set +a; fi; "


def nixl_tcp_port(settings, position=0):
    """The target's port for the plain TCP copy: the one after its NIXL port (0: none above 65535).

    Between the nodes the cluster's security group allows all traffic from itself, so it is open wherever
    the NIXL port is; on the nodes it must be free (the target names what holds it otherwise).
    """
    port = ring_port(settings, "nixl_port", position, 47594)
    return port + 1 if port < 65535 else 0


def nixl_command(settings, node, backend, stamp, role, target_ip="", position=0):
    """The NIXL script's command line (bash, the script on stdin): the nixl role's environment file,
    then its venv's Python. node: the plan's NIXL entry for the node (python, module, env_file);
    position: the target's place in the ring (its ports, see ring_port)."""
    if role not in ("target", "initiator"):
        raise ValueError(f"NIXL role must be target or initiator, not {role!r}")
    words = [
        "exec",
        shlex.quote(str(node.get("python") or "python3")),
        "-",
        "--module",
        shlex.quote(str(node.get("module") or "nixl_cu12")),
        "--backend",
        shlex.quote(str(backend or "")),
        "--port",
        str(ring_port(settings, "nixl_port", position, 47594)),
        "--tcp-port",
        str(nixl_tcp_port(settings, position)),
        "--size-mib",
        str(_int(settings, "nixl_size_mib", 64)),
        "--iterations",
        str(_int(settings, "nixl_iterations", 10)),
        "--timeout",
        str(_int(settings, "nixl_timeout", 120)),
        "--seed",
        str(run_seed(stamp)),
        "--role",
        role,
    ]
    if role == "initiator":
        words += ["--ip", shlex.quote(str(target_ip))]
    return _source_env_file(node.get("env_file")) + " ".join(words)


def nccl_command(settings, node, master_ip, nnodes, is_master, local_addr, stamp):
    """torchrun's command line on one node (bash, the script on stdin).

    The nccl role's environment file, one process per GPU (node["procs"]), c10d rendezvous on the first
    node, which hosts the store (said explicitly: torchrun's own guess compares the address with the
    host's names), every node known by its private address (not its host name, which the others may
    not resolve), the script read from stdin into $script.
    """
    words = [
        "script=$(cat);",
        "exec timeout -k 10",
        str(_int(settings, "nccl_timeout", 300)),
        shlex.quote(str(node.get("torchrun") or "torchrun")),
        f"--nnodes={int(nnodes)}",
        f"--nproc-per-node={int(node.get('procs') or 1)}",
        "--rdzv-backend=c10d",
        "--rdzv-endpoint=" + shlex.quote(f"{master_ip}:{_int(settings, 'nccl_port', 29511)}"),
        "--rdzv-id=" + shlex.quote(f"nixl-efa-{stamp}"),
        "--max-restarts=0",
        f"--rdzv-conf=is_host={'true' if is_master else 'false'}",
        "--local-addr=" + shlex.quote(str(local_addr)),
        "--no-python",
        shlex.quote(str(node.get("python") or "python3")),
        '-c "$script"',
        "--size-mib",
        str(_int(settings, "nccl_size_mib", 256)),
        "--min-size-mib",
        str(_int(settings, "nccl_min_size_mib", 0)),
        "--iterations",
        str(_int(settings, "nccl_iterations", 20)),
        "--backend",
        shlex.quote(str(settings.get("nccl_backend") or "nccl")),
    ]
    return _source_env_file(node.get("env_file")) + " ".join(words)


def mlflow_write_argv(python, timeout, url, experiment, run_name, params, metrics, tags):
    """The HTTP script's MLflow write (files/validation_http.py on stdin, credentials in its preamble)."""
    return [
        str(python),
        "-",
        "--timeout",
        str(int(timeout)),
        "mlflow-write",
        "--url",
        str(url),
        "--experiment",
        str(experiment),
        "--run-name",
        str(run_name),
        "--params-json",
        json.dumps(params),
        "--metrics-json",
        json.dumps(metrics),
        "--tags-json",
        json.dumps(tags),
    ]


def vllm_argv(python, timeout, vllm, prompt, max_tokens, single):
    """The HTTP script's vLLM check: the plan's vllm entry (urls, model, the single server and its unit)."""
    return [
        str(python),
        "-",
        "--timeout",
        str(int(timeout)),
        "vllm",
        "--prefill",
        str(vllm.get("prefill_url") or ""),
        "--decode",
        str(vllm.get("decode_url") or ""),
        "--proxy",
        str(vllm.get("proxy_url") or ""),
        "--model",
        str(vllm.get("model") or ""),
        "--prompt",
        str(prompt),
        "--max-tokens",
        str(int(max_tokens)),
        "--single",
        str(vllm.get("single_url") or "") if single else "",
        "--single-unit",
        str(vllm.get("single_unit") or "") if single else "",
    ]
