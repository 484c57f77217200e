"""NIXL transfer between two nodes, for the validation role, with its yardsticks.

Run as `PYTHON - ARGS < this file` with the Python of the NIXL venv, once as the target (started
first, in the background) and once as the initiator:

- target: takes the plain TCP copy first, before it has any NIXL agent: listens on --tcp-port
  (for half of --timeout at most), receives each copy whole into a second buffer and answers one
  byte. Then it creates an agent with NIXL's listener thread on --port, registers a DRAM buffer of
  --size-mib MiB, waits for the initiator's metadata, tells it where the buffer is (a JSON
  notification: address, length, device), waits until it has seen --iterations transfer
  notifications, then compares the buffer with the expected pattern (SHA-256 and byte count), and
  the plain TCP copy's buffer too (tcp_match).
- initiator: fills a DRAM buffer with the pattern and measures the same buffer, --iterations times
  each, timed like the transfers (mean after the first, and the best):
  - tcp: a plain TCP copy to the target's --tcp-port (retried until the target listens; given up
    once NIXL's listener on --port accepts connections, which the target opens only after the
    copy): tcp_gbps, with no NIXL thread on either side;
  then waits until the target's NIXL listener accepts connections and, while the target only waits
  and before this side has NIXL threads:
  - memcpy: a plain memory copy into a fresh buffer on this host (numpy.copyto): memcpy_gbps;
  - shm: NIXL through UCX's shared-memory transports between two agents on this host, in a child
    process whose UCX sees only UCX_TLS=--shm-tls, each transfer after a memory copy timed alike
    (shm_memcpy_gbps): shm_gbps, and shm_share_of_memcpy, its share of that copy;
  then fetches the target's metadata from --ip:--port and sends its own (NIXL's peer-to-peer
  metadata exchange), and WRITEs the buffer into the target's --iterations times with --backend,
  timing each transfer; share_of_tcp and share_of_memcpy are the NIXL GB/s as a share of the plain
  TCP copy's and of the memory copy's.

A yardstick that cannot run says why in <name>_error and never fails the transfer. The pattern is
pseudo-random bytes from --seed, so both sides know it without sending it. Each side prints one JSON
object on stdout; NIXL's and UCX's own output goes to stderr. A side that waits longer than
--timeout seconds for its peer stops and says what it was waiting for.

Needs numpy and the NIXL module (--module, e.g. nixl_cu12) in the running Python; Python 3.8+.
"""

import argparse
import hashlib
import importlib
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback
import warnings

TARGET = "nixl-efa-validation-target"
INITIATOR = "nixl-efa-validation-initiator"
SHM_TARGET = "nixl-efa-validation-shm-target"
SHM_INITIATOR = "nixl-efa-validation-shm-initiator"
TAG = b"nixl-efa-validation"
MIB = 1024 * 1024
BIND_RETRY_SECONDS = 65
# The plain TCP copy's header: a fixed line, then the buffer's size and the number of copies.
TCP_MAGIC = b"nixl-efa-tcp-v1\n"
TCP_HEADER = struct.Struct("!16sQQ")
# UCX's shared-memory transports: "shm" is posix, sysv, cma (and knem, xpmem where installed); NIXL's
# UCX backend also opens an endpoint to its own agent, which "self" serves.
SHM_TLS = "shm,self"


class PortInUse(Exception):
    """The target's listener port is held by another socket on the node."""


class PeerTimeout(Exception):
    """The peer did not do its part before the deadline."""


class Skipped(Exception):
    """A yardstick that cannot run here; its message says why."""


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


def error_text(e):
    return str(e) if isinstance(e, Skipped) else f"{type(e).__name__}: {e}"


# --- the plain TCP copy ----------------------------------------------------------------------


def recv_exact(conn, view):
    """Fill the writable memoryview `view` from conn; ConnectionError when the peer closes first."""
    got = 0
    while got < len(view):
        n = conn.recv_into(view[got:])
        if not n:
            raise ConnectionError(f"the peer closed the connection after {got} of {len(view)} bytes")
        got += n


