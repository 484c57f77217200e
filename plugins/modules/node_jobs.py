#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: node_jobs
version_added: 0.2.0
short_description: Start, run and collect jobs on a node in one task, every wait on the node
description:
  - Runs on a node and does O(steps) in order, in one invocation. A V(start) step starts a background
    job, detached from the task (its own session and process group, under a small supervisor process
    that enforces its O(steps[].timeout) and writes its exit status, output and times under the run
    directory). A V(run) step runs a job in the foreground and waits for it, trying it again on the node
    while its exit status is in O(steps[].retry_rc). A V(collect) step waits, on the node, for a background
    job started by an earlier step of this or an earlier task of the same O(run_id), and stops it when
    it is still running at its deadline, saying so.
  - One task instead of an C(async) start, a task retried with C(until) and C(async_status) polls, each of
    which is a Session Manager session over C(amazon.aws.aws_ssm). The validation role runs each node's part
    of the checks between nodes (fi_pingpong, NIXL, NCCL, the MLflow write, vLLM) as one C(node_jobs) task
    on every node at once.
  - The run directory, C(<base_dir>/<run_id>), is private (a directory of the module's user with mode
    C(0700), created so; an existing one with another owner, other permissions or a link fails the task).
    A job's stdin is written there (mode C(0600)) and removed as soon as the job has it open; its stdout and
    stderr are read back from there. A job's files go when it has been collected (or, for a V(run) step,
    when it ended); the run directory goes once no job started in it is left to collect.
  - A job stopped at a deadline (its own O(steps[].timeout), or a collect's) gets exit status 124 when
    SIGTERM to its process group sufficed and 137 when SIGKILL was needed O(kill_grace) seconds later, as
    C(timeout) reports it; RV(jobs.timed_out) or RV(jobs.killed) says which deadline it was. A job that
    fails never fails the task; its result says what happened. The task fails only on invalid steps or a
    run directory it will not use.
  - Python standard library only (Python 3.8 and later on the node); it needs no AWS credentials.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  run_id:
    description:
      - Names the run directory, C(<base_dir>/<run_id>), where a V(collect) step finds the jobs started with
        the same O(run_id). Letters, digits, C(_), C(-) and C(.), starting with a letter or digit. The
        controller picks it (the validation role takes its report's time stamp and the host's name).
    type: str
    required: true
  base_dir:
    description:
      - Where the run directories are made; created with mode C(0700) when missing. The default is on a
        tmpfs on systemd nodes, emptied at boot, and writable by root only (use C(become)).
    type: path
    default: /run/nixl-efa-jobs
  steps:
    description:
      - What to do, in order. Names of V(start) and V(run) steps are unique within a task.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The job's name, the key of its result in RV(jobs) and what a V(collect) step refers to. Letters,
            digits, C(_), C(-) and C(.), starting with a letter or digit.
        type: str
        required: true
      action:
        description:
          - V(start) a background job and go on at once; V(run) a job and wait for it; V(collect) the background
            job of that O(steps[].name), waiting for it at most O(steps[].timeout) seconds.
        type: str
        choices: [start, run, collect]
        default: run
      argv:
        description:
          - The command as a list (no shell); the first word is looked up in the C(PATH) of the job's environment.
          - Exactly one of O(steps[].argv) and O(steps[].cmd) for V(start) and V(run).
          - Never put a secret here or in O(steps[].cmd) or O(steps[].env); any user of the node can read a
            process's command line, and they appear in the task's result. Secrets go in O(steps[].stdin).
        type: list
        elements: str
      cmd:
        description:
          - The command as a shell command line, run as C(<executable> -c <cmd>).
        type: str
      executable:
        description: The shell of O(steps[].cmd).
        type: path
        default: /bin/sh
      stdin:
        description:
          - Text the job reads on its standard input (written as is, no newline added); without it the job
            reads C(/dev/null).
          - The place for a job's secrets (a script's preamble, credentials); the option is C(no_log), so it
            is not shown in the task's invocation, and the file that holds it is removed as soon as the job
            has it open.
        type: str
      env:
        description: Variables added to the module's environment for this job (values as strings).
        type: dict
        default: {}
      timeout:
        description:
          - For V(start) and V(run), the most seconds the job may run, a V(run) step's tries and delays
            included; then its process group is stopped (SIGTERM, then SIGKILL after O(kill_grace)
            seconds). For V(collect), the most seconds to wait for the job to end before stopping it the same
            way; V(0) only looks. Over C(amazon.aws.aws_ssm) give the task an C(ansible_aws_ssm_timeout) above
            the sum of its steps' timeouts.
        type: int
        default: 60
      retry_rc:
        description:
          - For V(run), exit statuses that mean "try again" (such as 111, connection refused, while a partner's
            server is not listening yet). The result is the last try's.
        type: list
        elements: int
        default: []
      retries:
        description: For V(run), how many more times to try while the exit status is in O(steps[].retry_rc).
        type: int
        default: 0
      delay:
        description: For V(run), seconds between two tries.
        type: float
        default: 1
  kill_grace:
    description: Seconds between SIGTERM and SIGKILL when a job is stopped at a deadline.
    type: int
    default: 5
  output_limit:
    description: The most bytes of each job's stdout and of its stderr returned; longer output keeps its end.
    type: int
    default: 1048576
