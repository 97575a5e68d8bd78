#!/usr/bin/env bash
# Benchmarks Vigil on bbolt, on PostgreSQL with one instance, and on
# PostgreSQL with three instances (one `vigil bench` per instance, at the
# same time), each on a fresh database. Prints requests/s per instance, the
# server CPU per request (utime+stime of the vigil processes) and database
# transactions per request (pg_stat_database). Each instance names itself
# as issuer (the bench drives one instance per process). Usage:
#   scripts/bench-cluster.sh [DURATION]      (default 10s per scenario)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
scen=introspect,client_credentials,exchange
bin=bin/vigil
out=bin/bench-cluster
mkdir -p "$out"
base=$(scripts/postgres-up.sh)
export VIGIL_SECRET=bench-cluster-secret-0123456789abcdef VIGIL_ADMIN_TOKEN=vat_bench-cluster-0123456789abcdefghij
tick=$(getconf CLK_TCK)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

cpu() { local t=0; for p in "$@"; do read -r -a f < /proc/"$p"/stat; t=$((t + f[13] + f[14])); done; echo "$t"; }
xacts() { psql "$1" -qtAc "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"; }
ready() { for _ in $(seq 1 100); do curl -fs "http://$1/health/ready" >/dev/null && return 0; sleep 0.1; done; return 1; }

# serve NAME PORT STORE: starts an instance, records its pid
serve() {
	local data; data=$(mktemp -d)
	$bin serve --listen "127.0.0.1:$2" --data "$data" --store "$3" --log-level error &
	pids+=($!)
	ready "127.0.0.1:$2"
}

# run LABEL DBURL PORT...: one bench per instance at once, then the figures
run() {
	local label=$1 db=$2; shift 2
	local ports=("$@") vp=("${pids[@]: -$#}")
	local c0 x0=0; c0=$(cpu "${vp[@]}")
	[ -n "$db" ] && x0=$(xacts "$db")
	local i=0 bp=()
	for p in "${ports[@]}"; do
		$bin bench --addr "http://127.0.0.1:$p" --scenarios "$scen" --duration "$dur" --warmup 2s \
			--connections 16 --json --out "$out/$label-$i" >/dev/null &
		bp+=($!); i=$((i + 1))
	done
	wait "${bp[@]}"
	local c1 x1=0; c1=$(cpu "${vp[@]}")
	[ -n "$db" ] && x1=$(xacts "$db")
	python3 - "$label" "$out" "${#ports[@]}" $(( (c1 - c0) * 1000000 / tick )) $((x1 - x0)) <<'PY'
import json, sys, glob
label, out, n, cpu_us, xacts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
per, total = {}, 0
for f in sorted(glob.glob(f"{out}/{label}-*.json")):
    rep = json.load(open(f))
    for s in rep["scenarios"]:
        per.setdefault(s["name"], []).append(sum(o["req_per_sec"] for o in s["ops"]))
        total += sum(o["requests"] for o in s["ops"])
for name, rates in per.items():
    print(f"{label}: {name}: {sum(rates)/len(rates):,.0f} requests/s per instance ({sum(rates):,.0f} total, {n} instance(s))")
print(f"{label}: server CPU {cpu_us/max(total,1):.0f} µs per request; database transactions {xacts/max(total,1):.2f} per request ({total} requests)")
PY
}

make -s build
serve bolt 18601 bolt
run bolt "" 18601
db1="${base%/*}/vigil_bench_$RANDOM"; db1="${db1}?sslmode=disable"
psql "$base" -qc "CREATE DATABASE $(basename "${db1%%\?*}")"
serve pg1 18611 "$db1"
run pg1 "$db1" 18611
db3="${base%/*}/vigil_bench_$RANDOM"; db3="${db3}?sslmode=disable"
psql "$base" -qc "CREATE DATABASE $(basename "${db3%%\?*}")"
serve pg3a 18621 "$db3"; serve pg3b 18622 "$db3"; serve pg3c 18623 "$db3"
run pg3 "$db3" 18621 18622 18623
