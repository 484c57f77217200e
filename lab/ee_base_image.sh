#!/usr/bin/env bash
# Build the lab's execution environment base image: Debian 12 (bookworm) with Python 3.11, made
# with debootstrap as node_image.sh makes the nodes (no image registry is reachable here), and
# imported into Docker. ansible-builder builds meta/execution-environment.yml on it in place of the
# real base image a user pulls (tests/ee, `make ee`). Cached: the tag carries a hash of this file
# and of the local CA certificates, so the image is rebuilt only when the recipe changes.
#
#   lab/ee_base_image.sh         prints the image name, building it first when missing
#
# What ansible-builder 3 expects of a base image, and how this one meets it:
# - a Python whose ensurepip works (its pip_install step runs `python -m ensurepip`): Debian disables
#   ensurepip for the system Python, so the image's Python is a virtual environment of it,
#   /opt/ee-python, first on PATH (as UBI's python-3.12 images have /opt/app-root); the lab's build
#   passes /opt/ee-python/bin/python3 as the PYCMD build argument;
# - a dnf-like package manager for the bindep step ("install -y PACKAGES", "clean all"): Debian has
#   none, so /usr/local/sbin/ee-pkgmgr translates those two calls to apt-get; the lab's build passes
#   it as the PKGMGR build argument (ansible-builder's own knob);
# - pip may install into the system Python: ansible-builder sets PIP_BREAK_SYSTEM_PACKAGES itself;
# - a UTF-8 locale for ansible-core: C.UTF-8 (part of Debian's libc).
# Lab tooling under lab/, never shipped.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# The image trusts what this machine trusts: its local CA certificates (a site's TLS proxy, for
# example), so pip inside the build reaches the package index this machine reaches.
local_cas=(/usr/local/share/ca-certificates/*.crt)
[ -e "${local_cas[0]}" ] || local_cas=()
recipe_hash=$(cat "$here/ee_base_image.sh" "${local_cas[@]}" | sha256sum | cut -c1-12)
image="nixl-efa/ee-base-debian12:$recipe_hash"
packages=python3,python3-venv,ca-certificates

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    exit 0
fi

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
root=$(mktemp -d "${TMPDIR:-/tmp}/nixl-efa-ee-rootfs.XXXXXX")
trap 'as_root rm -rf "$root"' EXIT
echo "Building $image with debootstrap (about a minute)" >&2
as_root debootstrap --variant=minbase --include="$packages" bookworm "$root" >&2
if [ "${#local_cas[@]}" -gt 0 ]; then
    as_root cp "${local_cas[@]}" "$root/usr/local/share/ca-certificates/"
    as_root chroot "$root" update-ca-certificates >&2
fi
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' | as_root tee "$root/etc/pip.conf" >/dev/null
as_root tee "$root/usr/local/sbin/ee-pkgmgr" >/dev/null <<'EOF'
#!/bin/bash
# ansible-builder's scripts drive dnf or microdnf: "install -y [options] PACKAGES" and "clean all".
# This base image is Debian: the same two calls through apt-get (dnf's options have no meaning here).
set -euo pipefail
action=${1:-}
shift || true
case "$action" in
    install)
        packages=()
        for word in "$@"; do
            case "$word" in
                -*|install_weak_deps=*) ;;
                *) packages+=("$word") ;;
            esac
        done
        [ "${#packages[@]}" -gt 0 ] || exit 0
        # bindep lists a package once per collection that names it.
        mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
        # Every package installed already (the base's python3, say): nothing to fetch.
        installed=$(dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null | grep -cx 'install ok installed' || true)
        [ "${installed:-0}" -eq "${#packages[@]}" ] && exit 0
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
        ;;
    clean)
        apt-get clean
        rm -rf /var/lib/apt/lists/*
        ;;
    *)
        echo "ee-pkgmgr: only install and clean, not '$action'" >&2
        exit 2
        ;;
esac
EOF
as_root chmod 0755 "$root/usr/local/sbin/ee-pkgmgr"
as_root chroot "$root" python3 -m venv --without-pip /opt/ee-python
as_root chroot "$root" apt-get clean
as_root tar -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/opt/ee-python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - "$image" >&2
echo "$image"