attributes:
  check_mode:
    support: partial
    details:
      - In check mode nothing is started, run or collected and no directory is made; each step's job is
        returned with RV(jobs.skipped) true and RV(jobs.msg) saying so. The validation role's checks then
        report that they did not run, never that they passed.
  diff_mode:
    support: none
    details: The module changes nothing it could show a difference of; it always returns C(changed=false).
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
notes:
  - The module reports C(changed=false) whatever the jobs do, being made for checks. Only its own run
    directory is created and removed.
  - Every job of one task must be able to finish within the task's connection deadline; over
    C(amazon.aws.aws_ssm) raise C(ansible_aws_ssm_timeout) on the task.
  - A module process that gets SIGTERM, SIGHUP or SIGINT while a V(run) step's job runs stops that job's
    process group and fails. Background jobs run on until their own O(steps[].timeout).
seealso:
  - module: ansible.builtin.command
  - module: ansible.builtin.async_status
  - module: nixl_efa.cluster.service_node_info
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
"""

EXAMPLES = r"""
- name: A server in the background, a client against it (tried again while refused), then the server's output
  nixl_efa.cluster.node_jobs:
    run_id: "check-{{ inventory_hostname }}"
    steps:
      - name: server
        action: start
        argv: [fi_pingpong, -p, tcp, -B, "28592"]
        env: {FI_TCP_IFACE: lo}
        timeout: 75
      - name: client
        argv: [fi_pingpong, -p, tcp, -P, "28592", "127.0.0.1"]
        env: {FI_TCP_IFACE: lo}
        retry_rc: [111]
        retries: 30
        delay: 1
        timeout: 105
      - name: server
        action: collect
        timeout: 75
  vars:
    ansible_aws_ssm_timeout: 300
  become: true
  register: pingpong

- name: A script on stdin that carries a credential (stdin is no_log)
  nixl_efa.cluster.node_jobs:
    run_id: "mlflow-{{ inventory_hostname }}"
    steps:
      - name: write
        argv: [/usr/bin/python3, "-", --url, "http://10.0.1.23:5000"]
        stdin: |
          import os
          os.environ["MLFLOW_TRACKING_PASSWORD"] = "{{ mlflow_password }}"
          {{ lookup('ansible.builtin.file', 'write_run.py') }}
        timeout: 120
  become: true
  register: mlflow_write

- name: Start a job in one task ...
  nixl_efa.cluster.node_jobs:
    run_id: soak-1
    steps:
      - {name: soak, action: start, cmd: "exec stress-ng --cpu 4 --timeout 300", timeout: 330}
  become: true

- name: ... and collect it in a later one, waiting on the node
  nixl_efa.cluster.node_jobs:
    run_id: soak-1
    steps:
      - {name: soak, action: collect, timeout: 360}
  vars:
    ansible_aws_ssm_timeout: 420
  become: true
  register: soak
"""

RETURN = r"""
run_id:
  description: The O(run_id).
  returned: always
  type: str
  sample: validation-20261206T131425Z-i-0123456789abcdef0
run_dir:
  description: The run directory.
  returned: always
  type: str
  sample: /run/nixl-efa-jobs/validation-20261206T131425Z-i-0123456789abcdef0
