# -*- coding: utf-8 -*-
"""Run `make test`'s gates on two workers, so that neither waits while the other still has work.

    python tools/test_pool.py --default-core 2.19 --newest-core 2.21

The gates are `make <gate> CORE=<core>` runs. Those that start node containers (molecule, e2e,
release-test: their nodes share loopback addresses 127.0.1.x) form one chain and run one after the
other on the "systems" worker; every other gate sits in a shared pool, longest first, taken by the
"checks" worker from the start and by the systems worker once its chain is done. So the two
workers end close together whatever the machine's speed, where two fixed lanes left one core idle
for as long as the longer lane outlasted the shorter.

Each line a gate prints comes out prefixed with its worker and gate; each gate's wall time is
printed when it ends ("== [checks] make unit (CORE=2.21): 74 s"), then a summary. After a gate
fails no new gate starts; those running finish; the exit status is 1 when any gate failed.
"""

import argparse
import os
import subprocess
import sys
import threading
import time

# Gates that start node containers: one at a time, in this order (the default core's first).
SYSTEMS = (("molecule", "default"), ("e2e", "default"), ("release-test", "default"), ("release-test", "newest"))
# Every other gate, longest first (wall times seen in `make test`); the integration suite in parts
# (make integration-<n>), each part with a lab of its own on free ports and no container.
POOL = (
    ("integration-1", "newest"),
    ("integration-2", "newest"),
    ("integration-3", "newest"),
    ("sanity", "default"),
    ("sanity", "newest"),
    ("lint", "default"),
    ("lint", "newest"),
    ("unit", "default"),
    ("unit", "newest"),
    ("docs", "default"),
)
# Pool gates that never run on both pairs at once: ansible-lint keeps one cache per project
# (collections and roles it prepares) whatever the ansible-core.
ONE_AT_A_TIME = frozenset({"lint"})


class Pool:
    """The shared queue of pool gates, the results and the stop flag, behind one lock."""

    def __init__(self, cores, pool, make):
        self.cores, self.make = cores, make
        self.queue = list(pool)
        self.running = set()  # names of the ONE_AT_A_TIME gates now running
        self.results = []  # (worker, gate, core, seconds, status)
        self.not_run = []  # (gate, core kind) left after a failure
        self.failed = False
        self.lock = threading.Lock()
        self.print_lock = threading.Lock()

    def take(self):
        """The next pool gate that may start now (waiting while only a one-at-a-time gate is left); None when done."""
        while True:
            with self.lock:
                if self.failed or not self.queue:
                    return None
                for index, (gate, _core_kind) in enumerate(self.queue):
                    if gate not in self.running:
                        if gate in ONE_AT_A_TIME:
                            self.running.add(gate)
                        return self.queue.pop(index)
            time.sleep(1)

    def say(self, line):
        with self.print_lock:
            sys.stdout.write(line)
            sys.stdout.flush()

    def run(self, worker, gate, core_kind):
        """One gate, its output prefixed (none once a gate has failed)."""
        with self.lock:
            if self.failed:
                self.not_run.append((gate, core_kind))
                return
        core = self.cores[core_kind]
        prefix = f"[{worker} {gate} {core}] "
        start = time.monotonic()
        command = [self.make, "--no-print-directory", gate, f"CORE={core}"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1, text=True)
        for line in process.stdout:
            self.say(prefix + line)
        status = process.wait()
        seconds = round(time.monotonic() - start)
        self.say(f"== [{worker}] make {gate} (CORE={core}): {seconds} s{'' if status == 0 else f', exit {status}'}\n")
        with self.lock:
            self.running.discard(gate)
            self.results.append((worker, gate, core, seconds, status))
            if status != 0:
                self.failed = True

    def drain(self, worker):
        while True:
            item = self.take()
            if item is None:
                return
            self.run(worker, *item)


def systems_worker(pool, chain):
    for gate, core_kind in chain:
        pool.run("systems", gate, core_kind)
    pool.drain("systems")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run make test's gates on two workers.")
    parser.add_argument("--default-core", required=True)
    parser.add_argument("--newest-core", required=True)
    parser.add_argument("--make", default=os.environ.get("MAKE", "make"))
    args = parser.parse_args(argv)
    pool = Pool({"default": args.default_core, "newest": args.newest_core}, POOL, args.make)
    workers = [
        threading.Thread(target=pool.drain, args=("checks",)),
        threading.Thread(target=systems_worker, args=(pool, SYSTEMS)),
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    pool.say("== gates, in the order they ended:\n")
    for worker, gate, core, seconds, status in pool.results:
        pool.say(f"==   {worker:8} make {gate} (CORE={core}): {seconds} s{'' if status == 0 else f', exit {status}'}\n")
    not_run = [f"{gate} (CORE={pool.cores[kind]})" for gate, kind in pool.not_run + pool.queue]
    if not_run:
        pool.say(f"== not run after a failure: {', '.join(not_run)}\n")
    return 1 if pool.failed else 0


if __name__ == "__main__":
    sys.exit(main())
