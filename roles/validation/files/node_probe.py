"""Per-node probe of the validation role, in one remote command.

Run as `python3 - ARGS < this file` with the node's system Python. Prints one JSON object on
stdout:

- fi_info: `fi_info -p <provider>` (rc, the provider/fabric/domain/type entries it lists, the first
  lines of its error output), with the fi_info found first in the EFA installer's bin directory.
- facts: the nixl_efa_* local facts (/etc/ansible/facts.d/nixl_efa_*.fact), read here so that the
  play needs no fact-gathering task; a file that is not JSON is reported with its error.
- torchrun: the first executable torchrun among the candidates given (for the NCCL check), and
  torchrun_python: the interpreter of its #! line (the Python that has torch).

Standard library only; Python 3.8 and later.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess


def run(argv, timeout):
    """(rc, stdout, stderr); rc None when the program cannot be started or timed out."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError as e:
        return None, "", str(e)
    except subprocess.TimeoutExpired:
        return None, "", f"timed out after {timeout} s"
    except OSError as e:
        return None, "", str(e)
    return proc.returncode, proc.stdout, proc.stderr


def parse_fi_info(text):
    """The entries of `fi_info` output: a list of {provider, fabric, domain, type, protocol}."""
    entries = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        if key == "provider":
            current = {"provider": value}
            entries.append(current)
        elif current is not None and key in ("fabric", "domain", "type", "protocol", "version"):
            current[key] = value
    return entries


def provider_matches(entry_provider, wanted):
    """`tcp;ofi_rxm` matches tcp (the core provider under a utility provider)."""
    return wanted in entry_provider.split(";")


def fi_info(path, provider, timeout):
    result = {"path": path, "provider": provider, "rc": None, "entries": [], "matched": 0, "error": None}
    if not path:
        result["error"] = "fi_info not found (neither in the EFA installer's bin directory nor on PATH)"
        return result
    rc, out, err = run([path, "-p", provider], timeout)
    result["rc"] = rc
    entries = parse_fi_info(out)
    result["entries"] = entries[:16]
    result["entry_count"] = len(entries)
    result["matched"] = sum(1 for e in entries if provider_matches(e["provider"], provider))
    if rc != 0 or not result["matched"]:
        text = (err or out or "").strip().splitlines()
        result["error"] = " ".join(text[:5]) or f"fi_info -p {provider} exited {rc} with no output"
    return result


def read_facts(facts_dir, prefix):
    facts = {}
    for path in sorted(glob.glob(os.path.join(facts_dir, prefix + "*.fact"))):
        name = os.path.basename(path)[: -len(".fact")]
        try:
            with open(path, encoding="utf-8") as f:
                facts[name] = json.load(f)
        except (OSError, ValueError) as e:
            facts[name] = {"error": f"{path}: {e}"}
    return facts


def find_executable(candidates):
    for candidate in candidates:
        if not candidate:
            continue
        path = candidate if os.sep in candidate else shutil.which(candidate)
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def script_interpreter(path):
    """The interpreter named on a script's #! line, when it is an executable file."""
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            first = f.readline(512).decode("utf-8", "replace")
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    parts = first[2:].split()
    if not parts:
        return None
    if os.path.basename(parts[0]) == "env" and len(parts) > 1:
        return shutil.which(parts[1])
    return parts[0] if os.access(parts[0], os.X_OK) else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--provider", required=True, help="libfabric provider to look for, e.g. efa or tcp")
    parser.add_argument("--fi-info", default="", help="fi_info to use (default: EFA prefix, then PATH)")
    parser.add_argument("--efa-prefix", default="/opt/amazon/efa")
    parser.add_argument("--facts-dir", default="/etc/ansible/facts.d")
    parser.add_argument("--facts-prefix", default="nixl_efa_")
    parser.add_argument("--torchrun", action="append", default=[], help="torchrun candidate (repeat)")
    parser.add_argument("--timeout", type=int, default=30)
    args = parser.parse_args()

    fi_info_path = find_executable([args.fi_info, os.path.join(args.efa_prefix, "bin", "fi_info"), "fi_info"])
    torchrun = find_executable(args.torchrun)
    answer = {
        "fi_info": fi_info(fi_info_path, args.provider, args.timeout),
        "facts": read_facts(args.facts_dir, args.facts_prefix),
        "torchrun": torchrun,
        "torchrun_python": script_interpreter(torchrun),
    }
    print(json.dumps(answer, sort_keys=True))


if __name__ == "__main__":
    main()
