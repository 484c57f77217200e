"""all_reduce bandwidth across the cluster's nodes, for the validation role.

Started by torchrun on every node (one process per GPU, c10d rendezvous on the first node), as
`torchrun ... --no-python PYTHON -c "<this file>" ARGS`. Each rank all_reduces a float32 tensor of
--size-mib MiB: --warmup untimed rounds, then --iterations timed ones. Rank 0 prints one line,
`NIXL_EFA_NCCL_RESULT {json}`, with the algorithm and bus bandwidth in GB/s computed the way
nccl-tests does (bus bandwidth = algorithm bandwidth x 2(n-1)/n for all_reduce), and whether the
reduced values are right (every rank contributes rank+1, so each element must equal n(n+1)/2).
With --min-size-mib below --size-mib it also times the all_reduce of each power of two MiB from that size
up (nccl-tests' -b/-e/-f 2, --warmup and --iterations each), on the front of the same tensor, and adds them
to the line as `sizes` (bytes, seconds per iteration, algorithm and bus bandwidth), the full size last:
the report's bus bandwidth by message size.

--backend gloo runs the same on CPUs (to try the launch without GPUs); the role uses nccl.
Needs PyTorch; Python 3.8+.
"""

import argparse
import json
import os
import socket
import time

MARKER = "NIXL_EFA_NCCL_RESULT"
MIB = 1024 * 1024


def bus_bandwidth(algbw, world_size):
    """nccl-tests' bus bandwidth for all_reduce."""
    return algbw * 2.0 * (world_size - 1) / world_size if world_size > 1 else 0.0


def size_row(nbytes, seconds, world_size):
    """One message size's figures, as nccl-tests prints them."""
    algbw = nbytes / seconds / 1e9 if seconds > 0 else 0.0
    return {
        "size_bytes": nbytes,
        "seconds_per_iteration": round(seconds, 6),
        "algbw_gbps": round(algbw, 3),
        "busbw_gbps": round(bus_bandwidth(algbw, world_size), 3),
    }


def sweep_sizes(min_mib, size_mib):
    """The sizes in MiB timed below size_mib: min_mib and each power of two above it (none without min_mib)."""
    sizes = []
    mib = max(int(min_mib or size_mib), 1)
    while mib < size_mib:
        sizes.append(mib)
        mib = 1 << mib.bit_length() if mib & (mib - 1) else mib * 2
    return sizes


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--min-size-mib", type=int, default=0, help="also time each power of two MiB from here up")
    parser.add_argument("--backend", default="nccl", choices=["nccl", "gloo"])
    args = parser.parse_args()

    import torch  # noqa: PLC0415 (only on the nodes that run this)
    import torch.distributed as dist  # noqa: PLC0415

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if args.backend == "nccl":
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    dist.init_process_group(backend=args.backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    count = args.size_mib * MIB // 4
    tensor = torch.empty(count, dtype=torch.float32, device=device)

    def sync():
        if args.backend == "nccl":
            torch.cuda.synchronize()

    for _round in range(args.warmup):
        tensor.fill_(1.0)
        dist.all_reduce(tensor)
    sync()
    dist.barrier()
    tensor.fill_(float(rank + 1))
    sync()
    start = time.perf_counter()
    dist.all_reduce(tensor)
    sync()
    first = time.perf_counter() - start
    expected = world * (world + 1) / 2.0
    correct = bool(torch.all(tensor == expected).item())
    start = time.perf_counter()
    for _round in range(args.iterations):
        dist.all_reduce(tensor)
    sync()
    elapsed = (time.perf_counter() - start) / max(args.iterations, 1)
    seconds = torch.tensor([elapsed], dtype=torch.float64, device=device)
    # The slowest rank decides, as in nccl-tests.
    dist.all_reduce(seconds, op=dist.ReduceOp.MAX)
    elapsed = float(seconds.item())
    nbytes = count * 4
    algbw = nbytes / elapsed / 1e9 if elapsed > 0 else 0.0

    def timed(elements):
        """Seconds per all_reduce of the tensor's first elements, the slowest rank's."""
        part = tensor[:elements]
        for _round in range(args.warmup):
            dist.all_reduce(part)
        sync()
        dist.barrier()
        start = time.perf_counter()
        for _round in range(args.iterations):
            dist.all_reduce(part)
        sync()
        took = torch.tensor(
            [(time.perf_counter() - start) / max(args.iterations, 1)], dtype=torch.float64, device=device
        )
        dist.all_reduce(took, op=dist.ReduceOp.MAX)
        return float(took.item())

    sizes = []
    # Zeros: the sums stay finite however many rounds run.
    tensor.zero_()
    for mib in sweep_sizes(args.min_size_mib, args.size_mib):
        took = timed(mib * MIB // 4)
        sizes.append((mib * MIB, took))
    sizes.append((nbytes, elapsed))
    if rank == 0:
        result = {
            "ok": correct,
            "backend": args.backend,
            "world_size": world,
            "nodes": int(os.environ.get("GROUP_WORLD_SIZE", os.environ.get("NNODES", "0")) or 0),
            "size_bytes": nbytes,
            "iterations": args.iterations,
            "seconds_per_iteration": round(elapsed, 6),
            "first_seconds": round(first, 6),
            "algbw_gbps": round(algbw, 3),
            "busbw_gbps": round(bus_bandwidth(algbw, world), 3),
            "correct": correct,
            "host": socket.gethostname(),
            "torch": torch.__version__,
            "nccl": ".".join(map(str, torch.cuda.nccl.version())) if args.backend == "nccl" else None,
            "sizes": [size_row(size, took, world) for size, took in sizes],
        }
        if not correct:
            result["error"] = f"all_reduce returned wrong values (expected {expected} in every element)"
        print(MARKER + " " + json.dumps(result, sort_keys=True), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
