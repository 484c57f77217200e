# -*- coding: utf-8 -*-
"""The logic behind node_jobs with real processes on this machine: foreground runs (stdin, environment,
tries again on an exit status, timeouts that stop the whole process group), background jobs started
detached and collected in the same call or a later one, the collect's deadline, the private run
directory, check mode, and a stop signal while a job runs.
"""

import json
import os
import signal
import stat
import sys
import threading
import time

import pytest

from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_jobs as nj

PY = sys.executable


def steps_run(tmp_path, steps, run_id="run-1", **kwargs):
    return nj.run_steps(steps, run_id, base_dir=str(tmp_path / "jobs"), **kwargs)


def gone(pid, wait=5.0):
    """Whether pid is no longer a live process (a zombie counts as gone), within wait seconds."""
    until = time.monotonic() + wait
    while time.monotonic() < until:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


# --- run -----------------------------------------------------------------------------------


def test_run_feeds_stdin_and_environment_and_returns_everything(tmp_path):
    code = "import os, sys; print(sys.stdin.read().upper(), os.environ['JOB_WORD'], os.getcwd()); sys.exit(3)"
    out = steps_run(
        tmp_path, [{"name": "one", "argv": [PY, "-c", code], "stdin": "secret text", "env": {"JOB_WORD": 7}}]
    )
    job = out["jobs"]["one"]
    assert job["rc"] == 3 and job["finished"] and job["started"] and job["attempts"] == 1
    words = job["stdout"].split()
    assert words[:4] == ["SECRET", "TEXT", "7", out["run_dir"]]
    assert job["action"] == "run" and job["cmd"] == [PY, "-c", code]
    assert not job["timed_out"] and not job["killed"] and not job["skipped"] and job["msg"] == ""
    assert job["seconds"] >= 0 and job["start"] <= job["end"] and job["delta"].startswith("0:00:")
    # Nothing is left on disk, the stdin with its secret least of all.
    assert out["removed"] and not os.path.exists(out["run_dir"])


def test_run_through_a_shell(tmp_path):
    out = steps_run(tmp_path, [{"name": "sh", "cmd": "echo $((6 * 7)); echo oops >&2", "executable": "/bin/sh"}])
    job = out["jobs"]["sh"]
    assert (job["rc"], job["stdout"], job["stderr"]) == (0, "42\n", "oops\n")
    assert job["cmd"] == "echo $((6 * 7)); echo oops >&2"


def test_run_tries_again_on_the_given_exit_status(tmp_path):
    counter = tmp_path / "count"
    script = (
        f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; echo try $n; "
        "[ $n -ge 3 ] || exit 111"
    )
    step = {"name": "client", "cmd": script, "retry_rc": [111], "retries": 5, "delay": 0.05, "timeout": 30}
    job = steps_run(tmp_path, [step])["jobs"]["client"]
    assert (job["rc"], job["attempts"], job["stdout"]) == (0, 3, "try 3\n")


def test_run_gives_up_after_its_retries_or_on_another_status(tmp_path):
    step = {"name": "c", "cmd": "exit 111", "retry_rc": [111], "retries": 2, "delay": 0, "timeout": 30}
    assert steps_run(tmp_path, [step])["jobs"]["c"]["attempts"] == 3
    step = dict(step, cmd="exit 1", name="d")
    job = steps_run(tmp_path, [step], run_id="run-2")["jobs"]["d"]
    assert (job["rc"], job["attempts"]) == (1, 1)


def test_run_retries_stay_within_the_timeout(tmp_path):
    step = {"name": "c", "cmd": "exit 111", "retry_rc": [111], "retries": 1000, "delay": 0.3, "timeout": 1}
    begin = time.monotonic()
    job = steps_run(tmp_path, [step])["jobs"]["c"]
    assert time.monotonic() - begin < 3
    assert job["rc"] == 111 and 2 <= job["attempts"] <= 4 and not job["timed_out"]