def tcp_listener(port):
    """The target's listener for the plain TCP copy.

    SO_REUSEADDR (socket.create_server's default) lets it bind next to connections of an earlier
    run in TIME_WAIT; a port that another listener holds is Skipped, naming what holds it.
    """
    if not port:
        raise Skipped("no port for the plain TCP copy (--tcp-port 0)")
    try:
        return socket.create_server(("", port))
    except OSError as e:
        holders = ", ".join(port_holders(port)) or "none seen"
        raise Skipped(f"cannot listen on port {port} for the plain TCP copy: {e} (sockets on that port: {holders})")


def tcp_serve(port, buf, wait, deadline):
    """The target's side of the plain TCP copy, before it has any NIXL agent: listen on port, take the
    initiator's connection within `wait` seconds, receive every copy into buf. Returns the copies received.
    """
    with tcp_listener(port) as listener:
        listener.settimeout(max(0.1, wait))
        try:
            conn = listener.accept()[0]
        except socket.timeout:
            raise Skipped(f"no plain TCP copy came within {wait:g} s (the initiator's answer says why)")
    with conn:
        return tcp_receive(conn, buf, deadline)


def tcp_receive(conn, buf, deadline):
    """The target's side of the plain TCP copy: each copy received whole into buf, then one byte back.

    Returns the number of copies received.
    """
    conn.setblocking(True)
    conn.settimeout(max(1.0, deadline - time.monotonic()))
    header = bytearray(TCP_HEADER.size)
    recv_exact(conn, memoryview(header))
    magic, size, iterations = TCP_HEADER.unpack(bytes(header))
    if magic != TCP_MAGIC or size != buf.nbytes:
        raise ValueError(f"unexpected header from the initiator: {magic!r}, {size} bytes (expected {buf.nbytes})")
    view = memoryview(buf).cast("B")
    received = 0
    while received < iterations:
        recv_exact(conn, view)
        conn.sendall(b"\x01")
        received += 1
    return received


def tcp_connect(ip, port, nixl_port, deadline):
    """A connection to the target's plain TCP listener, retried while the target is not listening yet.

    The target listens there first and opens NIXL's listener on nixl_port only once it is done with
    the plain copy or has given up on it: once nixl_port accepts connections, there is no copy to make.
    """
    while True:
        try:
            return socket.create_connection((ip, port), timeout=min(5.0, max(1.0, deadline - time.monotonic())))
        except OSError as e:
            if port_open(ip, nixl_port):
                raise Skipped(
                    f"the target opened NIXL's listener without taking the plain TCP copy on port {port} "
                    f"(last try: {error_text(e)}); the target's answer says why"
                ) from e
            if time.monotonic() > deadline:
                raise PeerTimeout(f"timed out connecting to {ip}:{port} for the plain TCP copy: {error_text(e)}") from e


def tcp_figures(src, ip, port, iterations, deadline, nixl_port):
    """The initiator's side: send src over a plain TCP connection to ip:port iterations times.

    Each copy is timed from the first byte sent to the target's one-byte answer that it has the
    whole buffer, like a NIXL WRITE is timed until it is DONE.
    """
    if not port:
        raise Skipped("no port for the plain TCP copy (--tcp-port 0)")
    view = memoryview(src).cast("B")
    seconds = []
    with tcp_connect(ip, port, nixl_port, deadline) as conn:
        conn.settimeout(max(1.0, deadline - time.monotonic()))
        conn.sendall(TCP_HEADER.pack(TCP_MAGIC, len(view), iterations))
        ack = bytearray(1)
        while len(seconds) < iterations:
            start = time.perf_counter()
            conn.sendall(view)
            recv_exact(conn, memoryview(ack))
            seconds.append(time.perf_counter() - start)
    return {
        "tcp_seconds": [round(s, 6) for s in seconds],
        "tcp_gbps": warm_gbps(len(view), seconds),
        "tcp_gbps_first": gbps(len(view), seconds[0]),
        "tcp_gbps_best": gbps(len(view), min(seconds)),
    }


# --- NIXL through UCX shared memory on one host -----------------------------------------------


