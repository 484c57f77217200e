# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Each node's part of the checks between nodes as the steps of one nixl_efa.cluster.node_jobs task,
and that task's result handed back in the shape the report reads.

Every node runs its task at the same time (the play needs forks >= the nodes taking part), and waits
for its partners on the node: a client tries again while refused, an initiator waits for its target's
listener, torchrun's rendezvous waits for every node. The steps keep the checks apart, in this order
on every node:

1. fi_pingpong: start the server (when this node serves), run the client (when it connects to the
   previous node's server, again while refused), collect the server (it ends when its client is done);
2. NIXL: start the target, run the initiator (it waits for the next node's target to listen), collect
   the target (it ends after its initiator's last transfer and its check of the bytes);
3. NCCL: torchrun (every node's rendezvous meets);
4. the MLflow write (the writer), then the vLLM check (the runner).

With two nodes a node waits for its partner's part of one check before its own part of the next, so
no two checks overlap; with three or more, a node starts the next check once its own pairs are done,
while pairs elsewhere in the ring may still finish the previous one.
"""

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import mlflow_write_argv
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import vllm_argv
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import as_dict

# fi_pingpong's client tries again while refused (rc 111: the server on the previous node is not
# listening yet, its task having started a moment later), once a second, on the node.
PINGPONG_CONNECT_TRIES = 30
# node_jobs' kill_grace and the seconds a start may wait for its supervisor: part of the task's bound.
KILL_GRACE = 5
START_SECONDS = 10
# Seconds above each program's own timeout before node_jobs stops it (it normally stops itself).
MARGIN = 60


def _int(settings, name, default):
    value = settings.get(name)
    return int(value) if value not in (None, "") else default


def _running(plan, name):
    entry = as_dict(plan.get(name))
    return entry if entry.get("status") == "run" else {}


def node_jobs(plan, host, inputs):
    """This node's steps for its node_jobs task, and the most seconds they may take.

    plan: validation_plan's answer; host: the node; inputs: settings (validation__settings), python,
    shell, fabric_env, nixl_env, nccl_env, scripts {nixl, nccl, http} (the texts sent on stdin; http
    carries the credentials), cluster, entry, run_name, mlflow_experiment, mlflow_timeout, vllm_prompt,
    vllm_max_tokens, vllm_single, vllm_timeout.

    Returns {steps: [...], seconds: int}: seconds bounds the task on the node (each run's and collect's
    timeout, with the grace to stop it), for the connection's deadline.
    """
    plan = as_dict(plan)
    inputs = as_dict(inputs)
    settings = as_dict(inputs.get("settings"))
    scripts = as_dict(inputs.get("scripts"))
    shell = inputs.get("shell") or "/bin/bash"
    steps = []

    pp = _running(plan, "pingpong")
    pp_node = as_dict(as_dict(pp.get("node")).get(host))
    pp_timeout = _int(settings, "pingpong_timeout", 60)
    fabric_env = as_dict(inputs.get("fabric_env"))
    if pp_node.get("server_argv"):
        # fi_pingpong ends itself (timeout -k 5 <pingpong_timeout> in its argv): node_jobs' is a backstop.
        steps.append(
            _step("pingpong_server", "start", argv=pp_node["server_argv"], env=fabric_env, timeout=pp_timeout + 15)
        )
    if pp_node.get("client_argv"):
        steps.append(
            _step(
                "pingpong_client",
                "run",
                argv=pp_node["client_argv"],
                env=fabric_env,
                timeout=pp_timeout + 15 + PINGPONG_CONNECT_TRIES,
                retry_rc=[111],
                retries=PINGPONG_CONNECT_TRIES,
                delay=1,
            )
        )
    if pp_node.get("server_argv"):
        steps.append(_step("pingpong_server", "collect", timeout=pp_timeout + 15))

    nx = _running(plan, "nixl")
    nx_node = as_dict(as_dict(nx.get("node")).get(host))
    nx_timeout = _int(settings, "nixl_timeout", 120) + MARGIN
    nixl = {"env": as_dict(inputs.get("nixl_env")), "stdin": scripts.get("nixl"), "executable": shell}
    if nx_node.get("target_cmd"):
        steps.append(_step("nixl_target", "start", cmd=nx_node["target_cmd"], timeout=nx_timeout, **nixl))
    if nx_node.get("initiator_cmd"):
        steps.append(_step("nixl_initiator", "run", cmd=nx_node["initiator_cmd"], timeout=nx_timeout, **nixl))
    if nx_node.get("target_cmd"):
        steps.append(_step("nixl_target", "collect", timeout=nx_timeout))

    nc_node = as_dict(as_dict(_running(plan, "nccl").get("node")).get(host))
    if nc_node.get("cmd"):
        steps.append(
            _step(
                "nccl",
                "run",
                cmd=nc_node["cmd"],
                executable=shell,
                stdin=scripts.get("nccl"),
                env=as_dict(inputs.get("nccl_env")),
                timeout=_int(settings, "nccl_timeout", 300) + MARGIN,
            )
        )

    ml = _running(plan, "mlflow")
    python = inputs.get("python") or "/usr/bin/python3"
    if ml and ml.get("writer") == host:
        cluster = inputs.get("cluster")
        timeout = int(inputs.get("mlflow_timeout") or 60)
        argv = mlflow_write_argv(
            python,
            timeout,
            ml.get("url"),
            inputs.get("mlflow_experiment"),
            inputs.get("run_name"),
            {"validation.cluster": cluster, "validation.writer": host},
            {"validation.written": 1},
            {"nixl-efa.cluster": cluster, "nixl-efa.validation": inputs.get("entry")},
        )
        steps.append(_step("mlflow_write", "run", argv=argv, stdin=scripts.get("http"), timeout=timeout + MARGIN))

    vl = _running(plan, "vllm")
    if vl and vl.get("runner") == host:
        timeout = int(inputs.get("vllm_timeout") or 300)
        argv = vllm_argv(
            python,
            timeout,
            vl,
            inputs.get("vllm_prompt"),
            inputs.get("vllm_max_tokens") or 16,
            inputs.get("vllm_single"),
        )
        steps.append(_step("vllm", "run", argv=argv, stdin=scripts.get("http"), timeout=timeout + MARGIN))

    seconds = sum(
        START_SECONDS if s["action"] == "start" else s["timeout"] + KILL_GRACE + (2 if s["action"] == "collect" else 0)
        for s in steps
    )
    return {"steps": steps, "seconds": seconds}


def _step(name, action, **options):
    step = {"name": name, "action": action}
    step.update({k: v for k, v in options.items() if v is not None})
    return step


def node_job_results(result, steps):
    """Per job of steps, its result from the node_jobs task's register, in the shape the checks read
    (rc, stdout, stderr, finished, msg, attempts).

    A job without a result (the task failed, timed out or returned none for it) gets {failed, msg}
    saying so, which the report never counts as passed; a skipped task (no steps here) gives {}.
    """
    result = as_dict(result)
    if result.get("skipped") and not result.get("jobs"):
        return {}
    jobs = as_dict(result.get("jobs"))
    why = result.get("msg") or "the node_jobs task returned no result for it"
    out = {}
    for step in steps or []:
        name = as_dict(step).get("name")
        if not name:
            continue
        job = jobs.get(name)
        out[name] = dict(job) if isinstance(job, dict) else {"failed": True, "rc": None, "msg": f"node_jobs: {why}"}
    return out
