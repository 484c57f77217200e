#!/usr/bin/env bash
# Execution environment build, final stage (meta/execution-environment.yml): installs AWS's
# session-manager-plugin, which amazon.aws.aws_ssm starts on the controller for every connection
# (its default path, /usr/local/bin/session-manager-plugin).
#
# From, in this order:
# - a copy beside this script (build/ee/session-manager-plugin/ in the repository, for a build
#   without access to AWS's downloads): AWS's session-manager-plugin.rpm or .deb, or an executable
#   named session-manager-plugin (with any files it needs beside it), installed as the package would;
# - else AWS's package for this system (rpm or deb) and architecture (x86_64 or aarch64), from the
#   download location AWS documents, version SSM_PLUGIN_VERSION (default latest), checked against
#   SSM_PLUGIN_SHA256 when given.
# Then `session-manager-plugin --version` must run.
#
#   install-session-manager-plugin.sh            install
#   install-session-manager-plugin.sh --url rpm|deb ARCH [VERSION]
#                                                print the download URL only
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
downloads=https://s3.amazonaws.com/session-manager-downloads/plugin
# Where AWS's packages put it, and the link they make (amazon.aws.aws_ssm's default plugin path);
# a local executable goes to the same place (both overridable, for the unit tests).
prefix=${SSM_PLUGIN_PREFIX:-/usr/local/sessionmanagerplugin}
link=${SSM_PLUGIN_LINK:-/usr/local/bin/session-manager-plugin}

# AWS's download URL for a package format and a machine architecture (uname -m).
url() {
    local format=$1 arch=$2 version=${3:-latest} folder
    case "$format/$arch" in
        rpm/x86_64) folder=linux_64bit ;;
        rpm/aarch64) folder=linux_arm64 ;;
        deb/x86_64) folder=ubuntu_64bit ;;
        deb/aarch64) folder=ubuntu_arm64 ;;
        *)
            echo "install-session-manager-plugin.sh: AWS publishes no $format package for $arch" >&2
            return 1
            ;;
    esac
    echo "$downloads/$version/$folder/session-manager-plugin.$format"
}

if [ "${1:-}" = --url ]; then
    url "${2:?format}" "${3:?arch}" "${4:-latest}"
    exit
fi

# The package format this system installs: dpkg's on Debian and Ubuntu, rpm's on the others.
if command -v dpkg >/dev/null; then format=deb; elif command -v rpm >/dev/null; then format=rpm; else
    echo "install-session-manager-plugin.sh: neither dpkg nor rpm here" >&2
    exit 1
fi

install_package() {
    if [ "$format" = deb ]; then dpkg -i "$1"; else rpm -U --replacepkgs "$1"; fi
}

if [ -f "$here/session-manager-plugin.$format" ]; then
    echo "Installing the local $here/session-manager-plugin.$format"
    install_package "$here/session-manager-plugin.$format"
elif [ -x "$here/session-manager-plugin" ]; then
    echo "Installing the local executable $here/session-manager-plugin (and the files beside it)"
    mkdir -p "$prefix/bin"
    find "$here" -maxdepth 1 -type f ! -name "$(basename "$0")" -exec cp -p {} "$prefix/bin/" \;
else
    source_url=$(url "$format" "$(uname -m)" "${SSM_PLUGIN_VERSION:-latest}")
    package=$(mktemp -d)/session-manager-plugin.$format
    echo "Downloading $source_url"
    "${PYCMD:-/usr/bin/python3}" - "$source_url" "$package" <<'PY'
import shutil
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1], timeout=300) as answer, open(sys.argv[2], "wb") as out:
    shutil.copyfileobj(answer, out)
PY
    if [ -n "${SSM_PLUGIN_SHA256:-}" ]; then
        echo "${SSM_PLUGIN_SHA256}  $package" | sha256sum -c -
    fi
    install_package "$package"
    rm -rf "$(dirname "$package")"
fi
# The packages link it in their install scripts; make sure, whatever the source.
ln -sfn "$prefix/bin/session-manager-plugin" "$link"
echo "session-manager-plugin: $("$link" --version)"
