#!/usr/bin/env bash
# Make sure a Docker engine answers on /var/run/docker.sock, for molecule's test nodes.
#
# Installs Debian's docker.io (and debootstrap, which builds the node image) when missing, then
# starts dockerd in the background when nothing answers (this machine has no systemd), and waits
# for it. Idempotent: an engine that already answers is left alone.
set -euo pipefail

log=${DOCKERD_LOG:-/var/log/nixl-efa-dockerd.log}
wait_s=${DOCKERD_WAIT:-60}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    echo "Installing docker.io and debootstrap from the distribution's packages"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io debootstrap
fi

if docker info >/dev/null 2>&1; then
    echo "Docker engine: running"
    exit 0
fi

echo "Starting dockerd (log: $log)"
as_root bash -c "nohup dockerd >'$log' 2>&1 </dev/null &"
deadline=$(( $(date +%s) + wait_s ))
until docker info >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "dockerd did not answer within ${wait_s}s; last lines of $log:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
    sleep 0.5
done
echo "Docker engine: running"
