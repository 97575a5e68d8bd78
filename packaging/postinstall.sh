#!/bin/sh
# Let systemd see the unit; start nothing: the operator configures first.
set -e
chown root:vigil /etc/vigil/vigil.yaml /etc/vigil/vigil.env 2>/dev/null || true
chmod 0640 /etc/vigil/vigil.yaml /etc/vigil/vigil.env 2>/dev/null || true
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
