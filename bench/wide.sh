#!/usr/bin/env bash
# Large suites: evalrec on 30 runs of a 50,000-test suite (1.5 million test
# runs: 25 packages, a third of the tests subtests, a metric on one in ten;
# histgen.Wide), side by side with the evalrec of BASE, built and measured
# in the same run on this machine. Usage:
#
#   bench/wide.sh [BASE]        # BASE: a commit (default 3a6bfc4, before digests)
#   ROUNDS=3 bench/wide.sh      # fewer rounds than the default 5
#
# For each command: the median wall time and peak resident set of ROUNDS
# runs. Then ingesting three more runs with gojson2mongo (a stream each of
# 50,000 tests: the time, and whether it stays flat as the store grows), the
# UI's pages and their JSON twins, the bytes on disk a test run, and the
# end of evalrec test on a cached suite of as many tests. BASE
# gets the generator copied in (it had none), and writes its own layout.
# About 25 minutes, most of it BASE's.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
base=${1:-3a6bfc4}
ROUNDS=${ROUNDS:-5}
TESTS=${TESTS:-50000}
RUNS=${RUNS:-30}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; git -C "$repo" worktree remove --force "$work/base-src" 2>/dev/null || true; rm -rf "$work"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "== building this tree and $base"
git worktree add --detach -q "$work/base-src" "$base"
cp internal/histgen/wide.go "$work/base-src/internal/histgen/"
if ! grep -qs '^type ID ' "$work/base-src/store/"*.go "$work/base-src/model/"*.go; then
  # Before issue 17 a run's ID was bson.ObjectID.
  sed -i 's/store\.ID(/bson.ObjectID(/; s#^import (#import (\n\t"go.mongodb.org/mongo-driver/v2/bson"#' "$work/base-src/internal/histgen/wide.go"
fi
cp bench/fillstore/main.go "$work/base-src/bench/fillstore/"
(cd "$work/base-src" && go build -o "$work/base/" ./cmd/evalrec ./cmd/gojson2mongo ./bench/fillstore)
go build -o "$work/new/" ./cmd/evalrec ./cmd/gojson2mongo ./bench/fillstore ./bench/genstream ./bench/measure ./bench/gensuite
measure=$work/new/measure

for v in base new; do
  mkdir -p "$work/$v-store"
  printf 'module example.com/wide\n\ngo 1.25\n' > "$work/$v-store/go.mod"
  t0=$(date +%s)
  "$work/$v/fillstore" -file "$work/$v-store/.evalrec/vt_metrics.db" -project example.com/wide -wide "$TESTS" -runs "$RUNS" > "$work/$v-fill.txt"
  echo "$v: wrote $RUNS runs of $TESTS tests in $(( $(date +%s) - t0 )) s"
done
newly=$(sed -n 's/^newly failing in the newest run: //p' "$work/new-fill.txt")

# The generator writes test runs straight into the store, as an import
# does: no run was finalized, so this tree has no digests yet. The first
# query builds them (the same as after migrating a store of an older
# layout); it is timed apart, and the rounds after it read them.
t=$(cd "$work/new-store" && "$measure" "$work/new/evalrec" tests 2>/dev/null)
echo "new: the first query read every run's rows and stored their digests: $(echo "$t" | field wall) s, $(echo "$t" | field maxrss_mb) MB"

bytes() { du -cb "$1"/.evalrec/vt_metrics.db* | tail -1 | cut -f1; }
echo
printf '%-30s %22s %22s\n' "" "$base" "this tree"
row() { # row LABEL ARGS...: the median of ROUNDS runs of evalrec ARGS, for both
  local label=$1; shift
  local out=""
  for v in base new; do
    local ws=() ms=()
    for _ in $(seq "$ROUNDS"); do
      local line
      line=$(cd "$work/$v-store" && "$measure" "$work/$v/evalrec" "$@" 2>/dev/null)
      ws+=("$(echo "$line" | field wall)"); ms+=("$(echo "$line" | field maxrss_mb)")
    done
    out+=$(printf '%22s' "$(printf '%.2f s %5.0f MB' "$(printf '%s\n' "${ws[@]}" | median)" "$(printf '%s\n' "${ms[@]}" | median)")")
  done
  printf '%-30s %s\n' "$label" "$out"
}
row "compare latest~1 latest" compare latest~1 latest
row "show latest" show latest
row "tests" tests
row "metrics" metrics
row "flaky (30-run window)" flaky
row "changes (all series)" changes
row "runs" runs
row "history (one test)" history "$newly"
row "trend" trend

