#!/usr/bin/env bash
# Execution environment build, galaxy stage (meta/execution-environment.yml): installs the
# collection tarballs found beside this script into the image's collections path, before
# ansible-builder installs the Galaxy requirements (../requirements.yml) there.
#
#   install-collections.sh COLLECTIONS_PATH
#
# Beside it: nixl_efa-cluster-<version>.tar.gz, exactly one (ansible-galaxy collection build
# --output-path build/ee/collections), and, for a build that cannot reach Galaxy, the tarballs of
# its dependencies (then build with --build-arg ANSIBLE_GALAXY_CLI_COLLECTION_OPTS=--offline: the
# requirements are found installed). Dependencies are not resolved here (--no-deps): the
# requirements step after this one does that, within requirements.yml's ranges.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
target=${1:?usage: install-collections.sh COLLECTIONS_PATH}
shopt -s nullglob
own=("$here"/nixl_efa-cluster-*.tar.gz)
if [ "${#own[@]}" -ne 1 ]; then
    echo "install-collections.sh: expected one nixl_efa-cluster-<version>.tar.gz, found ${#own[@]}." >&2
    echo "Build it first: rm -rf build/ee && ansible-galaxy collection build --output-path build/ee/collections" >&2
    exit 1
fi
tarballs=("$here"/*.tar.gz)
ansible-galaxy collection install --offline --no-deps --collections-path "$target" "${tarballs[@]}"
