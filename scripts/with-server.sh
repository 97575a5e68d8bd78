#!/usr/bin/env bash
# Usage: scripts/with-server.sh CONFIG COMMAND [ARGS...]
#
# Builds Vigil, serves CONFIG on a free loopback port with a temporary data
# directory, waits for /health/ready, runs COMMAND with VIGIL_URL set to the
# server's issuer, then stops the server with SIGTERM and checks that it
# exited cleanly. Exits with COMMAND's status (or 1 if the server misbehaved).
set -euo pipefail

config="$1"; shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
pid=""

cleanup() {
	if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

(cd "$root" && go build -o "$tmp/vigil" ./cmd/vigil)
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
url="http://127.0.0.1:$port"
"$tmp/vigil" serve --config "$config" --data "$tmp/data" --listen "127.0.0.1:$port" --issuer "$url" >"$tmp/vigil.log" 2>&1 &
pid=$!

for _ in $(seq 1 150); do
	curl -fsS -o /dev/null --max-time 2 "$url/health/ready" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { echo "vigil exited before it was ready:" >&2; cat "$tmp/vigil.log" >&2; exit 1; }
	sleep 0.2
done

status=0
VIGIL_URL="$url" "$@" || status=$?

kill -TERM "$pid"
if ! wait "$pid"; then
	echo "vigil did not exit cleanly on SIGTERM" >&2
	status=1
fi
pid=""
if [[ $status -ne 0 ]]; then
	echo "--- vigil log (last 40 lines) ---" >&2
	tail -n 40 "$tmp/vigil.log" >&2
fi
exit "$status"