echo
echo "== ingesting three more runs of $TESTS tests (gojson2mongo, one stream each)"
for i in 1 2 3; do
  "$work/new/genstream" -tests $((TESTS / 25)) -packages 25 -size 100000000000 -start "2027-01-0${i}T00:00:00Z" > "$work/stream-$i.json"
  out=""
  for v in base new; do
    line=$(cd "$work/$v-store" && "$measure" "$work/$v/gojson2mongo" -q "$work/stream-$i.json" 2>/dev/null)
    out+=$(printf '%22s' "$(printf '%.2f s %5.0f MB' "$(echo "$line" | field wall)" "$(echo "$line" | field maxrss_mb)")")
  done
  printf '%-30s %s\n' "run $((RUNS + i)) stored" "$out"
done
for v in base new; do
  n=$(( (RUNS + 3) * TESTS ))
  echo "$v: $(bytes "$work/$v-store") bytes on disk for $n test runs: $(awk -v b="$(bytes "$work/$v-store")" -v n=$n 'BEGIN {printf "%.0f", b/n}') bytes a test run, indexes included"
done

echo
echo "== the UI's pages and JSON twins (median of $ROUNDS requests)"
port=$((20000 + RANDOM % 20000))
for v in base new; do
  (cd "$work/$v-store" && exec "$work/$v/evalrec" ui -addr "127.0.0.1:$port" >/dev/null 2>&1) &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/runs" >/dev/null 2>&1 && break; sleep 0.1; done
  for page in /runs /runs/latest "/history?test=$newly" /trend "/compare?base=latest~1&cand=latest" /flaky /configs /changes; do
    for p in "$page" "/api$page"; do
      ts=()
      for _ in $(seq "$ROUNDS"); do ts+=("$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port$p")"); done
      printf '%s %-40s %.2f s (the first: %.2f s)\n' "$v" "$p" "$(printf '%s\n' "${ts[@]}" | median)" "${ts[0]}"
    done
  done
  echo "$v: the UI's peak resident set: $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$pid/status)"
  kill $pid; wait $pid 2>/dev/null || true
done

echo
echo "== the end of evalrec test on a cached $TESTS-test suite: storing, comparing and the summary, beyond go test -json"
"$work/new/gensuite" -dir "$work/suite" -repo "$repo" -tests "$TESTS" -packages 25 -work 0s -kind spin
(cd "$work/suite" && GOFLAGS=-mod=mod go test -json ./... > /dev/null 2>&1 || true)   # build, and fill go test's cache
(cd "$work/suite" && GOFLAGS=-mod=mod "$work/new/evalrec" test -q ./... > /dev/null 2>&1 || true)  # a first run to compare with
plain=(); ours=(); self=()
for _ in $(seq "$ROUNDS"); do
  plain+=("$(cd "$work/suite" && GOFLAGS=-mod=mod "$measure" go test -json ./... 2>/dev/null | field wall)")
  line=$(cd "$work/suite" && GOFLAGS=-mod=mod "$measure" "$work/new/evalrec" test -q ./... 2>/dev/null)
  ours+=("$(echo "$line" | field wall)"); self+=("$(echo "$line" | field self_mb)")
done
awk -v a="$(printf '%s\n' "${plain[@]}" | median)" -v b="$(printf '%s\n' "${ours[@]}" | median)" 'BEGIN {
  printf "go test -json %.2f s; evalrec test %.2f s: %.2f s more (%.2fx)\n", a, b, b - a, b / a }'
echo "evalrec test's own peak resident set: $(printf '%s\n' "${self[@]}" | sort -n | head -1)-$(printf '%s\n' "${self[@]}" | sort -n | tail -1) MB (median $(printf '%s\n' "${self[@]}" | median) MB)"

echo
echo "== migrating $base's store (now $((RUNS + 3)) runs) to this tree's layout: the first command that opens it"
before=$(bytes "$work/base-store")
line=$(cd "$work/base-store" && "$measure" "$work/new/evalrec" runs 2> "$work/migrate.txt")
cat "$work/migrate.txt"
echo "migrated in $(echo "$line" | field wall) s at $(echo "$line" | field maxrss_mb) MB; the file went from $before to $(bytes "$work/base-store") bytes"
