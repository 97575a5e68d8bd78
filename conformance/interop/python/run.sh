#!/usr/bin/env bash
# Runs the Python Authlib interoperability tests against a freshly built
# Vigil serving conformance/vigil.yaml (scripts/with-server.sh), or against
# VIGIL_URL when it is set. Uses Debian's python3 with python3-authlib and
# python3-requests; with CI=true and as root it installs them when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
py=/usr/bin/python3

if ! "$py" -c 'import authlib, requests' 2>/dev/null; then
	if [[ "${CI:-}" == "true" && "$(id -u)" == "0" ]]; then
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-authlib python3-requests >/dev/null
	else
		echo "run.sh: needs Debian's python3-authlib and python3-requests (apt-get install python3-authlib python3-requests)" >&2
		exit 1
	fi
fi
echo "authlib $("$py" -c 'import authlib; print(authlib.__version__)')"

# Authlib refuses plain-http endpoints unless told they are a test's loopback.
export AUTHLIB_INSECURE_TRANSPORT=1
if [[ -n "${VIGIL_URL:-}" ]]; then
	exec "$py" -W ignore::ResourceWarning -m unittest -v "$here/test_authlib.py"
fi
exec "$root/scripts/with-server.sh" "$root/conformance/vigil.yaml" \
	"$py" -W ignore::ResourceWarning -m unittest discover -v -s "$here" -p 'test_*.py'
