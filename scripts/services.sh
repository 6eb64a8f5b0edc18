# Sourced by project scripts: starts the local services tests need when they are down.
ensure_postgres() {
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then return 0; fi
  if [ -d /etc/postgresql ]; then
    echo "[services] starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 1; done
  fi
  echo "[services] PostgreSQL is not reachable at 127.0.0.1:5432; tests that need it will fail" >&2
  return 1
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  echo "[services] installing Debian chromium for the console's browser tests" >&2
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "[services] chromium install failed" >&2
  else
    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "[services] chromium install failed" >&2
  fi
}

# Debian's python3 with python3-httpx for test/python-client.test.ts (docs/examples/platform_client.py).
# The test fails loudly without it; it does not skip.
ensure_python_httpx() {
  if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import httpx' >/dev/null 2>&1; then return 0; fi
  echo "[services] installing Debian python3-httpx for the Python client example's test" >&2
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-httpx >/dev/null) || echo "[services] python3-httpx install failed" >&2
  else
    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-httpx >/dev/null) || echo "[services] python3-httpx install failed" >&2
  fi
}

# A real Label Studio 1.7.3 for the Label Studio contract tests (shared/labelstudio, a sibling of the
# repository or of one of its parents), on its own port (LABELSTUDIO_PORT, default 8091) with a fresh
# database and document root. Exports LABELSTUDIO_URL/LABELSTUDIO_TOKEN/LABELSTUDIO_DOCUMENT_ROOT and stops
# it when the calling script exits. Without the scripts the real tests still fail loudly, never skip.
ensure_labelstudio() {
  if [ -n "${LABELSTUDIO_URL:-}" ] && [ -n "${LABELSTUDIO_TOKEN:-}" ]; then return 0; fi
  local dir="${LABELSTUDIO_SCRIPTS:-}" up port out
  up="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  while [ -z "$dir" ] && [ "$up" != / ]; do
    up="$(dirname "$up")"
    [ -f "$up/shared/labelstudio/start.sh" ] && dir="$up/shared/labelstudio"
  done
  if [ -z "$dir" ]; then
    echo "[services] shared/labelstudio/start.sh not found: the real Label Studio tests will fail" >&2
    return 1
  fi
  port="${LABELSTUDIO_PORT:-8091}"
  export LABELSTUDIO_DOCUMENT_ROOT="${LABELSTUDIO_DOCUMENT_ROOT:-$(mktemp -d)}"
  echo "[services] starting Label Studio 1.7.3 on port $port" >&2
  out="$(LABELSTUDIO_PORT="$port" LABELSTUDIO_FRESH=1 bash "$dir/start.sh")" || {
    echo "[services] Label Studio did not start; the real Label Studio tests will fail" >&2
    return 1
  }
  LABELSTUDIO_URL="$(printf '%s\n' "$out" | sed -n 's/^LABELSTUDIO_URL=//p')"
  LABELSTUDIO_TOKEN="$(printf '%s\n' "$out" | sed -n 's/^LABELSTUDIO_TOKEN=//p')"
  export LABELSTUDIO_URL LABELSTUDIO_TOKEN
  # shellcheck disable=SC2064 # expand now: stop this instance, whatever the caller changes later
  trap "LABELSTUDIO_PORT='$port' bash '$dir/stop.sh' >/dev/null 2>&1 || true" EXIT
}
