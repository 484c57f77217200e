#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""The lab's one entry point: its local AWS (moto plus the stand-ins beside this file), its node
image and node containers, the Docker engine they run on. The Makefile's lab targets call it.

    lab/labctl.py up      the local AWS (moto_lab.py) in the background on 127.0.0.1:PORT, pid and log in
                          DIR; with a node image every instance is a container of it (lab_nodes.py), with a
                          wheelhouse each container mounts it; prints the `export ...` line of AWS variables
    lab/labctl.py down    stops it, then removes its node containers (label nixl-efa.lab=PORT)
    lab/labctl.py status  whether it runs (exit 0, and the `export ...` line) or not (exit 3)
    lab/labctl.py env     the AWS variables that point a client at it, as NAME=value words
    lab/labctl.py engine  makes sure a Docker engine answers (docker_engine.sh)
    lab/labctl.py browser makes sure a headless Chromium is installed, prints its path (browser.sh)
    lab/labctl.py image   the node image's name, built first when missing (node_image.sh)
    lab/labctl.py nodes up PREFIX N | nodes down PREFIX
                          node containers without an instance: PREFIX-0 .. PREFIX-(N-1), for trying a role by hand
    lab/labctl.py scheduler fire [--as-of TIME] | scheduler invocations
                          run the EventBridge Scheduler schedules due as of TIME (ISO 8601, default now), or list
                          every invocation the lab recorded (lab_scheduler.py; lab-only endpoints)

Every option has the environment variable the Makefile has always read as its default: LAB_PORT
(5055), LAB_DIR (.lab/<port> in the repository), LAB_NODE_IMAGE, LAB_WHEELHOUSE, LAB_WAIT (60 s).
LAB_THROTTLE_SHARE (0 to 1) in the environment throttles that share of the lab's API calls.
The lab's server runs on the Python that runs this script (the project's virtual environment).

Lab tooling under lab/, never shipped.
"""

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import lab_nodes  # noqa: E402

SERVER = HERE / "moto_lab.py"
DOCKER_ENGINE = HERE / "docker_engine.sh"
BROWSER = HERE / "browser.sh"
NODE_IMAGE = HERE / "node_image.sh"
DEFAULT_PORT = 5055
DEFAULT_WAIT = 60
# Exit status of `status` when the lab does not run (as an init script's status says "not running").
NOT_RUNNING = 3


class Lab:
    """One lab: its port, and the directory that holds its pid file, log and node image."""

    def __init__(self, port, directory=None):
        self.port = int(port)
        self.dir = pathlib.Path(directory) if directory else default_dir(self.port)
        self.pid_file = self.dir / "moto.pid"
        self.log = self.dir / "moto.log"
        self.image_file = self.dir / "node-image"
        self.url = f"http://127.0.0.1:{self.port}"

    def aws_vars(self):
        """What points every AWS client at the lab."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def env_words(self):
        return " ".join(f"{name}={value}" for name, value in self.aws_vars().items())

    def recorded_pid(self):
        """The pid in the pid file, or None (no file, empty, not a number)."""
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def running_pid(self):
        """The pid file's pid when it names a running lab server; None when there is none, or the pid is
        stale (that process ended, or the pid now belongs to another program)."""
        pid = self.recorded_pid()
        if pid is not None and is_lab_server(pid):
            return pid
        return None

    def recorded_image(self):
        try:
            return self.image_file.read_text().strip()
        except OSError:
            return ""

    def answers(self):
        """True when an HTTP server answers moto's API path on the lab's URL."""
        try:
            urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2)  # noqa: S310 (loopback only)
            return True
        except OSError:
            return False


def default_dir(port):
    """.lab/<port> in the repository: relative when the working directory is the repository (make's), else absolute."""
    path = ROOT / ".lab" / str(port)
    return path.relative_to(ROOT) if pathlib.Path.cwd().resolve() == ROOT else path


def process_args(pid):
    """The command line of process `pid` ("" when there is none, or it is a zombie)."""
    proc = pathlib.Path(f"/proc/{pid}")
    if pathlib.Path("/proc/self").exists():
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return ""
            return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError):
            return ""
    result = subprocess.run(["ps", "-p", str(pid), "-o", "args="], capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def is_lab_server(pid):
    return SERVER.name in process_args(pid)


def alive(pid):
    return bool(process_args(pid))


def docker(*args):
    """docker's result, or None without a docker command."""
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=120)
    except FileNotFoundError:
        return None


