#!/bin/sh
# Create the vigil system user and group the service runs as.
set -e
if ! getent group vigil >/dev/null 2>&1; then
	groupadd --system vigil
fi
if ! getent passwd vigil >/dev/null 2>&1; then
	useradd --system --gid vigil --home-dir /var/lib/vigil --no-create-home \
		--shell /usr/sbin/nologin --comment "Vigil authorization server" vigil
fi