def test_run_timeout_stops_the_whole_process_group(tmp_path):
    pids = tmp_path / "pids"
    # A shell with a child in the background: both must go at the deadline.
    step = {"name": "slow", "cmd": f"sleep 60 & echo $! > {pids}; echo $$ >> {pids}; wait", "timeout": 1}
    begin = time.monotonic()
    job = steps_run(tmp_path, [step], grace=2)["jobs"]["slow"]
    assert time.monotonic() - begin < 5
    assert (job["rc"], job["timed_out"], job["finished"]) == (124, True, True)
    assert job["msg"] == "stopped after its timeout of 1 s (SIGTERM)"
    assert all(gone(int(pid)) for pid in pids.read_text().split())


def test_run_that_ignores_sigterm_is_killed_after_the_grace(tmp_path):
    step = {"name": "stubborn", "cmd": "trap '' TERM; sleep 60", "timeout": 1}
    begin = time.monotonic()
    job = steps_run(tmp_path, [step], grace=1)["jobs"]["stubborn"]
    assert time.monotonic() - begin < 6
    assert (job["rc"], job["timed_out"]) == (137, True)
    assert "SIGKILL, 1 s after SIGTERM" in job["msg"]


def test_run_that_cannot_start_says_why(tmp_path):
    job = steps_run(tmp_path, [{"name": "none", "argv": [str(tmp_path / "no-such-program")]}])["jobs"]["none"]
    assert job["rc"] is None and not job["started"] and not job["finished"]
    assert job["msg"].startswith("cannot start: [Errno 2]")


def test_long_output_keeps_its_end(tmp_path):
    step = {"name": "talk", "argv": [PY, "-c", "print('a' * 5000 + 'END')"]}
    job = steps_run(tmp_path, [step], limit=1000)["jobs"]["talk"]
    assert job["truncated"] and len(job["stdout"]) == 1000 and job["stdout"].endswith("END\n")


def test_a_stop_signal_stops_the_running_job_and_is_reported(tmp_path):
    pid_file = tmp_path / "pid"
    step = {"name": "long", "cmd": f"echo $$ > {pid_file}; exec sleep 60", "timeout": 60}
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM)
    timer.start()
    try:
        with pytest.raises(nj.Interrupted, match="while job long ran"):
            steps_run(tmp_path, [step], grace=1)
    finally:
        timer.cancel()
    assert signal.getsignal(signal.SIGTERM) == previous
    assert gone(int(pid_file.read_text()))


# --- start and collect ---------------------------------------------------------------------


def test_start_then_collect_in_one_call(tmp_path):
    code = "import sys, time; data = sys.stdin.read(); time.sleep(0.5); print(data[::-1]); sys.exit(4)"
    out = steps_run(
        tmp_path,
        [
            {"name": "server", "action": "start", "argv": [PY, "-c", code], "stdin": "olleh", "timeout": 30},
            {"name": "client", "cmd": "echo client"},
            {"name": "server", "action": "collect", "timeout": 30},
        ],
    )
    server = out["jobs"]["server"]
    assert server["action"] == "collect" and server["started"] and server["finished"]
    assert (server["rc"], server["stdout"], server["attempts"]) == (4, "hello\n", 1)
    assert isinstance(server["pid"], int) and server["seconds"] >= 0.5
    assert out["jobs"]["client"]["stdout"] == "client\n"
    assert out["removed"] and not os.path.exists(out["run_dir"])