removed:
  description: Whether the run directory was removed (no job started in it is left to collect).
  returned: always
  type: bool
  sample: true
seconds:
  description: Seconds the steps took on the node.
  returned: always
  type: float
  sample: 12.8
jobs:
  description:
    - Per job name, its result after the last step that named it (a V(start) followed by a V(collect) gives
      the collected result). Every key is present whatever happened.
  returned: always
  type: dict
  contains:
    name:
      description: The job's name.
      type: str
      sample: pingpong_client
    action:
      description: The last step that named it, V(start), V(run) or V(collect).
      type: str
      sample: collect
    cmd:
      description: Its O(steps[].argv) or O(steps[].cmd); null for a collect of a job that was never started.
      type: raw
      sample: [fi_pingpong, -p, tcp, -P, "28592", 127.0.1.1]
    started:
      description: Whether its process was started.
      type: bool
      sample: true
    pid:
      description: Its process id, which is also its process group's; null when it did not start.
      type: int
      sample: 4242
    finished:
      description: Whether it ended and its exit status came back (false for a job only started so far).
      type: bool
      sample: true
    rc:
      description:
        - Its exit status; 124 or 137 when stopped at a deadline; negative (minus the signal number) when a
          signal it did not get from this module ended it; null when it did not start or did not end.
      type: int
      sample: 0
    stdout:
      description: Its standard output (the last O(output_limit) bytes).
      type: str
      sample: "bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec\n"
    stderr:
      description: Its standard error (the last O(output_limit) bytes).
      type: str
      sample: ""
    truncated:
      description: Whether its stdout or stderr was longer than O(output_limit).
      type: bool
      sample: false
    start:
      description: When it (its first try) started, local time on the node.
      type: str
      sample: "2026-12-06 13:14:27.502113"
    end:
      description: When it ended.
      type: str
      sample: "2026-12-06 13:14:29.118230"
    delta:
      description: How long it ran, as C(H:MM:SS.ffffff).
      type: str
      sample: "0:00:01.616117"
    seconds:
      description: How long it ran, in seconds.
      type: float
      sample: 1.616
    attempts:
      description: How many times it was started (tries of a V(run) step).
      type: int
      sample: 1
    timed_out:
      description: Whether its own O(steps[].timeout) stopped it.
      type: bool
      sample: false
    killed:
      description: Whether a V(collect) step stopped it at its deadline.
      type: bool
      sample: false
    skipped:
      description: True in check mode, where nothing runs.
      type: bool
      sample: false
    msg:
      description:
        - Empty, or what happened to it (could not start, stopped at a deadline and how, not run in check mode).
      type: str
      sample: "stopped after its timeout of 75 s (SIGTERM)"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_jobs

STEP_OPTIONS = dict(
    name=dict(type="str", required=True),
    action=dict(type="str", choices=list(node_jobs.ACTIONS), default="run"),
    argv=dict(type="list", elements="str"),
    cmd=dict(type="str"),
    executable=dict(type="path", default="/bin/sh"),
    stdin=dict(type="str", no_log=True),
    env=dict(type="dict", default={}),
    timeout=dict(type="int", default=60),
    retry_rc=dict(type="list", elements="int", default=[]),
    retries=dict(type="int", default=0),
    delay=dict(type="float", default=1),
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            run_id=dict(type="str", required=True),
            base_dir=dict(type="path", default=node_jobs.DEFAULT_BASE_DIR),
            steps=dict(
                type="list",
                elements="dict",
                required=True,
                options=STEP_OPTIONS,
                mutually_exclusive=[("argv", "cmd")],
            ),
            kill_grace=dict(type="int", default=node_jobs.KILL_GRACE),
            output_limit=dict(type="int", default=node_jobs.OUTPUT_LIMIT),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = node_jobs.run_steps(
            params["steps"],
            params["run_id"],
            base_dir=params["base_dir"],
            grace=params["kill_grace"],
            limit=params["output_limit"],
            check_mode=module.check_mode,
        )
    except node_jobs.JobsError as e:
        module.fail_json(msg=str(e))
    except node_jobs.Interrupted as e:
        module.fail_json(msg=f"node_jobs was stopped: {e}")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
