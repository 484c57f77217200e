# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Jobs on a node within one task: background jobs started detached, foreground jobs run one after
another, background jobs collected; every wait and every deadline is kept on the node.

Behind the node_jobs module. Over Session Manager each task costs seconds, so a check between nodes
that used to be an async start, a client task with `until` tries and async_status polls becomes one
task: the node waits for its partners itself, each job with its own timeout.

A run directory (<base_dir>/<run_id>, private to the user, mode 0700) holds, per job, its stdin
(removed once the job has it), stdout and stderr, and for a background job the markers a later
collect reads: <name>.job (started, not collected yet), <name>.pid (the job's process group and its
supervisor) and <name>.result (rc and times, written when it ended). A background job runs under a
small supervisor process of its own (double fork, setsid), which enforces the job's timeout and
writes the result, so the job outlives the module's process and the task. Collecting a job removes
its files; the run directory goes once no started job is left uncollected in it.

A job stopped at a deadline (its own timeout, or a collect's) gets rc 124 when SIGTERM to its process
group sufficed and 137 when SIGKILL was needed, as timeout(1) reports it. Python standard library only
(3.8 and later): this runs on the node.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import time

DEFAULT_BASE_DIR = "/run/nixl-efa-jobs"
ACTIONS = ("start", "run", "collect")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
KILL_GRACE = 5
OUTPUT_LIMIT = 1024 * 1024
# Seconds between two looks at a background job while collecting it (on the node: no round trip).
POLL_SECONDS = 0.1
# Seconds a start waits for the supervisor to say that the job runs (or why it could not start).
START_WAIT = 10
RC_TERMINATED = 124
RC_KILLED = 137
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
# A step's options when not given (the module's documented defaults).
STEP_DEFAULTS = {
    "action": "run",
    "executable": "/bin/sh",
    "env": {},
    "timeout": 60,
    "retry_rc": [],
    "retries": 0,
    "delay": 1.0,
}
SUFFIXES = ("job", "pid", "result", "in", "out", "err")


class JobsError(Exception):
    """Bad steps, or a run directory this module will not use."""


class Interrupted(Exception):
    """The module's process got a stop signal while a foreground job ran (the job was stopped)."""

    def __init__(self, signum, name):
        super().__init__(f"signal {signum} while job {name} ran; the job was stopped")
        self.signum = signum


# --- checks of the input -------------------------------------------------------------------


def check_steps(steps):
    """Raise JobsError naming the first problem of steps (names, actions, commands, timeouts, retries)."""
    seen = set()
    for index, step in enumerate(steps):
        name = step.get("name") or ""
        where = f"steps[{index}] ({name or 'no name'})"
        if not NAME.match(name):
            raise JobsError(f"{where}: name must be letters, digits, '_', '-' or '.', starting with a letter or digit")
        action = step.get("action") or "run"
        if action not in ACTIONS:
            raise JobsError(f"{where}: action must be one of {', '.join(ACTIONS)}, not {action!r}")
        if action == "collect":
            continue
        if name in seen:
            raise JobsError(f"{where}: a job of that name is already started or run in these steps")
        seen.add(name)
        if bool(step.get("argv")) == bool(step.get("cmd")):
            raise JobsError(f"{where}: give exactly one of argv (a non-empty list) and cmd")
        if int(step.get("timeout") or 0) <= 0:
            raise JobsError(f"{where}: timeout must be a number of seconds above 0")
        if int(step.get("retries") or 0) < 0 or float(step.get("delay") or 0) < 0:
            raise JobsError(f"{where}: retries and delay must not be negative")
        if action == "start" and step.get("retries"):
            raise JobsError(f"{where}: retries are for run steps; a background job runs once")
    for index, step in enumerate(steps):
        if (step.get("action") or "run") == "collect" and int(step.get("timeout") or 0) < 0:
            raise JobsError(f"steps[{index}] ({step.get('name')}): a collect's timeout must not be negative")


def _private_dir(path, create):
    """Make sure path is a directory of this user that nobody else may enter (0700 when created)."""
    if create and not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent and not os.path.isdir(parent):
            os.makedirs(parent, mode=0o755, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise JobsError(f"{path} does not exist")
    if not stat.S_ISDIR(info.st_mode):
        raise JobsError(f"{path} is not a directory (a link or a file): refusing to use it")
    if info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise JobsError(
            f"{path} must be a directory of uid {os.geteuid()} with mode 0700 "
            f"(it has uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):04o}): refusing to use it"
        )
    return path


def run_dir_of(base_dir, run_id):
    if not NAME.match(run_id or ""):
        raise JobsError("run_id must be letters, digits, '_', '-' or '.', starting with a letter or digit")
    return os.path.join(base_dir, run_id)


def open_run_dir(base_dir, run_id, create=True):
    """The run directory, private (created with its base when create)."""
    path = run_dir_of(base_dir, run_id)
    _private_dir(base_dir, create)
    if create or os.path.lexists(path):
        _private_dir(path, create)
    return path


def job_paths(run_dir, name):
    return {suffix: os.path.join(run_dir, f"{name}.{suffix}") for suffix in SUFFIXES}


# --- small helpers -------------------------------------------------------------------------


def _now():
    return datetime.datetime.now()


def _stamp(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _write_private(path, text, replace=False):
    """Write text to a new file of mode 0600 (atomically over an old one when replace)."""
    target = path + ".tmp" if replace else path
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    if replace:
        os.replace(target, path)


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _tail(path, limit):
    """(text, truncated): the file's last `limit` bytes as text; ("", False) when it is missing."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(size - limit, 0))
            data = handle.read()
    except OSError:
        return "", False
    return data.decode("utf-8", "replace"), size > limit


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid):
    """Whether pid is a running process (a zombie no one has reaped yet is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def ended(rc):
    """How a process ended, from subprocess's returncode (negative: the signal that ended it)."""
    if rc is None:
        return "no exit status came back"
    return f"it ended on signal {-rc}" if rc < 0 else f"it exited {rc}"


def command_of(step):
    """What runs: argv, or the shell (executable) with -c cmd."""
    if step.get("argv"):
        return [str(word) for word in step["argv"]]
    return [str(step.get("executable") or "/bin/sh"), "-c", str(step["cmd"])]


def environment_of(step):
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in (step.get("env") or {}).items()})
    return env


def record(name, action, step=None, **values):
    """A job's result, every key present whatever happened."""
    out = {
        "name": name,
        "action": action,
        "cmd": (step.get("argv") or step.get("cmd")) if step else None,
        "started": False,
        "pid": None,
        "finished": False,
        "rc": None,
        "stdout": "",
        "stderr": "",
        "truncated": False,
        "start": None,
        "end": None,
        "delta": None,
        "seconds": None,
        "attempts": 0,
        "timed_out": False,
        "killed": False,
        "skipped": False,
        "msg": "",
    }
    out.update(values)
    return out


def _times(start, end):
    return {
        "start": _stamp(start),
        "end": _stamp(end),
        "delta": str(end - start),
        "seconds": round((end - start).total_seconds(), 3),
    }


# --- one execution -------------------------------------------------------------------------


def _stop(proc, grace):
    """Stop proc's process group: SIGTERM, then SIGKILL after grace seconds. 124 or 137 (timeout(1)'s codes)."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
        code = RC_TERMINATED
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        code = RC_KILLED
    # Whatever is left of its group (children that ignored SIGTERM).
    _signal_group(proc.pid, signal.SIGKILL)
    return code


def execute(step, paths, cwd, deadline, grace, on_started=None):
    """Run the step's command once, in a process group of its own, until it ends or the deadline
    (time.monotonic()) passes. stdin from paths["in"] when it exists, stdout and stderr into
    paths["out"] and paths["err"]. on_started(pid) is called once it runs.

    Returns {rc, timed_out, msg, start, end, delta, seconds}; rc None when it could not start.
    """
    start = _now()
    stdin = open(paths["in"], "rb") if os.path.exists(paths["in"]) else subprocess.DEVNULL  # noqa: SIM115
    try:
        with open(paths["out"], "wb") as out, open(paths["err"], "wb") as err:
            try:
                # Not AnsibleModule.run_command: a job needs a process group of its own (to stop it and its
                # children at a deadline), its output in files, and, in the background, to outlive the module.
                proc = subprocess.Popen(  # pylint: disable=ansible-bad-function
                    command_of(step),
                    stdin=stdin,
                    stdout=out,
                    stderr=err,
                    cwd=cwd,
                    env=environment_of(step),
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError as e:
                return dict(rc=None, timed_out=False, msg=f"cannot start: {e}", **_times(start, _now()))
    finally:
        if stdin is not subprocess.DEVNULL:
            stdin.close()
    timed_out = False
    msg = ""
    try:
        if on_started:
            on_started(proc.pid)
        rc = proc.wait(timeout=max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        rc = _stop(proc, grace)
        timed_out = True
        how = "SIGTERM" if rc == RC_TERMINATED else f"SIGKILL, {grace} s after SIGTERM"
        msg = f"stopped after its timeout of {step['timeout']} s ({how})"
    except BaseException:
        _stop(proc, grace)
        raise
    return dict(rc=rc, timed_out=timed_out, msg=msg, **_times(start, _now()))


def _outputs(paths, limit):
    stdout, cut_out = _tail(paths["out"], limit)
    stderr, cut_err = _tail(paths["err"], limit)
    return {"stdout": stdout, "stderr": stderr, "truncated": cut_out or cut_err}


# --- run: a foreground job -----------------------------------------------------------------


def run_job(step, run_dir, grace=KILL_GRACE, limit=OUTPUT_LIMIT):
    """Run a job in the foreground; again after `delay` seconds while its rc is in retry_rc, at most
    `retries` more times, all within its `timeout`. The last attempt's outputs are returned."""
    name = step["name"]
    paths = job_paths(run_dir, name)
    for path in paths.values():
        _remove(path)
    if step.get("stdin") is not None:
        _write_private(paths["in"], step["stdin"])
    timeout = int(step["timeout"])
    deadline = time.monotonic() + timeout
    retry_rc = {int(rc) for rc in step.get("retry_rc") or []}
    retries = int(step.get("retries") or 0)
    delay = float(step.get("delay") if step.get("delay") is not None else 1)
    attempts = 0
    first_start = None
    pids = []

    def interrupted(signum, _frame):
        raise Interrupted(signum, name)

    previous = {signum: signal.signal(signum, interrupted) for signum in STOP_SIGNALS}
    try:
        while True:
            attempts += 1
            result = execute(step, paths, run_dir, deadline, grace, on_started=pids.append)
            first_start = first_start or result["start"]
            again = (
                result["rc"] in retry_rc
                and attempts <= retries
                and time.monotonic() + delay < deadline
                and not result["timed_out"]
            )
            if not again:
                break
            time.sleep(delay)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _remove(paths["in"])
    outputs = _outputs(paths, limit)
    for path in paths.values():
        _remove(path)
    start = datetime.datetime.strptime(first_start, "%Y-%m-%d %H:%M:%S.%f")
    end = datetime.datetime.strptime(result["end"], "%Y-%m-%d %H:%M:%S.%f")
    return record(
        name,
        "run",
        step,
        started=bool(pids),
        pid=pids[-1] if pids else None,
        finished=result["rc"] is not None,
        rc=result["rc"],
        attempts=attempts,
        timed_out=result["timed_out"],
        msg=result["msg"],
        **outputs,
        **_times(start, end),
    )


# --- start: a background job ---------------------------------------------------------------


def _close_inherited(keep):
    """Close every descriptor above 2 but keep (those the module's process had open)."""
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        fds = range(3, min(os.sysconf("SC_OPEN_MAX"), 65536))
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _supervise(step, paths, run_dir, grace, status_fd):
    """The supervisor (grandchild of the module's process, a session of its own): run the job to its
    end or its timeout, tell the module through status_fd that it runs, write its result. Never returns."""
    try:
        for signum in (signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_IGN)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        _close_inherited(status_fd)
        os.chdir(run_dir)
        told = []

        def started(pid):
            told.append(pid)
            _write_private(paths["pid"], json.dumps({"pid": pid, "supervisor": os.getpid()}))
            # The job has its stdin open: nothing secret stays on disk.
            _remove(paths["in"])
            _say(status_fd, {"pid": pid})

        deadline = time.monotonic() + int(step["timeout"])
        result = execute(step, paths, run_dir, deadline, grace, on_started=started)
        if not told:
            _remove(paths["in"])
            _say(status_fd, {"error": result["msg"]})
        _write_private(paths["result"], json.dumps(result), replace=True)
    finally:
        os._exit(0)


def _say(fd, message):
    """Tell the module (waiting in start_job) how the start went; it may be gone already."""
    try:
        os.write(fd, json.dumps(message).encode())
        os.close(fd)
    except OSError:
        pass


def _read_status(fd, wait):
    """What the supervisor said on the pipe (until it closed it, or `wait` seconds), as a dict."""
    chunks = []
    deadline = time.monotonic() + wait
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready = select.select([fd], [], [], remaining)[0]
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(fd)
    try:
        value = json.loads(b"".join(chunks).decode() or "{}")
    except ValueError:
        value = {}
    return value if isinstance(value, dict) else {}


def start_job(step, run_dir, grace=KILL_GRACE):
    """Start a background job under a detached supervisor; return once it runs (or could not start)."""
    name = step["name"]
    paths = job_paths(run_dir, name)
    if os.path.lexists(paths["job"]) or os.path.lexists(paths["result"]):
        raise JobsError(f"job {name} was already started in run directory {run_dir}")
    for suffix in ("pid", "in", "out", "err"):
        _remove(paths[suffix])
    start = _now()
    _write_private(
        paths["job"],
        json.dumps({"name": name, "cmd": step.get("argv") or step.get("cmd"), "timeout": step["timeout"]}),
    )
    if step.get("stdin") is not None:
        _write_private(paths["in"], step["stdin"])
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the forked child; the tests see what the supervisor writes)
        code = 1
        try:
            os.close(read_fd)
            os.setsid()
            if os.fork() == 0:
                _supervise(step, paths, run_dir, grace, write_fd)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    os.waitpid(child, 0)
    status = _read_status(read_fd, START_WAIT)
    if status.get("pid"):
        return record(name, "start", step, started=True, pid=status["pid"], start=_stamp(start))
    why = status.get("error") or f"the supervisor did not say within {START_WAIT} s that the job runs"
    return record(name, "start", step, start=_stamp(start), msg=why)


# --- collect: a background job started earlier --------------------------------------------


def collect_job(name, timeout, run_dir, grace=KILL_GRACE, limit=OUTPUT_LIMIT):
    """Wait up to timeout seconds for a background job to end; stop it at that deadline and say so.
    Returns its result and removes its files."""
    paths = job_paths(run_dir, name)
    job = _read_json(paths["job"])
    if job is None:
        return record(name, "collect", msg=f"no job {name} was started in run directory {run_dir}")
    step = {"argv": job.get("cmd")} if isinstance(job.get("cmd"), list) else {"cmd": job.get("cmd")}
    deadline = time.monotonic() + max(int(timeout), 0)
    gone = False
    while not os.path.exists(paths["result"]) and time.monotonic() < deadline:
        ids = _read_json(paths["pid"]) or {}
        if ids.get("supervisor") and not _alive(ids["supervisor"]):
            # It may have written the result just before it went.
            gone = not os.path.exists(paths["result"])
            break
        time.sleep(POLL_SECONDS)
    killed = None
    if not os.path.exists(paths["result"]) and not gone:
        killed = _stop_background(paths, grace)
    elif gone and (_read_json(paths["pid"]) or {}).get("pid"):
        # Nothing enforces its timeout any more: whatever is left of its process group goes.
        _signal_group(_read_json(paths["pid"])["pid"], signal.SIGKILL)
    result = _read_json(paths["result"])
    ids = _read_json(paths["pid"]) or {}
    outputs = _outputs(paths, limit)
    for path in paths.values():
        _remove(path)
    if result is None:
        why = "its supervisor ended without writing a result" if gone else "no result came back after it was stopped"
        return record(name, "collect", step, started=True, killed=bool(killed), msg=why, **outputs)
    values = {k: result.get(k) for k in ("rc", "start", "end", "delta", "seconds", "timed_out", "msg")}
    values["timed_out"] = bool(values["timed_out"])
    values["msg"] = values["msg"] or ""
    if killed:
        how = "SIGTERM" if killed == RC_TERMINATED else f"SIGKILL, {grace} s after SIGTERM"
        values["msg"] = (
            f"still running at the collect's deadline of {int(timeout)} s: stopped ({how}); {ended(values['rc'])}"
        )
        values["rc"] = killed
    return record(
        name,
        "collect",
        step,
        started=bool(ids.get("pid")),
        pid=ids.get("pid"),
        finished=values["rc"] is not None,
        killed=bool(killed),
        attempts=1 if values["rc"] is not None else 0,
        **outputs,
        **values,
    )


def _stop_background(paths, grace):
    """Stop a background job still running: its process group, SIGTERM then SIGKILL; 124 or 137."""
    ids = _read_json(paths["pid"]) or {}
    pgid = ids.get("pid")
    if not pgid:
        return None
    for signum, code in ((signal.SIGTERM, RC_TERMINATED), (signal.SIGKILL, RC_KILLED)):
        _signal_group(pgid, signum)
        # The supervisor writes the result as soon as the job ends.
        until = time.monotonic() + grace + 2
        while time.monotonic() < until:
            if os.path.exists(paths["result"]):
                return code
            if ids.get("supervisor") and not _alive(ids["supervisor"]):
                return code
            time.sleep(POLL_SECONDS)
    return RC_KILLED


# --- the steps -----------------------------------------------------------------------------


def uncollected(run_dir):
    """Names of the jobs started in run_dir and not collected yet."""
    try:
        entries = os.listdir(run_dir)
    except OSError:
        return []
    return sorted(entry[: -len(".job")] for entry in entries if entry.endswith(".job"))


def run_steps(steps, run_id, base_dir=DEFAULT_BASE_DIR, grace=KILL_GRACE, limit=OUTPUT_LIMIT, check_mode=False):
    """Do steps in order. Returns {run_id, run_dir, removed, jobs: {name: result}, seconds}.

    In check mode nothing is started, run or collected: each job's result says skipped.
    """
    steps = [dict(STEP_DEFAULTS, **{k: v for k, v in step.items() if v is not None}) for step in steps]
    check_steps(steps)
    if grace < 0 or limit <= 0:
        raise JobsError("kill_grace must not be negative and output_limit must be above 0")
    begin = time.monotonic()
    run_dir = run_dir_of(base_dir, run_id)
    jobs = {}
    if check_mode:
        for step in steps:
            jobs[step["name"]] = record(
                step["name"], step.get("action") or "run", step, skipped=True, msg="not run in check mode"
            )
        return {"run_id": run_id, "run_dir": run_dir, "removed": False, "jobs": jobs, "seconds": 0.0}
    open_run_dir(base_dir, run_id, create=True)
    for step in steps:
        name = step["name"]
        action = step.get("action") or "run"
        if action == "start":
            jobs[name] = start_job(step, run_dir, grace)
        elif action == "run":
            jobs[name] = run_job(step, run_dir, grace, limit)
        else:
            result = collect_job(name, int(step.get("timeout") or 0), run_dir, grace, limit)
            started = jobs.get(name)
            if started and started.get("pid") and not result.get("pid"):
                result["pid"] = started["pid"]
            jobs[name] = result
    removed = False
    if not uncollected(run_dir):
        shutil.rmtree(run_dir, ignore_errors=True)
        removed = not os.path.lexists(run_dir)
    return {
        "run_id": run_id,
        "run_dir": run_dir,
        "removed": removed,
        "jobs": jobs,
        "seconds": round(time.monotonic() - begin, 3),
    }
