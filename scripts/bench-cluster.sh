#!/usr/bin/env bash
# Benchmarks Vigil on bbolt, on PostgreSQL with one instance, and on
# PostgreSQL with three instances sharing one database. Each scenario runs on
# fresh servers (a fresh data directory, a fresh database) with one
# `vigil bench` per instance; once every bench has prepared its scenario
# they start together (--start-file), and the figures come from the window
# in which every bench is measuring (after the last one's warm-up, until the
# first one stops):
#   - requests/s per instance;
#   - Vigil CPU per request (utime+stime of the vigil processes);
#   - PostgreSQL CPU per request (the backends connected to the database);
#   - database transactions per request (pg_stat_database; each read outside
#     a transaction is one), which includes the change feed's polls;
#   - Vigil's own database reads and write transactions per request (its
#     storage counters, from each bench's report).
# Three instances run twice: as configured by default, where each client's
# risk is judged by its owner (an event for a client owned elsewhere is
# forwarded; the benches' clients are spread over the three), and with
# --cluster-url off (pg3-local), where each instance judges what it
# receives, as behind a load balancer with client affinity.
# The benches run with --keep: the servers are thrown away, and removing the
# bench's clients would end every session of the run one at a time (minutes
# per instance; it is why three instances once overran their time budget).
# Usage: scripts/bench-cluster.sh [DURATION [RUNS]]   (default 10s, 1 run)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s} runs=${2:-1} warmup=2s
# Each instance's pool: 8 connections keep three instances well inside a
# shared server's max_connections; two cores run fewer transactions at once.
pool=${BENCH_POOL:-8}
scenarios=(introspect client_credentials exchange)
bin=bin/vigil
out=bin/bench-cluster
mkdir -p "$out"
base=$(scripts/postgres-up.sh)
export VIGIL_SECRET=bench-cluster-secret-0123456789abcdef VIGIL_ADMIN_TOKEN=vat_bench-cluster-0123456789abcdefghij
pids=() dbs=() bp=()
stop() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	for d in "${dbs[@]}"; do q "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null || true; done
	dbs=()
}
trap stop EXIT

ready() { for _ in $(seq 1 300); do curl -fs "http://$1/health/ready" >/dev/null && return 0; sleep 0.1; done; return 1; }

# ticks PID...: "pid:utime+stime" for each process still running.
ticks() {
	local p f
	for p in "$@"; do
		read -r -a f 2>/dev/null </proc/"$p"/stat || continue
		echo "$p:$((f[13] + f[14]))"
	done
}

# q SQL: one value from the server, retried while it refuses connections.
q() {
	local i
	for i in $(seq 1 50); do psql "$base" -qtAc "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "bench-cluster: PostgreSQL did not answer: $1" >&2
	return 1
}

# sample DB FILE: the time, the vigil processes' and the database backends'
# CPU ticks, and the database's transactions so far.
sample() {
	local db=$1 file=$2
	{
		echo "at $(date +%s.%N)"
		echo "vigil $(ticks "${pids[@]}" | tr '\n' ' ')"
		if [ -n "$db" ]; then
			echo "pg $(ticks $(q "SELECT pid FROM pg_stat_activity WHERE datname = '$db'") | tr '\n' ' ')"
			echo "xacts $(q "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$db'")"
		fi
	} >"$file"
}

