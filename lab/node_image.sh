#!/usr/bin/env bash
# Build the lab's node image: Debian 12 (bookworm) with systemd as PID 1, made with debootstrap
# (no image registry is needed) and imported into Docker. Cached: the tag carries a hash of this
# file, so the image is rebuilt only when this recipe changes.
#
#   lab/node_image.sh            prints the image name, building it first when missing
#
# debootstrap gets no mirror argument: its default is the distribution's own mirror, which apt
# uses on this machine too.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# The nodes trust what this machine trusts: its local CA certificates (a site's TLS proxy, for
# example) go into the image, and pip there uses the system store, as pip here is configured to.
local_cas=(/usr/local/share/ca-certificates/*.crt)
[ -e "${local_cas[0]}" ] || local_cas=()
recipe_hash=$(cat "$here/node_image.sh" "${local_cas[@]}" | sha256sum | cut -c1-12)
image="nixl-efa/debian12-systemd:$recipe_hash"
# molecule.yml names this tag; it always points at the image of the current recipe.
latest="nixl-efa/debian12-systemd:latest"
# What the node roles expect of a fresh Debian 12 node, as on a minimal cloud image: Python for
# Ansible, systemd, sudo, CA certificates, curl (the aws_ssm connection's file transfers), iproute2.
packages=python3,python3-apt,systemd,systemd-sysv,dbus,sudo,ca-certificates,curl,iproute2,procps

if docker image inspect "$image" >/dev/null 2>&1; then
    docker tag "$image" "$latest"
    echo "$image"
    exit 0
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
root=$(mktemp -d "${TMPDIR:-/tmp}/nixl-efa-rootfs.XXXXXX")
trap 'as_root rm -rf "$root"' EXIT
echo "Building $image with debootstrap (about a minute)" >&2
as_root debootstrap --variant=minbase --include="$packages" bookworm "$root" >&2
# No services that need hardware or a console.
as_root rm -f "$root"/etc/systemd/system/getty.target.wants/* \
    "$root"/etc/systemd/system/multi-user.target.wants/e2scrub_reap.service 2>/dev/null || true
if [ "${#local_cas[@]}" -gt 0 ]; then
    as_root cp "${local_cas[@]}" "$root/usr/local/share/ca-certificates/"
    as_root chroot "$root" update-ca-certificates >&2
fi
# The user Session Manager's agent creates and starts sessions as, with password-less sudo (the
# lab's session-manager-plugin stand-in opens its shells as this user).
as_root chroot "$root" useradd --create-home --shell /bin/bash ssm-user
printf 'ssm-user ALL=(ALL) NOPASSWD:ALL\n' | as_root tee "$root/etc/sudoers.d/ssm-agent-users" >/dev/null
as_root chmod 0440 "$root/etc/sudoers.d/ssm-agent-users"
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' | as_root tee "$root/etc/pip.conf" >/dev/null
as_root chroot "$root" apt-get clean
as_root tar -C "$root" -c . | docker import \
    --change 'CMD ["/lib/systemd/systemd"]' - "$image" >&2
docker tag "$image" "$latest"
echo "$image"
