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
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
pnpm exec biome check .
pnpm exec turbo run build typecheck --output-logs=errors-only
pnpm exec turbo run test --concurrency=1 --output-logs=full