def shm_transfer(np, api, src, iterations, tls):
    """NIXL WRITEs of src between two agents on this host, their UCX limited to shared memory, each
    after a plain memory copy of src timed the same way (shm_memcpy_gbps): copy and transfer take turns,
    so a busy host slows both alike and the share compares like with like.

    Runs in a child process (shm_figures): UCX reads UCX_TLS when the backend is created, and the
    main agent's UCX keeps the transports the role's environment gives it. Both agents are made
    without NIXL's threads and this one thread drives both, as one thread does the memory copy;
    ucx_error_handling_mode none, because UCX's shared-memory transports cannot detect a failed
    peer, which NIXL's default (peer) asks of every transport.
    """
    os.environ["UCX_TLS"] = tls
    agents = []
    for name in (SHM_TARGET, SHM_INITIATOR):
        agent = api.nixl_agent(
            name, api.nixl_agent_config(enable_prog_thread=False, enable_listen_thread=False, backends=[])
        )
        if "UCX" not in agent.get_plugin_list():
            raise Skipped("NIXL has no UCX plugin here (plugins: {})".format(", ".join(agent.get_plugin_list())))
        agent.create_backend("UCX", {"ucx_error_handling_mode": "none"})
        agents.append(agent)
    target, initiator = agents
    dst = np.zeros_like(src)
    target.register_memory(dram_descs(np, dst), "DRAM")
    initiator.register_memory(dram_descs(np, src), "DRAM")
    initiator.add_remote_agent(target.get_agent_metadata())
    target.add_remote_agent(initiator.get_agent_metadata())
    handle = initiator.initialize_xfer(
        "WRITE",
        initiator.get_xfer_descs(dram_descs(np, src), "DRAM"),
        initiator.get_xfer_descs(dram_descs(np, dst), "DRAM"),
        SHM_TARGET,
        TAG,
    )
    copy = np.empty_like(src)
    seconds, copy_seconds = [], []
    for i in range(iterations):
        start = time.perf_counter()
        np.copyto(copy, src)
        copy_seconds.append(time.perf_counter() - start)
        start = time.perf_counter()
        state = initiator.transfer(handle, TAG + f":shm:{i}".encode())
        while state == "PROC":
            state = initiator.check_xfer_state(handle)
            # The target's progress: where UCX emulates the WRITE with messages (no cma), it must answer.
            target.get_new_notifs()
        if state != "DONE":
            raise RuntimeError(f"shared-memory transfer {i + 1} of {iterations} ended in state {state}")
        seconds.append(time.perf_counter() - start)
    if not np.array_equal(dst, src):
        raise RuntimeError("the shared-memory transfer's bytes differ from the source")
    return {
        "shm_seconds": [round(s, 6) for s in seconds],
        "shm_gbps": warm_gbps(src.nbytes, seconds),
        "shm_gbps_first": gbps(src.nbytes, seconds[0]),
        "shm_gbps_best": gbps(src.nbytes, min(seconds)),
        "shm_match": True,
        "shm_memcpy_gbps": warm_gbps(src.nbytes, copy_seconds),
        "shm_memcpy_gbps_best": gbps(src.nbytes, min(copy_seconds)),
    }


