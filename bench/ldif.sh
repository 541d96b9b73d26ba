#!/usr/bin/env bash
# Bench for ldif/export: our paged export (lean decoder on its own connection,
# streamed to LDIF) vs `ldapsearch -x -LLL -E pr=1000/noprompt` of the same
# search on a real slapd seeded offline with slapadd, run interleaved
# (A B A B ...). Prints medians, entries/s ratio ours/theirs (target >= 1.0)
# and our peak RSS (target < 64 MiB), at the full count and at half of it
# (filter uid=user0*) to show RSS stays flat as the count doubles.
# BENCH_SCALE=small seeds 20k users instead of 200k.
#
# Measured (2 vCPU, ROUNDS=3, 210,010 entries): with go-ldap's SearchAsync
# 0.35-0.40x, RSS 25 MiB; with the lean decoder (ldif/export/ber.go), two
# runs: full 1.67 s vs ldapsearch 2.86 s = 1.72x and 1.61 s vs 2.21 s = 1.37x,
# half 1.39x and 1.59x, peak RSS 12-13 MiB at both counts (flat). LDIFBENCH_CPUPROFILE=FILE makes `export` write a
# CPU profile; LDIFBENCH_PAGESIZE=N changes our page size (default 1000, as ldapsearch's).
#
# With the root DSE check, the non-critical control, a 256 KiB writer and
# writeback every 8 MiB (2026-12-06, load average 27-45 on the 2 cores from
# other engineers' tests): full 6.17 s vs 26.59 s = 4.31x, half 3.59 s vs
# 13.35 s = 3.72x, peak RSS 24 MiB at both counts; client CPU ours 1.54 s vs
# ldapsearch 3.11 s (full), 0.57 s vs 1.25 s (half). A profile shows the
# client mostly waiting for slapd (250 ms of CPU in a 1.8 s export of 52k
# entries, a third of it in write syscalls, 12% sha256): the ratio depends on
# how promptly a client drains the socket when the machine is busy (we read
# 256 KiB at a time) more than on decoding, and page size (1000 vs 10000)
# made no measurable difference, so there is nothing for request pipelining
# to win.
set -euo pipefail

USERS=200000 HALF='(uid=user0*)' # user000000-user099999
if [ "${BENCH_SCALE:-}" = small ]; then USERS=20000 HALF='(uid=user000*)'; fi
ROUNDS=${ROUNDS:-3}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/ldifbench" ./bench/ldif)
mkdir "$work/srv" "$work/out"
"$work/ldifbench" serve "$work/srv" "$USERS" "$work/ready" &
server_pid=$!
for _ in $(seq 1200); do [ -s "$work/ready" ] && break; sleep 0.5; done
[ -s "$work/ready" ] || { echo "slapd did not come up" >&2; exit 1; }
read -r url rootdn_first rootdn_rest <"$work/ready"
rootdn="$rootdn_first $rootdn_rest"
pw="$work/srv/pw"
echo "slapd $url seeded with $USERS users (slapadd); load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# run LABEL CMD... appends "seconds rss_kb entries" to $work/times.LABEL.
run() {
	local label=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%M %U %S' -o "$work/rss" "$@" >"$work/stdout.$label"
	t1=$EPOCHREALTIME
	local n
	if [[ $label == ours* ]]; then n=$(tail -1 "$work/stdout.$label"); else n=$(grep -c '^dn:' "$work/stdout.$label"); fi
	local rss cpu u s
	read -r rss u s <<<"$(tail -1 "$work/rss")"
	cpu=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}') $rss $n $cpu" >>"$work/times.$label"
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

bench() {
	local tag=$1 filter=$2
	for _ in $(seq "$ROUNDS"); do
		run "ours.$tag" "$work/ldifbench" export "$url" "$rootdn" "$pw" o=siroe.com "$filter" "$work/out"
		run "theirs.$tag" ldapsearch -x -LLL -E pr=1000/noprompt -H "$url" -D "$rootdn" -y "$pw" -b o=siroe.com "$filter"
	done
	local ours theirs rss n m ratio
	ours=$(cut -d' ' -f1 "$work/times.ours.$tag" | median)
	theirs=$(cut -d' ' -f1 "$work/times.theirs.$tag" | median)
	rss=$(cut -d' ' -f2 "$work/times.ours.$tag" | sort -n | tail -1)
	n=$(cut -d' ' -f3 "$work/times.ours.$tag" | sort -u | tr '\n' ' ')
	m=$(cut -d' ' -f3 "$work/times.theirs.$tag" | sort -u | tr '\n' ' ')
	ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.2f", b / a}')
	echo "[$tag] filter $filter: entries ours ${n}/ ldapsearch ${m}"
	local cpuo cput
	cpuo=$(cut -d' ' -f4 "$work/times.ours.$tag" | median)
	cput=$(cut -d' ' -f4 "$work/times.theirs.$tag" | median)
	echo "[$tag] ours: median ${ours} s (client CPU ${cpuo} s), peak RSS $((rss / 1024)) MiB; ldapsearch: median ${theirs} s (client CPU ${cput} s)"
	echo "[$tag] entries/s ratio ours/ldapsearch: ${ratio} (target >= 1.0; RSS target < 64 MiB)"
}

bench full '(objectclass=*)'
bench half "$HALF"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
