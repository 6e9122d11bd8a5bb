#!/usr/bin/env bash
# `npm test`: install missing test tools, build dist/snetd, run every bun test file, and end with one
# line `N passed, N failed` (`, N skipped`). Extra arguments go to `bun test` (e.g. a path filter).
set -euo pipefail
cd "$(dirname "$0")/.."

BUN=./node_modules/.bin/bun
OUT=.test-output
if [[ ! -x "$BUN" ]]; then
  echo "tests/run.sh: '$BUN' not found; run 'npm ci' first" >&2
  exit 1
fi

bash tests/kit/setup.sh

if [[ -f build.ts ]]; then
  npm run build
else
  echo "tests/run.sh: note: build.ts not found, skipping 'npm run build'; tests that need dist/snetd will fail"
fi

# Bun does not create the report's directory, and a stale report must not be read as this run's.
mkdir -p "$OUT"
rm -f "$OUT/junit.xml" "$OUT/console.log"

# --timeout: the default is 5 s, too short for suites that start anvil, etcd and daemons, and Bun
# 1.4.5 reads no timeout from bunfig. --no-orphans: when bun test exits, every process a test
# started dies too, even one a crashed test never stopped (it would also hold the tee pipe open).
status=0
"$BUN" test --timeout=60000 --no-orphans --reporter=junit --reporter-outfile="$OUT/junit.xml" "$@" 2>&1 \
  | tee "$OUT/console.log" || status=${PIPESTATUS[0]}

exec "$BUN" tests/junit-summary.ts "$OUT/junit.xml" --console "$OUT/console.log" --exit-code "$status"
