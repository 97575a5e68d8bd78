#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 for the storage
# suite and the cluster test: starts the machine's cluster when it is down,
# installs PostgreSQL when it is missing (Debian), and prints the URL of a
# role that may create databases. Fails if none can be had.
set -euo pipefail
host=127.0.0.1 port=5432
url="postgres://postgres@$host:$port/postgres?sslmode=disable"

answers() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }

if ! command -v pg_ctlcluster >/dev/null; then
	echo "postgres-up: installing PostgreSQL" >&2
	apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
if ! answers; then
	for v in $(ls /etc/postgresql); do
		echo "postgres-up: starting cluster $v/main" >&2
		pg_ctlcluster --skip-systemctl-redirect "$v" main start >&2 || true
	done
	for _ in $(seq 1 30); do answers && break; sleep 1; done
fi
answers || { echo "postgres-up: no PostgreSQL answers on $host:$port" >&2; exit 1; }
if ! psql "$url" -qtAc 'SELECT 1' >/dev/null 2>&1; then
	# A fresh install authenticates local TCP connections by password.
	pass=vigil-ci
	su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD '$pass'\"" >&2
	url="postgres://postgres:$pass@$host:$port/postgres?sslmode=disable"
	psql "$url" -qtAc 'SELECT 1' >/dev/null || { echo "postgres-up: cannot connect as postgres" >&2; exit 1; }
fi
echo "$url"