def wait_status(status):
    """A child's wait status in words."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exit status {os.WEXITSTATUS(status)}"


def shm_figures(np, api, src, iterations, tls, seconds):
    """shm_transfer in a forked child, its answer back through a pipe; at most `seconds` long.

    A child that crashes or hangs costs this yardstick only: its answer is then an shm_error.
    Forked before this process has any NIXL agent or thread of its own.
    """
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork in a process with threads (numpy's OpenBLAS pool here);
        # the child uses none of them.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        try:
            answer = shm_transfer(np, api, src, iterations, tls)
        except BaseException as e:  # noqa: BLE001 (the parent reports it)
            answer = {"shm_error": error_text(e)}
        data = json.dumps(answer).encode()
        while data:
            data = data[os.write(write_end, data) :]
        os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + seconds
    chunks = []
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        status = os.waitpid(pid, 0)[1]
    if timed_out:
        return {"shm_error": f"the shared-memory transfer did not finish within {seconds} s"}
    try:
        answer = json.loads(b"".join(chunks).decode())
    except ValueError:
        return {"shm_error": f"the shared-memory transfer ended without an answer ({wait_status(status)})"}
    return answer


def run_target(np, api, args, result):
    size = args.size_mib * MIB
    deadline = time.monotonic() + args.timeout
    # The plain TCP copy first, before this side has a NIXL agent and its threads: the initiator makes
    # it before anything else, and NIXL's listener opens only after it (or after half the time, when
    # no copy came: the initiator then goes on without it).
    result["phase"] = "tcp"
    result["tcp_port"] = args.tcp_port
    tcp_buf = np.empty(size, dtype=np.uint8)
    try:
        result["tcp_received"] = tcp_serve(args.tcp_port, tcp_buf, args.timeout / 2, deadline)
    except Exception as e:  # noqa: BLE001 (a yardstick: reported, the transfer goes on)
        result["tcp_error"] = error_text(e)
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
    if result.get("tcp_received"):
        result["tcp_match"] = bool(np.array_equal(tcp_buf, expected))
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
    # The plain TCP copy first: the target takes it before it creates its NIXL agent, so neither side
    # has NIXL threads while it runs. Its failure does not fail the transfer.
    result["phase"] = "tcp"
    result["tcp_port"] = args.tcp_port
    try:
        result.update(tcp_figures(src, args.ip, args.tcp_port, args.iterations, deadline, args.port))
    except Exception as e:  # noqa: BLE001 (reported beside the transfer's figures)
        result["tcp_error"] = error_text(e)
    result["phase"] = "metadata"
    # NIXL drops a metadata request to a port nobody listens on yet: wait for the target's
    # listener first.
    wait_for(lambda: port_open(args.ip, args.port), deadline, f"the target's listener on {args.ip}:{args.port}")
    # The local yardsticks: the same bytes, the same number of times, through a plain memory copy and
    # NIXL over UCX shared memory on this host. Timed now, while the target only waits and before
    # this side has NIXL threads: after the transfers, the target's check of the bytes would compete
    # with them for the CPUs. Their failures do not fail the transfer.
    result["phase"] = "memcpy"
    try:
        result.update(memcpy_figures(np, src, args.iterations))
    except Exception as e:  # noqa: BLE001 (reported beside the transfer's figures)
        result["memcpy_error"] = error_text(e)
    result["phase"] = "shm"
    result["shm_tls"] = args.shm_tls
    # A quarter of the time left, between 10 and 60 s: the child takes a few seconds.
    budget = int(max(10, min(60, (deadline - time.monotonic()) // 4)))
    try:
        result.update(shm_figures(np, api, src, args.iterations, args.shm_tls, budget))
    except Exception as e:  # noqa: BLE001 (reported beside the transfer's figures)
        result["shm_error"] = error_text(e)
    if result.get("shm_gbps"):
        result["shm_share_of_memcpy"] = share(result["shm_gbps"], result.get("shm_memcpy_gbps"))
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
    if result.get("tcp_gbps"):
        result["share_of_tcp"] = share(result["gbps"], result["tcp_gbps"])
    result.update(phase="done", ok=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=["target", "initiator"], required=True)
    parser.add_argument("--module", default="nixl_cu12", help="NIXL Python module (nixl_cu12, nixl_cu13, nixl)")
    parser.add_argument("--backend", default="LIBFABRIC")
    parser.add_argument("--ip", default="", help="target's address (initiator)")
    parser.add_argument("--port", type=int, required=True, help="target's NIXL listener port")
    parser.add_argument(
        "--tcp-port", type=int, default=None, help="target's port for the plain TCP copy (default --port + 1; 0: none)"
    )
    parser.add_argument("--shm-tls", default=SHM_TLS, help="UCX_TLS of the shared-memory yardstick")
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--timeout", type=int, default=120)
    args = parser.parse_args()
    if args.tcp_port is None:
        args.tcp_port = args.port + 1 if args.port < 65535 else 0

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
