#!/usr/bin/env bash
# Runs the Node Shared Signals test (ssf-signals.mjs): builds cmd/vigil,
# installs the npm packages, and lets the test start, kill -9 and restart
# Vigil itself. SSF_OUTAGE_MS sets how long the test receiver stays down
# (default 60000). Needs go, node (20+) and npm.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/vigil" ./cmd/vigil)
cd "$here"
npm ci --no-audit --no-fund >"$tmp/npm.log" 2>&1 || { cat "$tmp/npm.log" >&2; exit 1; }
VIGIL_BIN="$tmp/vigil" node --test ssf-signals.mjs