def test_a_background_job_is_detached_and_collected_by_a_later_call(tmp_path):
    marker = tmp_path / "go"
    script = f"while [ ! -e {marker} ]; do sleep 0.05; done; cat; echo done"
    first = steps_run(
        tmp_path, [{"name": "bg", "action": "start", "cmd": script, "stdin": "the secret\n", "timeout": 30}]
    )
    job = first["jobs"]["bg"]
    assert job["started"] and not job["finished"] and job["rc"] is None
    # Its own session and process group, not the caller's; its stdin file is gone once it has it open.
    assert os.getsid(job["pid"]) == job["pid"] != os.getsid(0)
    assert os.getpgid(job["pid"]) == job["pid"]
    assert not first["removed"] and nj.uncollected(first["run_dir"]) == ["bg"]
    assert not os.path.exists(os.path.join(first["run_dir"], "bg.in"))
    assert stat.S_IMODE(os.stat(first["run_dir"]).st_mode) == 0o700
    marker.touch()
    second = steps_run(tmp_path, [{"name": "bg", "action": "collect", "timeout": 30}])
    job = second["jobs"]["bg"]
    assert (job["rc"], job["stdout"], job["finished"]) == (0, "the secret\ndone\n", True)
    assert second["removed"] and not os.path.exists(second["run_dir"])


def test_a_background_job_stops_at_its_own_timeout(tmp_path):
    out = steps_run(
        tmp_path,
        [
            {"name": "bg", "action": "start", "argv": ["sleep", "60"], "timeout": 1},
            {"name": "bg", "action": "collect", "timeout": 30},
        ],
    )
    job = out["jobs"]["bg"]
    assert (job["rc"], job["timed_out"], job["killed"]) == (124, True, False)
    assert 1 <= job["seconds"] < 5


def test_collect_stops_a_job_still_running_at_its_deadline(tmp_path):
    begin = time.monotonic()
    out = steps_run(
        tmp_path,
        [
            {"name": "bg", "action": "start", "cmd": "echo started; exec sleep 60", "timeout": 120},
            {"name": "bg", "action": "collect", "timeout": 1},
        ],
        grace=1,
    )
    assert time.monotonic() - begin < 6
    job = out["jobs"]["bg"]
    assert (job["rc"], job["killed"], job["timed_out"], job["finished"]) == (124, True, False, True)
    assert job["msg"] == "still running at the collect's deadline of 1 s: stopped (SIGTERM); it ended on signal 15"
    assert job["stdout"] == "started\n"
    assert gone(job["pid"])
    assert out["removed"]


def test_collect_with_no_wait_only_looks(tmp_path):
    out = steps_run(
        tmp_path,
        [
            {"name": "bg", "action": "start", "argv": [PY, "-c", "print('quick')"], "timeout": 30},
            {"name": "wait", "argv": ["sleep", "0.5"]},
            {"name": "bg", "action": "collect", "timeout": 0},
        ],
    )
    job = out["jobs"]["bg"]
    assert (job["rc"], job["stdout"], job["killed"]) == (0, "quick\n", False)


def test_collect_of_a_job_never_started(tmp_path):
    out = steps_run(tmp_path, [{"name": "ghost", "action": "collect", "timeout": 5}])
    job = out["jobs"]["ghost"]
    assert not job["started"] and not job["finished"] and job["rc"] is None
    assert job["msg"].startswith("no job ghost was started in run directory")
    assert out["removed"]


def test_a_background_job_that_cannot_start(tmp_path):
    missing = str(tmp_path / "no-such-server")
    out = steps_run(
        tmp_path,
        [
            {"name": "bg", "action": "start", "argv": [missing]},
            {"name": "bg", "action": "collect", "timeout": 5},
        ],
    )
    job = out["jobs"]["bg"]
    assert not job["started"] and job["rc"] is None and not job["finished"]
    assert job["msg"].startswith("cannot start: [Errno 2]")


def test_the_same_job_cannot_be_started_twice_in_a_run(tmp_path):
    steps_run(tmp_path, [{"name": "bg", "action": "start", "argv": ["sleep", "5"], "timeout": 10}])
    with pytest.raises(nj.JobsError, match="already started"):
        steps_run(tmp_path, [{"name": "bg", "action": "start", "argv": ["true"]}])
    steps_run(tmp_path, [{"name": "bg", "action": "collect", "timeout": 0}])


