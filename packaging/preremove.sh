#!/bin/sh
# Stop the service before its files go; the data in /var/lib/vigil stays.
set -e
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl stop vigil.service >/dev/null 2>&1 || true
	systemctl disable vigil.service >/dev/null 2>&1 || true
fi
