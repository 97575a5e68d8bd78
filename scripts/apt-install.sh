#!/usr/bin/env bash
# apt-install.sh PACKAGE... installs Debian packages for a test suite when
# run with CI=true as root: it waits out another apt or dpkg run and retries
# a failed download. Elsewhere it says what to install and exits 1.
set -euo pipefail
if [[ "${CI:-}" != "true" || "$(id -u)" != "0" ]]; then
	echo "apt-install: needs $* (Debian: apt-get install $*)" >&2
	exit 1
fi
echo "apt-install: installing $* from Debian's packages" >&2
for i in 1 2 3 4 5; do
	if apt-get -o DPkg::Lock::Timeout=300 update -qq >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >/dev/null; then
		exit 0
	fi
	sleep $((i * 10))
done
echo "apt-install: could not install $*" >&2
exit 1
