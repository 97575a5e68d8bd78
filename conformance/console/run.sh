#!/usr/bin/env bash
# Runs the admin console's end-to-end tests in headless Chromium: builds
# cmd/vigil, serves examples/vigil.yaml (plus a read-only admin credential)
# on a free loopback port with a temporary data directory, waits for
# /health/ready, runs `npm ci && node --test` (playwright-core driving the
# system's Chromium, axe-core for accessibility), and stops the server.
#
# Needs go, node (20+), npm, curl and Chromium (CHROMIUM names another
# binary than chromium). With CI=true and as root, what a fresh Debian
# lacks is installed: chromium, nodejs, npm and curl from Debian's
# packages, and, where Debian's Node.js is older than 20 (bookworm has 18),
# Node.js 20 from npm (the package node@20) under bin/console-node.
# Screenshots of every page go to CONSOLE_ARTIFACTS (default
# bin/console-artifacts). Exits with the test runner's status.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
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

ci_root() { [[ "${CI:-}" == "true" && "$(id -u)" == "0" ]]; }

# apt_install installs Debian packages (scripts/apt-install.sh: with CI=true
# as root; elsewhere it says what to install and stops).
apt_install() { "$root/scripts/apt-install.sh" "$@"; }

if [[ -z "${CHROMIUM:-}" ]] && ! command -v chromium >/dev/null; then
	apt_install chromium
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	command -v node >/dev/null && fail "node is installed without npm: install npm alongside this node"
	apt_install nodejs npm
fi
command -v curl >/dev/null || apt_install curl
node_major() { node -p 'process.versions.node.split(".")[0]'; }
if (($(node_major) < 20)); then
	# playwright-core needs Node.js 20; Debian bookworm's is 18.
	ci_root || fail "needs Node.js 20 or later (this is $(node --version))"
	echo "run.sh: installing Node.js 20 from npm (node@20) under bin/console-node" >&2
	npm install --prefix "$root/bin/console-node" --no-save --no-audit --no-fund node@20 >/dev/null ||
		fail "npm install node@20 failed"
	export PATH="$root/bin/console-node/node_modules/.bin:$PATH"
	(($(node_major) >= 20)) || fail "Node.js 20 from npm did not install"
fi
export CHROMIUM="${CHROMIUM:-$(command -v chromium || true)}"
[[ -x "$CHROMIUM" ]] || fail "Chromium not found: apt-get install chromium, or set CHROMIUM"
export CONSOLE_ARTIFACTS="${CONSOLE_ARTIFACTS:-$root/bin/console-artifacts}"
mkdir -p "$CONSOLE_ARTIFACTS"

(cd "$root" && go build -o "$tmp/vigil" ./cmd/vigil) || fail "go build ./cmd/vigil failed"

# A read-only administrator: the file names the SHA-256 of its token.
readonly_token="vat_$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
digest="$(printf %s "$readonly_token" | sha256sum | cut -d' ' -f1)"
cp "$root/examples/vigil.yaml" "$tmp/vigil.yaml"
cat >>"$tmp/vigil.yaml" <<YAML

admins:
  - name: auditor
    role: read-only
    token_sha256: $digest
YAML

port="$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')"
url="http://127.0.0.1:$port"
"$tmp/vigil" serve --config "$tmp/vigil.yaml" --data "$tmp/data" \
	--listen "127.0.0.1:$port" --issuer "$url" >"$tmp/vigil.log" 2>&1 &
pid=$!

for _ in $(seq 1 150); do
	if curl -fsS -o /dev/null --max-time 2 "$url/health/ready" 2>/dev/null; then
		break
	fi
	kill -0 "$pid" 2>/dev/null || fail "vigil exited before it was ready"
	sleep 0.2
done
curl -fsS -o /dev/null --max-time 2 "$url/health/ready" || fail "vigil not ready at $url after 30s"

cd "$here"
npm ci --no-audit --no-fund >"$tmp/npm.log" 2>&1 || { cat "$tmp/npm.log" >&2; fail "npm ci failed"; }
status=0
VIGIL_URL="$url" VIGIL_ADMIN_TOKEN="$(tr -d '\n' <"$tmp/data/admin-token")" VIGIL_READONLY_TOKEN="$readonly_token" \
	node --test || status=$?
if [[ $status -ne 0 ]]; then
	echo "--- vigil log (last 50 lines) ---" >&2
	tail -n 50 "$tmp/vigil.log" >&2
fi
exit "$status"
