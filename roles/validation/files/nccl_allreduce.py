"""all_reduce bandwidth across the cluster's nodes, for the validation role.

Started by torchrun on every node (one process per GPU, c10d rendezvous on the first node), as
`torchrun ... --no-python PYTHON -c "<this file>" ARGS`. Each rank all_reduces a float32 tensor of
--size-mib MiB: --warmup untimed rounds, then --iterations timed ones. Rank 0 prints one line,
`NIXL_EFA_NCCL_RESULT {json}`, with the algorithm and bus bandwidth in GB/s computed the way
nccl-tests does (bus bandwidth = algorithm bandwidth x 2(n-1)/n for all_reduce), and whether the
reduced values are right (every rank contributes rank+1, so each element must equal n(n+1)/2).

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
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
        }
        if not correct:
            result["error"] = f"all_reduce returned wrong values (expected {expected} in every element)"
        print(MARKER + " " + json.dumps(result, sort_keys=True), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
