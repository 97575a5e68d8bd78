#!/usr/bin/env bash
# Runs the Python Authlib interoperability tests against a freshly built
# Vigil serving conformance/vigil.yaml (scripts/with-server.sh), or against
# VIGIL_URL when it is set. Uses Debian's python3 with python3-authlib and
# python3-requests; with CI=true and as root it installs them (and curl)
# when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
py=/usr/bin/python3

# apt_install installs Debian packages (scripts/apt-install.sh: with CI=true
# as root; elsewhere it says what to install and stops).
apt_install() { "$root/scripts/apt-install.sh" "$@"; }

if ! "$py" -c 'import authlib, requests' 2>/dev/null; then
	apt_install python3 python3-authlib python3-requests
fi
command -v curl >/dev/null || apt_install curl # scripts/with-server.sh waits with it
echo "authlib $("$py" -c 'import authlib; print(authlib.__version__)')"

# Authlib refuses plain-http endpoints unless told they are a test's loopback.
export AUTHLIB_INSECURE_TRANSPORT=1
if [[ -n "${VIGIL_URL:-}" ]]; then
	exec "$py" -W ignore::ResourceWarning -m unittest -v "$here/test_authlib.py"
fi
exec "$root/scripts/with-server.sh" "$root/conformance/vigil.yaml" \
	"$py" -W ignore::ResourceWarning -m unittest discover -v -s "$here" -p 'test_*.py'
