#!/usr/bin/env bash
# Backup benchmark: ours (backup.Create with Verify; backup.RestoreInto) against
# `tar -cf - | zstd -T0 -3` + `sha256sum` of every file, and `zstd -dc | tar -x`,
# interleaved A B A B in the same run on a tmpfs (small-file writes on this VM's
# ext4 vary 10x run to run; BENCHMARKS.md). Needs root for the tmpfs mount.
# The tree is the world builder's large server root (≈1 GiB, ≈100k files);
# BENCH_SCALE=small uses its medium one; BENCH_ROUNDS sets the rounds (>=3).
# Ours writes at backup.DefaultLevel (SpeedFastest, about zstd -1; see its doc);
# BACKUP_LEVEL=default runs ours at SpeedDefault (about zstd -3) instead.
set -euo pipefail

cd "$(dirname "$0")/.."
scale=${BENCH_SCALE:-full}
rounds=${BENCH_ROUNDS:-3}
[ "$rounds" -ge 3 ] || { echo "BENCH_ROUNDS must be >= 3" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "backup.sh: needs root to mount a tmpfs" >&2; exit 2; }
for tool in tar zstd sha256sum; do
	command -v "$tool" >/dev/null || { echo "backup.sh: $tool missing (apt-get install tar zstd coreutils)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/backup-bench.XXXXXX)
mounted=0
cleanup() {
	if [ "$mounted" = 1 ]; then umount "$work/fs" || umount -l "$work/fs"; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/backup-bench" ./bench/backup
mkdir -p "$work/fs"
mount -t tmpfs -o size=10g tmpfs "$work/fs"
mounted=1
fs="$work/fs"

echo "building the ${scale} tree in a tmpfs..."
"$work/backup-bench" gen "$fs/data" "$([ "$scale" = small ] && echo small || echo full)"
src="$fs/data/server-root"
echo "tree: $(du -sh --apparent-size "$src" | cut -f1), $(find "$src" | wc -l) entries"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -a ob tb orr tr rss_b rss_r
for i in $(seq 1 "$rounds"); do
	rm -rf "$fs/out" "$fs/ref" "$fs/r_ours" "$fs/r_ref"
	mkdir -p "$fs/ref"

	# A: ours, backup + verify in one process.
	t0=$(now)
	line=$("$work/backup-bench" create "$src" "$fs/out" r)
	t1=$(now)
	ob+=("$(elapsed "$t0" "$t1")")
	rss_b+=("$(sed -n 's/.*rss_kib=\([0-9]*\).*/\1/p' <<<"$line")")
	ours_size=$(stat -c %s "$fs/out/r.tar.zst")

	# B: reference archive, then sha256sum of every file (one process at a time).
	t0=$(now)
	tar -C "$src" -cf - . | zstd -T0 -3 -q -o "$fs/ref/r.tar.zst"
	find "$src" -type f -print0 | xargs -0 sha256sum >"$fs/ref/sums"
	t1=$(now)
	tb+=("$(elapsed "$t0" "$t1")")
	ref_size=$(stat -c %s "$fs/ref/r.tar.zst")

	# A: ours, restore (extract, metadata, verify) into the tmpfs.
	t0=$(now)
	line=$("$work/backup-bench" restore "$fs/out/r.tar.zst" "$fs/r_ours")
	t1=$(now)
	orr+=("$(elapsed "$t0" "$t1")")
	rss_r+=("$(sed -n 's/.*rss_kib=\([0-9]*\).*/\1/p' <<<"$line")")

	# B: reference restore.
	mkdir -p "$fs/r_ref"
	t0=$(now)
	zstd -dc -q "$fs/ref/r.tar.zst" | tar -C "$fs/r_ref" -xf -
	t1=$(now)
	tr+=("$(elapsed "$t0" "$t1")")
	echo "round $i: backup+verify ours ${ob[-1]}s ref ${tb[-1]}s | restore ours ${orr[-1]}s ref ${tr[-1]}s"
done

mb=$(printf '%s\n' "${ob[@]}" | median)
rb=$(printf '%s\n' "${tb[@]}" | median)
mr=$(printf '%s\n' "${orr[@]}" | median)
rr=$(printf '%s\n' "${tr[@]}" | median)
peak_b=$(printf '%s\n' "${rss_b[@]}" | sort -n | tail -1)
peak_r=$(printf '%s\n' "${rss_r[@]}" | sort -n | tail -1)
printf '\n%-34s %9s %9s %7s %8s\n' work ours_s ref_s ratio rss_MiB
printf '%-34s %9.3f %9.3f %7.2f %8d   (target ratio <= 1.0)\n' "backup+verify vs tar|zstd -3 + sha256sum" "$mb" "$rb" "$(echo "$mb / $rb" | bc -l)" $((peak_b / 1024))
printf '%-34s %9.3f %9.3f %7.2f %8d   (target ratio <= 1.2)\n' "restore vs zstd -dc | tar -x" "$mr" "$rr" "$(echo "$mr / $rr" | bc -l)" $((peak_r / 1024))
echo "archive size: ours $ours_size bytes, reference $ref_size bytes ($(echo "$ours_size / $ref_size" | bc -l | cut -c1-5)x); RSS target <= 256 MiB"
