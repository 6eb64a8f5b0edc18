#!/usr/bin/env bash
# Runs every benchmark (packages/*/bench/*.bench.ts), each printing a table and writing bench/results/<name>.json.
# Usage: pnpm bench [name-filter]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
source scripts/services.sh
ensure_postgres
pnpm exec turbo run build --output-logs=errors-only
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
filter="${1:-}"
status=0
for file in packages/*/bench/*.bench.ts; do
  [ -e "$file" ] || continue
  case "$file" in *"$filter"*) ;; *) continue ;; esac
  pkg_dir="${file%%/bench/*}"
  echo ">>> $file"
  (cd "$pkg_dir" && node --conditions=@labeler/source --import tsx "bench/$(basename "$file")") || { echo "!!! $file failed"; status=1; }
done
exit $status
