#!/bin/sh
# npm install method of the nixl_efa.cluster.code_server role: code-server VERSION from the npm
# registry npm is configured with, on the distribution's Node.js, native modules built here.
#
#   sh -s VERSION < code_server_npm_install.sh        (as root)
#
# It does what code-server's own postinstall.sh does, in an order that works with npm 9 and
# without GitHub:
#   - `npm install -g` hands npm_config_global=true to the package's postinstall, so the nested
#     `npm install` it runs in lib/vscode installs VS Code's server modules into the global
#     prefix instead of lib/vscode (the editor then fails with "Cannot find module"). The
#     package is installed with --ignore-scripts and its postinstall run afterwards, outside
#     the global context.
#   - VS Code's @vscode/ripgrep downloads its rg binary from GitHub in its install script; the
#     distribution's rg (package ripgrep) is put where that script looks first.
#   - node-addon-api in VS Code's kerberos module does not compile against Node 18.20's headers
#     with NAPI_EXPERIMENTAL; NODE_API_EXPERIMENTAL_NOGC_ENV_OPT_OUT is Node's own switch back.
set -eu

version=$1
export CXXFLAGS="${CXXFLAGS:-} -DNODE_API_EXPERIMENTAL_NOGC_ENV_OPT_OUT"

npm install --global --unsafe-perm --ignore-scripts --no-audit --no-fund "code-server@$version"
root=$(npm root --global)/code-server
cd "$root"
# code-server's postinstall with the scripts of the modules it installs held back: lays out
# lib/vscode/node_modules, lib/vscode/extensions/node_modules and the links.
npm_config_ignore_scripts=true npm run postinstall --unsafe-perm
rg_dir=lib/vscode/node_modules/@vscode/ripgrep/bin
if [ -d lib/vscode/node_modules/@vscode/ripgrep ] && [ ! -e "$rg_dir/rg" ]; then
    mkdir -p "$rg_dir"
    ln -s "$(command -v rg)" "$rg_dir/rg"
fi
# Now the install scripts: argon2 (code-server), then VS Code's native modules and extensions.
npm rebuild --unsafe-perm
(cd lib/vscode && npm rebuild --unsafe-perm)
(cd lib/vscode/extensions && npm rebuild --unsafe-perm)
# Stray global packages an earlier plain `npm install -g code-server` may have left behind.
for stray in vscode-reh vscode-extensions; do
    if [ -e "$(npm root --global)/$stray" ]; then
        npm uninstall --global "$stray"
    fi
done
test -x "$(npm prefix --global)/bin/code-server"
test -e lib/vscode/node_modules/@vscode/spdlog
echo "code-server $version installed under $root"