# --- input, directories, check mode --------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"name": "../x", "argv": ["true"]}], "name must be"),
        ([{"name": "a", "action": "stop", "argv": ["true"]}], "action must be one of"),
        ([{"name": "a"}], "exactly one of argv"),
        ([{"name": "a", "argv": ["true"], "cmd": "true"}], "exactly one of argv"),
        ([{"name": "a", "argv": ["true"], "timeout": 0}], "timeout must be"),
        ([{"name": "a", "argv": ["true"], "retries": -1}], "must not be negative"),
        ([{"name": "a", "action": "start", "argv": ["true"], "retries": 2}], "retries are for run steps"),
        ([{"name": "a", "argv": ["true"]}, {"name": "a", "argv": ["true"]}], "already started or run"),
        ([{"name": "a", "action": "collect", "timeout": -1}], "must not be negative"),
    ],
)
def test_bad_steps_are_refused_before_anything_runs(tmp_path, steps, message):
    with pytest.raises(nj.JobsError, match=message):
        steps_run(tmp_path, steps)
    assert not (tmp_path / "jobs").exists()


def test_bad_run_id_is_refused(tmp_path):
    with pytest.raises(nj.JobsError, match="run_id must be"):
        steps_run(tmp_path, [{"name": "a", "argv": ["true"]}], run_id="../etc")


@pytest.mark.parametrize("problem", ["open", "link"])
def test_a_base_directory_others_could_enter_or_a_link_is_refused(tmp_path, problem):
    base = tmp_path / "jobs"
    if problem == "open":
        base.mkdir(mode=0o755)
        base.chmod(0o755)
    else:
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        base.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(nj.JobsError, match="refusing to use it"):
        steps_run(tmp_path, [{"name": "a", "argv": ["true"]}])


def test_directories_are_made_private(tmp_path):
    out = steps_run(tmp_path, [{"name": "bg", "action": "start", "argv": ["sleep", "5"], "timeout": 10}])
    for path in (tmp_path / "jobs", out["run_dir"]):
        info = os.lstat(path)
        assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.geteuid()
    marker = os.path.join(out["run_dir"], "bg.job")
    assert stat.S_IMODE(os.stat(marker).st_mode) == 0o600
    steps_run(tmp_path, [{"name": "bg", "action": "collect", "timeout": 0}])


def test_check_mode_runs_nothing(tmp_path):
    touched = tmp_path / "touched"
    out = steps_run(
        tmp_path,
        [
            {"name": "bg", "action": "start", "argv": ["touch", str(touched)]},
            {"name": "fg", "argv": ["touch", str(touched)]},
            {"name": "bg", "action": "collect", "timeout": 5},
        ],
        check_mode=True,
    )
    assert not touched.exists() and not (tmp_path / "jobs").exists()
    assert {name: (j["skipped"], j["msg"]) for name, j in out["jobs"].items()} == {
        "bg": (True, "not run in check mode"),
        "fg": (True, "not run in check mode"),
    }
    assert out["jobs"]["fg"]["rc"] is None and not out["removed"]


def test_grace_and_limit_are_checked(tmp_path):
    with pytest.raises(nj.JobsError, match="kill_grace"):
        steps_run(tmp_path, [{"name": "a", "argv": ["true"]}], grace=-1)


def test_a_job_whose_supervisor_died_is_reported_and_stopped(tmp_path):
    out = steps_run(tmp_path, [{"name": "bg", "action": "start", "argv": ["sleep", "60"], "timeout": 120}])
    run_dir, pid = out["run_dir"], out["jobs"]["bg"]["pid"]
    with open(os.path.join(run_dir, "bg.pid")) as handle:
        supervisor = json.load(handle)["supervisor"]
    os.kill(supervisor, signal.SIGKILL)
    assert gone(supervisor)
    job = steps_run(tmp_path, [{"name": "bg", "action": "collect", "timeout": 30}])["jobs"]["bg"]
    assert not job["finished"] and job["rc"] is None
    assert job["msg"] == "its supervisor ended without writing a result"
    assert gone(pid)
