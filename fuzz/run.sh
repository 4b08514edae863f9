#!/bin/bash
# run.sh - runs every libFuzzer target of a -Dfuzzing=true build for a while
# and keeps what it found (docs/fuzzing.md).
#
#   fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
#
# Each target runs SECONDS seconds, two at a time (JOBS=2), on a scratch
# copy of its corpus (BUILD_DIR/fuzz-work/TARGET) with its max_len and
# dictionary (fuzz/TARGET.dict, if any).  Afterwards the new inputs that add
# coverage over the tracked corpus (-merge=1: only inputs with new features)
# go to BUILD_DIR/fuzz-new/TARGET; with FUZZ_MERGE=1 (make fuzz FUZZ_MERGE=1)
# they are added to the tracked fuzz/corpus/TARGET instead, which is
# otherwise never written.  A table gives per target the executions, the
# coverage (edges, features), the new inputs and the crashes.  Logs are in
# BUILD_DIR/fuzz-logs, crash reproducers in BUILD_DIR/fuzz-artifacts.
# Exit status: 0, or 1 if any target crashed (or could not run).
set -u
build=${1:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
secs=${2:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
src=$(cd "$(dirname "$0")" && pwd)
jobs=${JOBS:-2}
targets=${*:-fuzz-frame fuzz-ring fuzz-wire fuzz-json fuzz-plist fuzz-broker fuzz-remote}
logs=$build/fuzz-logs
arts=$build/fuzz-artifacts
mkdir -p "$logs" "$arts"

max_len() {
	case $1 in
	fuzz-frame) echo 90000 ;;  # a header and an inline body, or an out-of-line one (> 80 KiB)
	fuzz-plist) echo 8192 ;;
	fuzz-broker) echo 2048 ;;
	fuzz-wire) echo 20000 ;;  # room for one data item sent by reference
	fuzz-ring) echo 36869 ;;  # the start head (5 bytes) and a whole ring mapping
	*) echo 4096 ;;
	esac
}

# Options for one target; the broker and the plist loader log to stderr on
# every input, so their output is dropped (libFuzzer still reports crashes).
options() {
	opts="-max_len=$(max_len "$1") -timeout=10 -rss_limit_mb=2048 -print_final_stats=1"
	opts="$opts -artifact_prefix=$arts/$1-"
	[ -f "$src/$1.dict" ] && opts="$opts -dict=$src/$1.dict"
	case $1 in fuzz-plist|fuzz-broker) opts="$opts -close_fd_mask=2" ;; esac
	echo "$opts"
}

run_one() {
	t=$1
	bin=$build/fuzz/$t
	work=$build/fuzz-work/$t
	if [ ! -x "$bin" ]; then
		echo "run.sh: $bin missing (configure with -Dfuzzing=true)" >"$logs/$t.log"
		echo 1 >"$logs/$t.rc"
		return
	fi
	mkdir -p "$work" "$src/corpus/$t"
	# shellcheck disable=SC2046
	"$bin" $(options "$t") -max_total_time="$secs" "$work" "$src/corpus/$t" >"$logs/$t.log" 2>&1
	echo $? >"$logs/$t.rc"
	# keep only what adds coverage to the repository's corpus: merged into
	# a copy of it, the files the copy gains are the new inputs
	merged=$build/fuzz-merge/$t
	rm -rf "$merged" "$build/fuzz-new/$t"
	mkdir -p "$merged" "$build/fuzz-new/$t"
	cp -pR "$src/corpus/$t"/. "$merged"/
	"$bin" -merge=1 -max_len="$(max_len "$t")" $( [ "$t" = fuzz-broker ] || [ "$t" = fuzz-plist ] && echo -close_fd_mask=2 ) \
		"$merged" "$work" >"$logs/$t.merge.log" 2>&1
	for f in "$merged"/*; do
		[ -e "$src/corpus/$t/$(basename "$f")" ] || cp -p "$f" "$build/fuzz-new/$t/"
	done
	rm -rf "$merged"
	if [ "${FUZZ_MERGE:-0}" = 1 ]; then
		cp -p "$build/fuzz-new/$t"/* "$src/corpus/$t/" 2>/dev/null || true
	fi
}

echo "fuzzing $targets for $secs s each, $jobs at a time"
start=$(date +%s)
running=0
for t in $targets; do
	rm -f "$logs/$t.rc"
	before=$(ls "$src/corpus/$t" 2>/dev/null | wc -l)
	echo "$before" >"$logs/$t.before"
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n 2>/dev/null || wait
		running=$((running - 1))
	fi
done
wait
end=$(date +%s)

status=0
printf '%-12s %12s %8s %8s %8s %8s  %s\n' target executions exec/s edges features corpus result
for t in $targets; do
	log=$logs/$t.log
	rc=$(cat "$logs/$t.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	before=$(cat "$logs/$t.before")
	new=$(ls "$build/fuzz-new/$t" 2>/dev/null | wc -l)
	crashes=$(ls "$arts" 2>/dev/null | grep -c "^$t-" || true)
	result=ok
	if [ "$rc" != 0 ] || grep -q '==ERROR\|deadly signal\|SUMMARY: ' "$log"; then
		result="CRASH (see $log)"
		status=1
	fi
	printf '%-12s %12s %8s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
		"$before+$new" "$result"
	[ "$crashes" -gt 0 ] && echo "             $crashes artifact(s): $(ls "$arts" | grep "^$t-" | tr '\n' ' ')"
done
echo "wall time $((end - start)) s"
if [ "${FUZZ_MERGE:-0}" = 1 ]; then
	echo "new inputs merged into $src/corpus (FUZZ_MERGE=1)"
else
	echo "new inputs in $build/fuzz-new (make fuzz FUZZ_MERGE=1 adds them to fuzz/corpus)"
fi
exit $status
