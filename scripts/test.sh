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
ensure_python_httpx
ensure_labelstudio || true # the real Label Studio contract tests; they fail loudly without it
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
# A lint or typecheck failure does not skip the tests: each step's status is kept and reported at the end.
failed_steps=()
pnpm exec biome check . || failed_steps+=(lint)
pnpm exec depcruise packages --config .dependency-cruiser.cjs || failed_steps+=(dependencies)
pnpm exec turbo run build typecheck --continue --output-logs=errors-only || failed_steps+=(build/typecheck)
log="$(mktemp)"
set +e
# --continue: a failing package does not skip the other packages' tests. Arguments go to turbo
# (e.g. `npm test -- --filter=@labeler/core`).
pnpm exec turbo run test --continue --concurrency=1 --output-logs=full --summarize "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One line per package from its vitest summaries and its task's exit code (from this run's summary file),
# then the total line CI reads: "tests: N passed, N failed".
summary="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | sed -n 's/^ *Summary: *//p' | tail -n1)"
node scripts/test-summary.mjs "$log" "${summary:-no-turbo-summary}" || status=1
rm -f "$log"
[ "$status" -eq 0 ] || failed_steps+=(tests)
if [ "${#failed_steps[@]}" -gt 0 ]; then
  printf -v steps '%s, ' "${failed_steps[@]}"
  echo "[test] failed: ${steps%, }"
  exit 1
fi
