#!/usr/bin/env bash
# Make sure a headless browser is here, for the checks that look at the lab's web pages the way a
# person does (lab/browser_check.py: the MLflow UI's run page in tests/e2e).
#
# Installs Debian's chromium package when no Chromium is on PATH, then prints the browser's path.
# Idempotent: a Chromium already installed is left alone. CHROMIUM names another one.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

find_browser() {
    for name in "${CHROMIUM:-}" chromium chromium-browser google-chrome google-chrome-stable; do
        if [ -n "$name" ] && command -v "$name" >/dev/null; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

install() {
    # Two gates may ask at once (make test runs both unit gates side by side): one installs, the other
    # waits for it, then finds the browser.
    exec 9>"${TMPDIR:-/tmp}/nixl-efa-browser.lock"
    flock 9
    if ! find_browser >/dev/null; then
        echo "Installing chromium from the distribution's packages" >&2
        as_root apt-get update -q >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 chromium >&2
    fi
    flock -u 9
}

find_browser >/dev/null || install

browser=$(find_browser) || { echo "no Chromium on PATH after installing Debian's chromium package" >&2; exit 1; }
# (Debian's launcher may complain about /dev/shm on stderr; the version is on stdout.)
"$browser" --version >&2 2>/dev/null
echo "$browser"
