#!/usr/bin/env bash
# Run `ansible-test sanity` on this collection.
#
# ansible-test needs the collection at .../ansible_collections/nixl_efa/cluster,
# with the collections it depends on beside it. This copies the tracked and
# untracked-but-not-ignored files there (so .venv and caches stay out), links
# amazon.aws and community.aws from the venv's `ansible` bundle, installs the
# offline get-pip bootstrap ansible-test wants, and runs the tests in
# ansible-test's own virtual environments (cached under ~/.ansible/test).
#
# SANITY_VENV picks the virtual environment, hence the ansible-core (make sanity CORE=2.21 passes
# .venv-2.21); SANITY_PYTHON the Python the tests run on (default: that environment's own). The
# get-pip cache file is named after the pip version the environment's ansible-test pins
# (get_pip_24_2.py for ansible-core 2.19, get_pip_25_2.py for 2.21), read from ansible-test itself.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SANITY_VENV:-$root/.venv}
bin=$venv/bin
python_version=${SANITY_PYTHON:-$("$bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}
core=$("$bin/python" -c 'import ansible.release as r; print(".".join(r.__version__.split(".")[:2]))')
work=${SANITY_WORKDIR:-${TMPDIR:-/tmp}/nixl_efa-sanity-$core}

site=$("$bin/python" -c 'import ansible_collections.amazon.aws as m, pathlib; print(pathlib.Path(m.__path__[0]).parents[1])')
pip_version=$("$bin/python" - <<'PY'
import pathlib, re, ansible_test
text = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", text).group(1))
PY
)
cache=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [ ! -f "$cache" ]; then
    install -D -m 0644 "$root/tools/get_pip_offline.py" "$cache"
fi

dest=$work/ansible_collections/nixl_efa/cluster
rm -rf "$dest"
mkdir -p "$dest" "$work/ansible_collections/community"
# Tracked files deleted in the working tree are left out (--ignore-failed-read), as they are from the tree.
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar --ignore-failed-read -cf - -- 2>/dev/null) | tar -xf - -C "$dest"
ln -sfn "$site/amazon" "$work/ansible_collections/amazon"
ln -sfn "$site/community/aws" "$work/ansible_collections/community/aws"

cd "$dest"
export PATH=$bin:$PATH
exec ansible-test sanity --venv --python "$python_version" --color no "$@"
