"""NIXL transfer between two nodes, for the validation role.

Run as `PYTHON - ARGS < this file` with the Python of the NIXL venv, once as the target (started
first, in the background) and once as the initiator:

- target: creates an agent with NIXL's listener thread on --port, registers a DRAM buffer of
  --size-mib MiB, waits for the initiator's metadata, tells it where the buffer is (a JSON
  notification: address, length, device), waits until it has seen --iterations transfer
  notifications, then compares the buffer with the expected pattern (SHA-256 and byte count).
- initiator: fills a DRAM buffer with the pattern, waits until the target's listener accepts
  connections, copies the buffer into a fresh one with a plain memory copy (numpy.copyto)
  --iterations times as the yardstick (memcpy_gbps, timed like the transfers, while the target only
  waits), fetches the target's metadata from --ip:--port and sends its own (NIXL's peer-to-peer
  metadata exchange), and WRITEs the buffer into the target's --iterations times with --backend,
  timing each transfer; share_of_memcpy is the NIXL GB/s as a share of the memory copy's.

The pattern is pseudo-random bytes from --seed, so both sides know it without sending it. Each
side prints one JSON object on stdout; NIXL's and UCX's own output goes to stderr. A side that
waits longer than --timeout seconds for its peer stops and says what it was waiting for.

Needs numpy and the NIXL module (--module, e.g. nixl_cu12) in the running Python; Python 3.8+.
"""

import argparse
import hashlib
import importlib
import json
import os
import socket
import sys
import time
import traceback

TARGET = "nixl-efa-validation-target"
INITIATOR = "nixl-efa-validation-initiator"
TAG = b"nixl-efa-validation"
MIB = 1024 * 1024
BIND_RETRY_SECONDS = 65


class PortInUse(Exception):
    """The target's listener port is held by another socket on the node."""


class PeerTimeout(Exception):
    """The peer did not do its part before the deadline."""


def pattern(np, size, seed):
    """size pseudo-random bytes from seed, as a numpy uint8 array."""
    return np.frombuffer(np.random.default_rng(seed).bytes(size), dtype=np.uint8).copy()


def wait_for(condition, deadline, what):
    """Poll condition() until it returns a true value; PeerTimeout at the deadline."""
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise PeerTimeout("timed out waiting for " + what)
        time.sleep(0.001)


