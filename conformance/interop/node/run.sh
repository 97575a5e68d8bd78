#!/usr/bin/env bash
# Runs the Node interoperability tests (openid-client, jose) against a
# freshly built Vigil: builds cmd/vigil, serves conformance/vigil.yaml on a
# free loopback port with a temporary data directory, waits for
# /health/ready, runs `npm ci && node --test`, and stops the server.
# Needs go, node (20+) and npm. Exits with the test runner's status.
#
# With VIGIL_URL already set, no server is started: the tests run against
# that issuer (which must serve conformance/vigil.yaml).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tmp="$(mktemp -d)"
pid=""

cleanup() {
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "run.sh: $*" >&2
	if [[ -f "$tmp/vigil.log" ]]; then
		echo "--- vigil log (last 50 lines) ---" >&2
		tail -n 50 "$tmp/vigil.log" >&2
	fi
	exit 1
}

ready() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsS -o /dev/null --max-time 2 "$1"
	else
		node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1"
	fi
}

run_tests() {
	cd "$here"
	npm ci --no-audit --no-fund >"$tmp/npm.log" 2>&1 || { cat "$tmp/npm.log" >&2; fail "npm ci failed"; }
	VIGIL_URL="$1" node --test
}

if [[ -n "${VIGIL_URL:-}" ]]; then
	run_tests "$VIGIL_URL"
	exit
fi

(cd "$root" && go build -o "$tmp/vigil" ./cmd/vigil) || fail "go build ./cmd/vigil failed"

port="$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')"
url="http://127.0.0.1:$port"

"$tmp/vigil" serve --config "$root/conformance/vigil.yaml" --data "$tmp/data" \
	--listen "127.0.0.1:$port" --issuer "$url" >"$tmp/vigil.log" 2>&1 &
pid=$!

for _ in $(seq 1 150); do
	if ready "$url/health/ready"; then
		break
	fi
	kill -0 "$pid" 2>/dev/null || fail "vigil exited before it was ready"
	sleep 0.2
done
ready "$url/health/ready" || fail "vigil not ready at $url after 30s"

# A served conformance/vigil.yaml demands DPoP nonces (dpop_nonce defaults on).
status=0
VIGIL_EXPECT_DPOP_NONCE=1 run_tests "$url" || status=$?
if [[ $status -ne 0 ]]; then
	echo "--- vigil log (last 50 lines) ---" >&2
	tail -n 50 "$tmp/vigil.log" >&2
fi
exit "$status"
