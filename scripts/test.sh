#!/usr/bin/env bash
# `npm test`: installs what is needed (Node 22, pnpm, dependencies, Debian chromium), starts PostgreSQL,
# then runs lint, typecheck and every package's tests (unit, integration against PostgreSQL, the S3
# test server, the Label Studio simulator, and the console in headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
source scripts/services.sh
echo "[test] node $(node --version), pnpm $(pnpm --version)"
pnpm install --frozen-lockfile --config.pm-on-fail=ignore --reporter=silent
ensure_postgres
ensure_chromium
ensure_labelstudio || true # the real Label Studio contract tests; they fail loudly without it
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
pnpm exec biome check .
pnpm exec turbo run build typecheck --output-logs=errors-only
log="$(mktemp)"
set +e
pnpm exec turbo run test --concurrency=1 --output-logs=full 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run: vitest's per-package summaries, added up.
read -r passed failed < <(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '
  /:test: +Tests / {
    for (i = 1; i < NF; i++) {
      if ($(i + 1) ~ /^passed/) p += $i
      if ($(i + 1) ~ /^failed/) f += $i
    }
  }
  END { print p + 0, f + 0 }')
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
