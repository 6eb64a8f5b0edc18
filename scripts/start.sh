#!/usr/bin/env bash
# `npm start`: installs what is needed, builds, and starts Labeler (server + console) on the embedded
# PGlite database and local-disk storage in ./data. Set DATABASE_URL to use PostgreSQL instead.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
pnpm install --frozen-lockfile --config.pm-on-fail=ignore --reporter=silent
pnpm exec turbo run build --output-logs=errors-only
export NODE_ENV="${NODE_ENV:-production}"
export LABELER_DATA_DIR="${LABELER_DATA_DIR:-$PWD/data}"
# main.js first re-executes itself with the production Node flags, listed once in
# packages/server/src/node-flags.ts: AsyncLocalStorage without promise hooks (about 20% more API
# throughput) and a capped V8 young generation (memory; see the server README).
exec node packages/server/dist/main.js
