#!/usr/bin/env bash
# Bench for steps/configdiff: our Unified vs GNU `diff -u` on two 200k-line
# configs with 1.4% of lines changed, run interleaved (A B A B ...).
# Prints medians, the ratio ours/theirs (target <= 2.0), our peak RSS, and
# whether the hunks are byte-identical to GNU's.
set -euo pipefail

LINES=${LINES:-200000}
PERMILLE=${PERMILLE:-14}
ROUNDS=${ROUNDS:-5}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$root" && go build -o "$work/configdiff" ./bench/configdiff)
"$work/configdiff" gen "$work" "$LINES" "$PERMILLE"
echo "data: $(wc -l <"$work/a.conf") vs $(wc -l <"$work/b.conf") lines"

# run LABEL CMD... appends "seconds rss_kb" to $work/times.LABEL. Wall time
# comes from EPOCHREALTIME (microseconds; /usr/bin/time only has 10 ms),
# peak RSS from /usr/bin/time. Both commands exit 1 when the files differ,
# which is the expected outcome here.
run() {
	local label=$1 t0 t1 rc
	shift
	t0=$EPOCHREALTIME
	rc=0
	/usr/bin/time -f '%M' -o "$work/rss" "$@" >"$work/out.$label" || rc=$?
	t1=$EPOCHREALTIME
	[ "$rc" -le 1 ] || { echo "$label failed with $rc" >&2; exit 1; }
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}') $(tail -1 "$work/rss")" >>"$work/times.$label"
}

for _ in $(seq "$ROUNDS"); do
	run ours "$work/configdiff" diff "$work/a.conf" "$work/b.conf"
	run gnu diff -u "$work/a.conf" "$work/b.conf"
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ours=$(cut -d' ' -f1 "$work/times.ours" | median)
gnu=$(cut -d' ' -f1 "$work/times.gnu" | median)
rss=$(cut -d' ' -f2 "$work/times.ours" | sort -n | tail -1)
ratio=$(awk -v a="$ours" -v b="$gnu" 'BEGIN {printf "%.2f", a / b}')
if cmp -s <(tail -n +3 "$work/out.ours") <(tail -n +3 "$work/out.gnu"); then same=yes; else same=no; fi

echo "configdiff Unified: median ${ours} s, peak RSS ${rss} KB"
echo "diff -u:            median ${gnu} s"
echo "ratio ours/diff -u: ${ratio} (target <= 2.0)"
echo "hunks identical to diff -u: ${same}"
