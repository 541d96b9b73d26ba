#!/usr/bin/env bash
# Bench for steps/mailcheck's log scanner: Probe.Scan over a generated
# mail.log_current (1 GiB; BENCH_SCALE=small: 64 MiB) vs GNU
# `grep -c -E PATTERN` counting the same hard-error and trouble records, run
# interleaved (A B A B ...). Prints medians, the ratio ours/grep (target
# <= 0.8), our peak RSS, and whether both counted the same lines.
set -euo pipefail

case "${BENCH_SCALE:-full}" in
small) SIZE=$((64 << 20)); ROUNDS=${ROUNDS:-5} ;;
full) SIZE=$((1 << 30)) ;;
*) echo "BENCH_SCALE must be small or full" >&2; exit 2 ;;
esac
ROUNDS=${ROUNDS:-3}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# The log lives in a tmpfs when there is one: this measures the scanner, not
# the disk (BENCHMARKS.md: hot page cache).
base=/tmp
if [ -d /dev/shm ] && [ -w /dev/shm ]; then base=/dev/shm; fi
work=$(mktemp -d "$base/logscan.XXXXXX")
trap 'rm -rf "$work"' EXIT

(cd "$root" && go build -o "$work/logscan" ./bench/logscan)
"$work/logscan" gen "$SIZE" "$work/mail.log_current"
pattern=$("$work/logscan" pattern)
echo "data: $(du -h "$work/mail.log_current" | cut -f1) in $(wc -l <"$work/mail.log_current") lines; grep -c -E '$pattern'"
cat "$work/mail.log_current" >/dev/null # warm the cache for both

# run LABEL CMD... appends "seconds rss_kb" to $work/times.LABEL; wall time
# from EPOCHREALTIME, peak RSS from /usr/bin/time.
run() {
	local label=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%M' -o "$work/rss" "$@" >"$work/out.$label"
	t1=$EPOCHREALTIME
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}') $(tail -1 "$work/rss")" >>"$work/times.$label"
}

for _ in $(seq "$ROUNDS"); do
	run ours "$work/logscan" scan "$work/mail.log_current"
	run grep grep -c -E "$pattern" "$work/mail.log_current"
done

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
ours=$(cut -d' ' -f1 "$work/times.ours" | median)
theirs=$(cut -d' ' -f1 "$work/times.grep" | median)
rss=$(cut -d' ' -f2 "$work/times.ours" | sort -n | tail -1)
ours_n=$(awk '{print $2}' "$work/out.ours")
grep_n=$(cat "$work/out.grep")
echo "rounds: $ROUNDS (interleaved)"
echo "ours (Probe.Scan):  median ${ours}s  times: $(cut -d' ' -f1 "$work/times.ours" | tr '\n' ' ')"
echo "grep -c -E:         median ${theirs}s  times: $(cut -d' ' -f1 "$work/times.grep" | tr '\n' ' ')"
echo "ratio ours/grep: $(awk -v a="$ours" -v b="$theirs" 'BEGIN {printf "%.2f", a / b}') (target <= 0.80)"
echo "our peak RSS: $((rss / 1024)) MiB"
if [ "$ours_n" = "$grep_n" ]; then
	echo "counts agree: $ours_n hard-error and trouble records"
else
	echo "COUNTS DIFFER: ours $ours_n, grep $grep_n" >&2
	exit 1
fi