def server_environ(lab, node_image, wheelhouse, environ=None):
    """The lab server's environment: this one, plus what the stand-ins read."""
    env = dict(os.environ if environ is None else environ)
    env.update(
        MOTO_IAM_LOAD_MANAGED_POLICIES="true",
        LAB_NODE_IMAGE=node_image,
        LAB_WHEELHOUSE=wheelhouse,
        LAB_NAME=str(lab.port),
    )
    return env


def up(lab, node_image="", wheelhouse="", wait=DEFAULT_WAIT, out=print):
    lab.dir.mkdir(parents=True, exist_ok=True)
    pid = lab.running_pid()
    if pid is not None:
        if lab.recorded_image() != node_image:
            out(f"The lab is running with node image '{lab.recorded_image()}', not '{node_image}': make lab-down first")
            return 1
        out(f"The lab is already running (pid {pid}, log {lab.log})")
    elif lab.answers():
        out(f"Something else already answers on {lab.url}; choose another LAB_PORT")
        return 1
    else:
        with open(lab.log, "w") as log:
            server = subprocess.Popen(
                [sys.executable, str(SERVER), "-H", "127.0.0.1", "-p", str(lab.port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=server_environ(lab, node_image, wheelhouse), start_new_session=True,
            )  # fmt: skip
        lab.pid_file.write_text(f"{server.pid}\n")
        deadline = time.monotonic() + wait
        while not lab.answers():
            if server.poll() is not None or time.monotonic() >= deadline:
                out(f"The lab did not come up (it exited, or did not answer within {wait} s); {lab.log}:")
                out("\n".join(lab.log.read_text(errors="replace").splitlines()[-20:]))
                if server.poll() is None:
                    server.terminate()
                lab.pid_file.unlink(missing_ok=True)
                return 1
            time.sleep(0.2)
        lab.image_file.write_text(f"{node_image}\n")
        out(f"The lab is up (pid {server.pid}, log {lab.log}{'' if node_image else ', without node containers'})")
    out(f"export {lab.env_words()}")
    return 0


def down(lab, out=print, tries=100, interval=0.2):
    pid = lab.running_pid()
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        for _attempt in range(tries):
            if not alive(pid):
                break
            time.sleep(interval)
        if alive(pid):
            out(f"The lab (pid {pid}) did not stop")
            return 1
        out(f"The lab (pid {pid}) is stopped")
    else:
        out("The lab is not running")
    lab.pid_file.unlink(missing_ok=True)
    lab.image_file.unlink(missing_ok=True)
    listed = docker("ps", "-aq", "--filter", f"label={lab_nodes.LABEL}={lab.port}")
    ids = listed.stdout.split() if listed is not None and listed.returncode == 0 else []
    if ids:
        removed = docker("rm", "-f", *ids)
        if removed is None or removed.returncode != 0:
            out(f"Could not remove the lab's node containers: {removed.stderr.strip() if removed else 'no docker'}")
            return 1
        out("Removed the lab's node containers")
    return 0


def status(lab, out=print):
    pid = lab.running_pid()
    if pid is not None:
        image = lab.recorded_image()
        nodes_text = f"node image {image}" if image else "no node containers"
        out(f"The lab is running (pid {pid}, log {lab.log}, {nodes_text})")
        out(f"export {lab.env_words()}")
        return 0
    stale = lab.recorded_pid()
    why = f" (stale pid file {lab.pid_file}: pid {stale} is not the lab)" if stale is not None else ""
    if lab.answers():
        why += f"; something else answers on {lab.url}"
    out(f"The lab is not running{why}")
    return NOT_RUNNING


def nodes(action, prefix, count=None, node_image="", out=print):
    if action == "up":
        image = node_image or node_image_name()
        for name, state in lab_nodes.up(prefix, count, image).items():
            out(f"{name}: {state or 'unknown'}")
    else:
        lab_nodes.down(prefix)
        out(f"removed {prefix}-*")
    return 0


def scheduler(lab, action, as_of=None, out=print):
    """POST /lab/scheduler/fire (as of `as_of`) or GET /lab/scheduler/invocations; print the JSON answer."""
    if action == "fire":
        body = json.dumps({"as_of": as_of} if as_of else {}).encode()
        request = urllib.request.Request(f"{lab.url}/lab/scheduler/fire", data=body, method="POST")
    else:
        request = urllib.request.Request(f"{lab.url}/lab/scheduler/invocations")
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 (loopback only)
            out(json.dumps(json.loads(answer.read()), indent=2))
    except OSError as e:
        out(f"The lab on {lab.url} did not answer: {e}")
        return 1
    return 0


def node_image_name():
    return subprocess.run([str(NODE_IMAGE)], stdout=subprocess.PIPE, text=True, check=True).stdout.strip()


def parser():
    environ = os.environ
    top = argparse.ArgumentParser(prog="lab/labctl.py", description=__doc__.split("\n\n", maxsplit=1)[0])
    commands = top.add_subparsers(dest="command", required=True)

    def lab_options(sub):
        sub.add_argument("--port", type=int, default=int(environ.get("LAB_PORT") or DEFAULT_PORT),
                         help="the local AWS's port on 127.0.0.1 (LAB_PORT, 5055)")  # fmt: skip
        sub.add_argument("--dir", default=environ.get("LAB_DIR") or None,
                         help="its pid file, log and node image (LAB_DIR, .lab/<port>)")  # fmt: skip
        return sub

    start = lab_options(commands.add_parser("up", help="start the lab's local AWS in the background"))
    start.add_argument("--node-image", default=environ.get("LAB_NODE_IMAGE", ""),
                       help="each instance a container of this image (LAB_NODE_IMAGE; none: records only)")  # fmt: skip
    start.add_argument("--wheelhouse", default=environ.get("LAB_WHEELHOUSE", ""),
                       help="mounted read-only into each node container (LAB_WHEELHOUSE)")  # fmt: skip
    start.add_argument("--wait", type=float, default=float(environ.get("LAB_WAIT") or DEFAULT_WAIT),
                       help="seconds it may take to answer (LAB_WAIT, 60)")  # fmt: skip
    lab_options(commands.add_parser("down", help="stop it and remove its node containers"))
    lab_options(commands.add_parser("status", help=f"running: exit 0; not running: exit {NOT_RUNNING}"))
    lab_options(commands.add_parser("env", help="the AWS variables that point a client at the lab"))
    commands.add_parser("engine", help="make sure a Docker engine answers (docker_engine.sh)")
    commands.add_parser("browser", help="make sure a headless Chromium is installed; its path (browser.sh)")
    commands.add_parser("image", help="the node image's name, built when missing (node_image.sh)")
    node = commands.add_parser("nodes", help="node containers without an instance")
    node_actions = node.add_subparsers(dest="action", required=True)
    node_up = node_actions.add_parser("up", help="start PREFIX-0 .. PREFIX-(N-1), wait until systemd runs")
    node_up.add_argument("prefix")
    node_up.add_argument("count", type=int, metavar="N")
    node_up.add_argument("--image", default="", help="the node image (default: node_image.sh's)")
    node_down = node_actions.add_parser("down", help="remove every container named PREFIX-*")
    node_down.add_argument("prefix")
    schedules = commands.add_parser("scheduler", help="the lab's EventBridge Scheduler (lab-only endpoints)")
    schedule_actions = schedules.add_subparsers(dest="action", required=True)
    fire = lab_options(schedule_actions.add_parser("fire", help="run the schedules due as of --as-of (default now)"))
    fire.add_argument("--as-of", default=None, help="ISO 8601 time, such as 2026-12-08T19:41:00Z")
    lab_options(schedule_actions.add_parser("invocations", help="every invocation recorded"))
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    if args.command in ("up", "down", "status", "env"):
        lab = Lab(args.port, args.dir)
        if args.command == "up":
            wait = int(args.wait) if float(args.wait).is_integer() else args.wait
            return up(lab, args.node_image, args.wheelhouse, wait)
        if args.command == "down":
            return down(lab)
        if args.command == "status":
            return status(lab)
        print(lab.env_words())
        return 0
    if args.command == "engine":
        return subprocess.call([str(DOCKER_ENGINE)])
    if args.command == "browser":
        return subprocess.call([str(BROWSER)])
    if args.command == "image":
        return subprocess.call([str(NODE_IMAGE)])
    if args.command == "scheduler":
        return scheduler(Lab(args.port, args.dir), args.action, getattr(args, "as_of", None))
    if args.action == "up":
        if args.count < 1:
            parser().error("nodes up: N must be at least 1")
        return nodes("up", args.prefix, args.count, args.image)
    return nodes("down", args.prefix)


if __name__ == "__main__":
    sys.exit(main())
