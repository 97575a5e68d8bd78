#!/usr/bin/env bash
# Runs the MCP interoperability suites against separately started servers:
# builds cmd/vigil and examples/mcp-tool-server, serves
# examples/testdata/vigil-mcp.yaml (with @MCP_URL@ set to the tool
# server's endpoint) on a free loopback port with a temporary data
# directory, starts the tool server in front of it, then runs
#   - the examples module's Go tests against them (the official MCP Go
#     SDK's client, the example agent, the tool server's checks), and
#   - `npm ci && node --test` here (the official MCP TypeScript SDK).
# Needs go, node (18+; 20+ recommended), npm and curl; with CI=true and as
# root, node, npm and curl are installed from Debian's packages when
# missing. Exits with the first failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
tmp="$(mktemp -d)"
pids=()

cleanup() {
	for pid in "${pids[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

logs() {
	for f in "$tmp"/*.log; do
		[[ -f "$f" ]] || continue
		echo "--- $(basename "$f") (last 40 lines) ---" >&2
		tail -n 40 "$f" >&2
	done
}

fail() {
	echo "run.sh: $*" >&2
	logs
	exit 1
}

# apt_install installs Debian packages (scripts/apt-install.sh: with CI=true
# as root; elsewhere it says what to install and stops).
apt_install() { "$root/scripts/apt-install.sh" "$@"; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	if command -v node >/dev/null; then
		fail "node is installed without npm: install npm alongside this node"
	fi
	apt_install nodejs npm
fi
command -v curl >/dev/null || apt_install curl

free_port() {
	node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })'
}

wait_for() { # url pid what
	for _ in $(seq 1 150); do
		curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || fail "$3 exited before it was ready"
		sleep 0.2
	done
	fail "$3 not ready at $1 after 30s"
}

(cd "$root" && go build -o "$tmp/vigil" ./cmd/vigil) || fail "go build ./cmd/vigil failed"
(cd "$root/examples" && go build -o "$tmp/mcp-tool-server" ./mcp-tool-server) || fail "go build ./mcp-tool-server failed"

vigil_port="$(free_port)"
mcp_port="$(free_port)"
while [[ "$mcp_port" == "$vigil_port" ]]; do mcp_port="$(free_port)"; done
export VIGIL_URL="http://127.0.0.1:$vigil_port"
export MCP_URL="http://127.0.0.1:$mcp_port/mcp"
export VIGIL_CONFIG="$tmp/vigil-mcp.yaml"
export VIGIL_AGENT_KEY="$root/examples/testdata/agent-key.json"
sed "s|@MCP_URL@|$MCP_URL|g" "$root/examples/testdata/vigil-mcp.yaml" >"$VIGIL_CONFIG"

"$tmp/vigil" serve --config "$VIGIL_CONFIG" --data "$tmp/data" --listen "127.0.0.1:$vigil_port" \
	--issuer "$VIGIL_URL" >"$tmp/vigil.log" 2>&1 &
pids+=($!)
wait_for "$VIGIL_URL/health/ready" "${pids[-1]}" vigil
VIGIL_ADMIN_TOKEN="$(cat "$tmp/data/admin-token")"
export VIGIL_ADMIN_TOKEN

# The tool server's secret is the one the configuration gives tickets-mcp.
rs_secret="$(awk '/- id: tickets-mcp/{found=1} found && /secret:/{print $2; exit}' "$VIGIL_CONFIG")"
# Verdicts are not cached, so that a terminated session is refused at once.
VIGIL_RS_SECRET="$rs_secret" "$tmp/mcp-tool-server" -issuer "$VIGIL_URL" -client-id tickets-mcp \
	-resource "$MCP_URL" -listen "127.0.0.1:$mcp_port" -cache-ttl 0s >"$tmp/mcp-tool-server.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$mcp_port/.well-known/oauth-protected-resource/mcp" "${pids[-1]}" mcp-tool-server

echo "== MCP interop: the official Go SDK's client and the example agent (examples module)"
# One package at a time: the suites share the servers and terminate sessions.
(cd "$root/examples" && go test -count=1 -p 1 ./...) || fail "Go MCP interop tests failed"

echo "== MCP interop: the official TypeScript SDK"
cd "$here"
npm ci --no-audit --no-fund >"$tmp/npm.log" 2>&1 || { cat "$tmp/npm.log" >&2; fail "npm ci failed"; }
node --test || fail "TypeScript MCP interop tests failed"