# waitlog PATTERN LOG...: until every log has a line matching PATTERN
# (ANY=1: until one has); fails when a bench (pids in bp) has ended first.
waitlog() {
	local pat=$1 dead=0; shift
	while :; do
		local n=0 l p
		for l in "$@"; do grep -q "$pat" "$l" 2>/dev/null && n=$((n + 1)); done
		if [ "${ANY:-0}" = 1 ] && [ "$n" -gt 0 ]; then return 0; fi
		[ "$n" -eq $# ] && return 0
		if [ "$dead" = 1 ]; then # looked again after a bench ended: it ended early
			echo "bench-cluster: a bench ended early:" >&2
			cat "$@" >&2
			return 1
		fi
		for p in "${bp[@]}"; do kill -0 "$p" 2>/dev/null || dead=1; done
		[ "$dead" = 1 ] || sleep 0.05
	done
}

# one LABEL N STORE SCENARIO [SERVE-FLAGS...]: N fresh instances on STORE
# ("bolt" or "postgres"), one bench each for SCENARIO, then the figures.
one() {
	local label=$1 n=$2 store=$3 scen=$4 db="" url=bolt
	shift 4
	if [ "$store" = postgres ]; then
		db="vigil_bench_$RANDOM$RANDOM"
		q "CREATE DATABASE $db" >/dev/null
		dbs+=("$db")
		url="${base%/*}/$db?sslmode=disable&pool_max_conns=$pool"
	fi
	local ports=() i
	for i in $(seq 1 "$n"); do
		local port=$((18600 + i)) data; data=$(mktemp -d)
		$bin serve --listen "127.0.0.1:$port" --data "$data" --store "$url" --log-level error "$@" &
		pids+=($!) ports+=("$port")
	done
	for p in "${ports[@]}"; do ready "127.0.0.1:$p"; done
	local tag="$out/$label-$scen" logs=()
	bp=() i=0
	rm -f "$tag.start"
	for p in "${ports[@]}"; do
		$bin bench --addr "http://127.0.0.1:$p" --scenarios "$scen" --duration "$dur" --warmup "$warmup" \
			--connections 16 --keep --start-file "$tag.start" --json --out "$tag-$i" >/dev/null 2>"$tag-$i.log" &
		bp+=($!) logs+=("$tag-$i.log"); i=$((i + 1))
	done
	waitlog "$scen: prepared" "${logs[@]}"
	touch "$tag.start"
	waitlog "$scen: running" "${logs[@]}"
	sleep "${warmup%s}"
	sample "$db" "$tag.a"
	ANY=1 waitlog "$scen: .* req/s" "${logs[@]}"
	sample "$db" "$tag.b"
	wait "${bp[@]}"
	stop
	python3 - "$label" "$scen" "$tag" "$n" <<'PY'
import json, sys
label, scen, tag, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def load(f):
    d = {}
    for line in open(f):
        k, _, v = line.strip().partition(" ")
        d[k] = v
    return d
def cpu(a, b, k):
    pa = dict(x.split(":") for x in a.get(k, "").split())
    pb = dict(x.split(":") for x in b.get(k, "").split())
    return sum(int(t) - int(pa.get(p, 0)) for p, t in pb.items()) * 10000  # 100 ticks/s, in µs
a, b = load(tag + ".a"), load(tag + ".b")
window = float(b["at"]) - float(a["at"])
rates, reads, writes, errors = [], [], [], 0
for i in range(n):
    s = json.load(open(f"{tag}-{i}.json"))["scenarios"][0]
    rates.append(sum(o["req_per_sec"] for o in s["ops"]))
    errors += sum(o["errors"] for o in s["ops"])
    srv = s.get("server") or {}
    reads.append(srv.get("read_tx_per_request"))
    writes.append(srv.get("write_tx_per_request"))
reqs = sum(rates) * window
line = (f"{label} {scen}: {sum(rates)/n:,.0f} requests/s per instance ({sum(rates):,.0f} total, {n} instance(s), "
        f"{errors} errors); Vigil CPU {cpu(a, b, 'vigil')/reqs:.0f} µs/request")
if "xacts" in a:
    line += (f"; PostgreSQL CPU {cpu(a, b, 'pg')/reqs:.0f} µs/request; "
             f"database transactions {(int(b['xacts']) - int(a['xacts']))/reqs:.2f}/request")
if None not in reads + writes:
    line += f"; Vigil's database reads {sum(reads)/n:.2f}/request, write transactions {sum(writes)/n:.2f}/request"
line += f" (common window {window:.1f} s)"
print(line, flush=True)
PY
}

# try ARGS...: one ARGS..., again (up to three times) when it fails, as
# when the shared database server restarts under it.
try() {
	local i
	for i in 1 2 3; do
		(trap stop EXIT; one "$@") &
		wait $! && return 0
		echo "bench-cluster: $1 $4 failed (attempt $i)" >&2
	done
	return 1
}

make -s build
echo "bench-cluster: $(git rev-parse --short HEAD), $dur per scenario, $runs run(s), load $(cut -d' ' -f1-3 /proc/loadavg) at start"
for r in $(seq 1 "$runs"); do
	for scen in "${scenarios[@]}"; do
		try bolt 1 bolt "$scen"
		try pg1 1 postgres "$scen"
		try pg3 3 postgres "$scen"
		try pg3-local 3 postgres "$scen" --cluster-url off
	done
	echo "bench-cluster: run $r done, load $(cut -d' ' -f1-3 /proc/loadavg)"
done