def port_open(host, port):
    """Whether a TCP connection to host:port is accepted (closed again at once)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        time.sleep(0.2)
        return False


# TCP states as /proc/net/tcp writes them (include/net/tcp_states.h).
TCP_STATES = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
    "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
}  # fmt: skip


def port_holders(port, tables=("/proc/net/tcp", "/proc/net/tcp6")):
    """The node's TCP sockets whose local port is `port`, as 'STATE local-port -> remote' strings.

    A listener's bind fails while any of them exists that it cannot share (another listener, or an
    outgoing connection given this port from the ephemeral range).
    """
    found = []
    for table in tables:
        try:
            with open(table) as lines:
                rows = lines.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) < 4 or int(fields[1].rsplit(":", 1)[1], 16) != port:
                continue
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            state = TCP_STATES.get(fields[3].upper(), fields[3])
            found.append(f"{state} :{port} -> :{remote_port}" if remote_port else f"{state} :{port}")
    return found


def make_agent(api, name, backend, port, deadline=None):
    """A NIXL agent with its listener thread on `port` (0: a port the kernel picks).

    A listener that cannot bind is retried once a second until `deadline` (a socket that holds the
    port for a moment, such as a connection in TIME_WAIT, goes away); then the error names what
    holds the port.
    """
    config = api.nixl_agent_config(
        enable_prog_thread=True, enable_listen_thread=True, listen_port=port, backends=[backend]
    )
    while True:
        try:
            agent = api.nixl_agent(name, config)
            break
        except RuntimeError as e:
            if "bind" not in str(e).lower() or not port:
                raise
            if deadline is None or time.monotonic() + 1 > deadline:
                holders = port_holders(port)
                raise PortInUse(
                    f"cannot listen on port {port}: {e} (sockets on that port: {', '.join(holders) or 'none seen'})"
                ) from e
            time.sleep(1)
    if backend not in agent.backends:
        raise RuntimeError(
            "NIXL backend {} did not load (plugins found: {})".format(backend, ", ".join(agent.get_plugin_list()))
        )
    return agent


def dram_descs(np, buf):
    return np.array([[buf.ctypes.data, buf.nbytes, 0]], dtype=np.uint64)


def gbps(nbytes, seconds):
    return round(nbytes / seconds / 1e9, 3) if seconds > 0 else None


def warm_gbps(nbytes, seconds):
    """Mean GB/s over the runs after the first (the first pays for connection set-up and page faults)."""
    warm = seconds[1:] or seconds
    return gbps(nbytes * len(warm), sum(warm))


def memcpy_figures(np, src, iterations):
    """A plain memory copy of src into a fresh buffer on this host, iterations times, timed like the transfers."""
    dst = np.empty_like(src)
    seconds = []
    while len(seconds) < iterations:
        start = time.perf_counter()
        np.copyto(dst, src)
        seconds.append(time.perf_counter() - start)
    if not np.array_equal(dst, src):
        raise RuntimeError("the memory copy differs from its source")
    return {
        "memcpy_seconds": [round(s, 6) for s in seconds],
        "memcpy_gbps": warm_gbps(src.nbytes, seconds),
        "memcpy_gbps_first": gbps(src.nbytes, seconds[0]),
        "memcpy_gbps_best": gbps(src.nbytes, min(seconds)),
    }


def share(part, whole):
    """part / whole, rounded; None when either is missing or whole is 0."""
    return round(part / whole, 4) if part is not None and whole else None


def run_target(np, api, args, result):
    size = args.size_mib * MIB
    deadline = time.monotonic() + args.timeout
    result["phase"] = "agent"
    # A TIME_WAIT connection holds a port for 60 s at most: retry the bind about as long.
    agent = make_agent(api, TARGET, args.backend, args.port, min(deadline, time.monotonic() + BIND_RETRY_SECONDS))
    buf = np.zeros(size, dtype=np.uint8)
    descs = dram_descs(np, buf)
    result["phase"] = "register"
    reg = agent.register_memory(descs, "DRAM")
    result["phase"] = "metadata"
    result["listening"] = {"port": args.port}
    wait_for(lambda: agent.check_remote_metadata(INITIATOR), deadline, "the initiator's metadata")
    where = {"addr": int(buf.ctypes.data), "len": int(buf.nbytes), "dev": 0}
    agent.send_notif(INITIATOR, json.dumps(where).encode())
    result["phase"] = "transfer"
    received = []

    def notified():
        for message in agent.get_new_notifs().get(INITIATOR, []):
            if message.startswith(TAG):
                received.append(message)
        return len(received) >= args.iterations

    try:
        wait_for(notified, deadline, f"{args.iterations} transfer notifications")
    finally:
        result["notifications"] = len(received)
    result["phase"] = "verify"
    expected = pattern(np, size, args.seed)
    result["sha256"] = hashlib.sha256(buf.tobytes()).hexdigest()
    result["expected_sha256"] = hashlib.sha256(expected.tobytes()).hexdigest()
    result["mismatched_bytes"] = int(np.count_nonzero(buf != expected))
    result["match"] = result["sha256"] == result["expected_sha256"] and result["mismatched_bytes"] == 0
    agent.deregister_memory(reg)
    result["phase"] = "done"
    result["ok"] = result["match"]
    if not result["match"]:
        result["error"] = f"{result['mismatched_bytes']} of {size} bytes differ from what the initiator wrote"


def run_initiator(np, api, args, result):
    size = args.size_mib * MIB
    deadline = time.monotonic() + args.timeout
    src = pattern(np, size, args.seed)
    result["sha256"] = hashlib.sha256(src.tobytes()).hexdigest()
    result["phase"] = "metadata"
    # NIXL drops a metadata request to a port nobody listens on yet: wait for the target's
    # listener first (the target is started just before, in the background).
    wait_for(lambda: port_open(args.ip, args.port), deadline, f"the target's listener on {args.ip}:{args.port}")
    # The yardstick: the same bytes, the same number of times, through a plain memory copy on this
    # host. Timed now, while the target only waits and before this side has NIXL threads: after the
    # transfers, the target's check of the bytes would compete with it for the CPUs. Its failure
    # does not fail the transfer.
    result["phase"] = "memcpy"
    try:
        result.update(memcpy_figures(np, src, args.iterations))
    except Exception as e:  # noqa: BLE001 (reported beside the transfer's figures)
        result["memcpy_error"] = f"{type(e).__name__}: {e}"
    result["phase"] = "agent"
    agent = make_agent(api, INITIATOR, args.backend, 0)
    local = dram_descs(np, src)
    result["phase"] = "register"
    reg = agent.register_memory(local, "DRAM")
    result["phase"] = "metadata"
    agent.fetch_remote_metadata(TARGET, args.ip, args.port)
    agent.send_local_metadata(args.ip, args.port)

    def where_from_target():
        for message in agent.get_new_notifs().get(TARGET, []):
            try:
                return json.loads(message.decode())
            except ValueError:
                continue
        return None

    where = wait_for(where_from_target, deadline, f"the target's buffer address from {args.ip}:{args.port}")
    wait_for(lambda: agent.check_remote_metadata(TARGET), deadline, "the target's metadata")
    remote = np.array([[where["addr"], where["len"], where["dev"]]], dtype=np.uint64)
    if where["len"] < size:
        raise RuntimeError(f"the target's buffer has {where['len']} bytes, fewer than {size}")
    result["phase"] = "transfer"
    handle = agent.initialize_xfer(
        "WRITE", agent.get_xfer_descs(local, "DRAM"), agent.get_xfer_descs(remote, "DRAM"), TARGET, TAG
    )
    seconds = []
    for i in range(args.iterations):
        start = time.perf_counter()
        state = agent.transfer(handle, TAG + f":{i}".encode())
        while state == "PROC":
            state = agent.check_xfer_state(handle)
            if time.monotonic() > deadline:
                raise PeerTimeout(f"timed out in transfer {i + 1} of {args.iterations}")
        if state != "DONE":
            raise RuntimeError(f"transfer {i + 1} of {args.iterations} ended in state {state}")
        seconds.append(time.perf_counter() - start)
    agent.release_xfer_handle(handle)
    agent.remove_remote_agent(TARGET)
    agent.invalidate_local_metadata(args.ip, args.port)
    agent.deregister_memory(reg)
    result.update(
        seconds=[round(s, 6) for s in seconds],
        gbps=warm_gbps(size, seconds),
        gbps_first=gbps(size, seconds[0]),
        gbps_best=gbps(size, min(seconds)),
    )
    if result.get("memcpy_gbps"):
        result["share_of_memcpy"] = share(result["gbps"], result["memcpy_gbps"])
    result.update(phase="done", ok=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=["target", "initiator"], required=True)
    parser.add_argument("--module", default="nixl_cu12", help="NIXL Python module (nixl_cu12, nixl_cu13, nixl)")
    parser.add_argument("--backend", default="LIBFABRIC")
    parser.add_argument("--ip", default="", help="target's address (initiator)")
    parser.add_argument("--port", type=int, required=True, help="target's NIXL listener port")
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args()

    # NIXL and UCX may print on stdout: keep stdout for the JSON answer only.
    answer = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    result = {
        "role": args.role,
        "backend": args.backend,
        "module": args.module,
        "size_bytes": args.size_mib * MIB,
        "iterations": args.iterations,
        "ok": False,
        "error": None,
        "phase": "import",
    }
    try:
        if args.iterations < 1 or args.size_mib < 1:
            raise ValueError("--iterations and --size-mib must be at least 1")
        np = importlib.import_module("numpy")
        api = importlib.import_module(args.module + "._api")
        if args.role == "target":
            run_target(np, api, args, result)
        else:
            if not args.ip:
                raise ValueError("--ip is required for the initiator")
            run_initiator(np, api, args, result)
    except Exception as e:  # noqa: BLE001 (every failure is reported in the answer)
        result["error"] = f"{type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc().splitlines()[-6:]
    answer.write(json.dumps(result, sort_keys=True) + "\n")
    answer.flush()
    sys.stderr.flush()
    # Leave without the interpreter's and NIXL's exit handlers: NIXL 1.5.1 crashes in them
    # (SIGSEGV after main returns, even for an agent that did nothing) on hosts without CUDA.
    # The answer is already written.
    os._exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
