#!/usr/bin/env bash
# Start or remove lab nodes: Debian 12 systemd containers from tools/node_image.sh, on host
# networking (nodes talk over loopback addresses, never a private range), without --privileged.
#
#   tools/lab_nodes.sh up PREFIX N     start PREFIX-0 .. PREFIX-(N-1), wait until systemd runs
#   tools/lab_nodes.sh down PREFIX     remove every container named PREFIX-*
#
# Ansible reaches them with ansible_connection=community.docker.docker and ansible_host=<name>.
set -euo pipefail

action=${1:?usage: lab_nodes.sh up PREFIX N | down PREFIX}
prefix=${2:?PREFIX}
here=$(cd "$(dirname "$0")" && pwd)

case "$action" in
up)
    count=${3:?N}
    image=$("$here/node_image.sh")
    for i in $(seq 0 $((count - 1))); do
        name="$prefix-$i"
        if [ -z "$(docker ps -q --filter "name=^${name}$")" ]; then
            docker rm -f "$name" >/dev/null 2>&1 || true
            docker run -d --name "$name" --hostname "$name" \
                --cap-add SYS_ADMIN --security-opt seccomp=unconfined \
                --tmpfs /run --tmpfs /run/lock --shm-size 2g --cgroupns host \
                -v /sys/fs/cgroup:/sys/fs/cgroup:rw --network host \
                "$image" /lib/systemd/systemd >/dev/null
        fi
    done
    for i in $(seq 0 $((count - 1))); do
        name="$prefix-$i"
        for _ in $(seq 1 120); do
            state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
            case "$state" in running|degraded) break ;; esac
            sleep 0.5
        done
        echo "$name: ${state:-unknown}"
    done
    ;;
down)
    ids=$(docker ps -aq --filter "name=^${prefix}-")
    [ -z "$ids" ] || docker rm -f $ids >/dev/null
    echo "removed ${prefix}-*"
    ;;
*)
    echo "usage: lab_nodes.sh up PREFIX N | down PREFIX" >&2
    exit 2
    ;;
esac
