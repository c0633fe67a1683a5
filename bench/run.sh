#!/usr/bin/env bash
# Benchmarks for evalrec, each printed as a ratio against a baseline measured
# in the same run on the same machine. Usage:
#
#   bench/run.sh               # everything (about 30 minutes)
#   bench/run.sh suite queries # only those sections
#   BIG_MB=200 bench/run.sh    # a smaller memory stream than the default 1000 MB
#
# Sections: record (Record on the test goroutine); suite (a 2,000-test suite
# with recording on vs off, into the embedded store); parse (vs gotestsum on
# the same stream); store (SQLite vs FerretDB); wrapper (evalrec test vs go
# test -json on testify's suite); queries (latency at growing sizes); ui
# (each page at 100,000 test runs); memory (peak RSS while ingesting a large
# stream).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
BIG_MB=${BIG_MB:-1000}
PARSE_MB=${PARSE_MB:-120}
ROUNDS=${ROUNDS:-3}
SUITE_ROUNDS=${SUITE_ROUNDS:-10}

echo "== building"
go build -o "$work/bin/" ./cmd/evalrec ./cmd/gojson2mongo ./bench/genstream ./bench/measure ./bench/gensuite ./bench/queries ./bench/fillstore
go build -o "$work/bin/gotestsum" gotest.tools/gotestsum
bin=$work/bin
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
sections=${*:-record suite parse store wrapper queries ui memory}
want() { [[ " $sections " == *" $1 "* ]]; }

if want record; then
echo
echo "== Record on the test goroutine (go test -bench); then with -v, which also encodes and prints the attributes, as under go test -json"
go test -run '^$' -bench 'BenchmarkRecord' -benchtime=20000x ./evalrec/ | grep '^Benchmark'
go test -v -run '^$' -bench 'BenchmarkRecord' -benchtime=20000x ./evalrec/ | grep '^Benchmark.*ns/op'
fi

# suite KIND [RUNNER...]: runs the generated 2,000-test suite with
# recording off and on, alternating which goes first, SUITE_ROUNDS times each,
# and compares them with benchstat. The test binaries journal, and an
# ingester stores the journals into the embedded SQLite file once go test
# ends (internal/settle). RUNNER prefixes the go command (taskset, say).
# Two figures per run: the wall time of `go test ./...`, and the time spent
# in the test binaries (the sum of the per-package times go test prints),
# which leaves out the go command's own work and so varies less.
suite() {
  local kind=$1 runner=("${@:2}")
  local dir="$work/suite-$kind" out="$work/suite-$kind-${#runner[@]}.txt"
  [[ -d $dir ]] || "$bin/gensuite" -dir "$dir" -repo "$repo" -tests 2000 -packages 4 -work 2ms -kind "$kind"
  (cd "$dir" && GOFLAGS=-mod=mod go test -count=1 ./... >/dev/null)  # build once, outside the timing
  : > "$out"
  for i in $(seq "$SUITE_ROUNDS"); do
    local order="off on"
    if (( i % 2 == 0 )); then order="on off"; fi
    for rec in $order; do
      local enabled=false
      if [[ $rec == on ]]; then enabled=true; fi
      local t0 t1
      t0=$(date +%s%N)
      (cd "$dir" && "${runner[@]}" env MONGODB_ENABLED=$enabled \
        MONGODB_DATABASE="bench_$kind" go test -count=1 ./... > "$work/suite-out.txt" 2>&1)
      t1=$(date +%s%N)
      awk -v kind="$kind" -v rec="$rec" -v wall=$((t1 - t0)) '
        /^ok / {sub(/s$/, "", $3); pkgs += $3}
        END {printf "BenchmarkSuite/kind=%s/recording=%s 1 %.0f ns/op %.0f test-binary-ns/op\n", kind, rec, wall, pkgs * 1e9}' \
        "$work/suite-out.txt" >> "$out"
      # The embedded store is written after go test ends (internal/settle):
      # wait for that, outside the timing, and say how long it took.
      if [[ $rec == on ]]; then
        for _ in $(seq 300); do [[ -z $(ls "$dir/.evalrec/spool" 2>/dev/null) ]] && break; sleep 0.05; done
        echo $(( ($(date +%s%N) - t1) / 1000000 )) >> "$out.settle"
      fi
    done
  done
  go tool benchstat -col /recording "$out" | sed -n '/^ *│/,$p'
  if [[ -s $out.settle ]]; then
    echo "stored after go test ended, in a median of $(median < "$out.settle") ms (the ingester's wait, and storing 2,000 test runs)"
  fi
  # The cost per test, from the medians of the test-binary times, and the
  # shortest test that would keep recording within 2% in a suite of this
  # shape (500 tests per package).
  awk '{split($1, f, "recording="); print f[2], $5}' "$out" | sort -k1,1 -k2n | awk '
    {v[$1, ++n[$1]] = $2}
    END {
      for (r in n) m[r] = (n[r] % 2) ? v[r, (n[r] + 1) / 2] : (v[r, n[r] / 2] + v[r, n[r] / 2 + 1]) / 2
      per = (m["on"] - m["off"]) / 2000 / 1e6
      printf "recording costs %.3f ms per test in the test binaries (%+.1f%%); within 2%% for tests of at least %.1f ms\n", per, 100 * (m["on"] / m["off"] - 1), per / 0.02
    }'
}
if want suite; then
  for kind in ${SUITE_KINDS:-spin sleep}; do
    echo
    echo "== suite overhead, TestMain mode into the embedded store: 2,000 tests (2 ms of $kind per test, 4 packages), recording off vs on, $SUITE_ROUNDS rounds; the ingester shares both cores with the tests"
    suite "$kind"
  done
fi

if want parse; then
echo
echo "== parsing: gojson2mongo --dry-run vs gotestsum, same ${PARSE_MB} MB stream"
"$bin/genstream" -size $((PARSE_MB << 20)) > "$work/parse.json"
mb=$(du -m "$work/parse.json" | cut -f1)
events=$(wc -l < "$work/parse.json")
ours=(); theirs=()
for _ in $(seq "$ROUNDS"); do
  theirs+=("$("$bin/measure" "$bin/gotestsum" --format standard-quiet --raw-command -- cat "$work/parse.json" | field wall)")
  ours+=("$("$bin/measure" "$bin/gojson2mongo" -q --dry-run "$work/parse.json" | field wall)")
done
m_ours=$(printf '%s\n' "${ours[@]}" | median); m_theirs=$(printf '%s\n' "${theirs[@]}" | median)
awk -v a="$m_theirs" -v b="$m_ours" -v mb="$mb" -v ev="$events" 'BEGIN {
  printf "gotestsum %.2f s (%.0f MB/s, %.0f events/s); gojson2mongo %.2f s (%.0f MB/s, %.0f events/s): %.2fx gotestsum speed\n",
    a, mb/a, ev/a, b, mb/b, ev/b, a/b }'
echo "(gojson2mongo --dry-run also builds and prints every document; parsing alone, in-process, same stream:)"
go test -run '^$' -bench 'BenchmarkIngest$|BenchmarkGotestsumScan' -benchtime=5x ./ingest/ | tee "$work/parse.txt" | grep '^Benchmark'
awk '/BenchmarkIngest-/ {a=$3} /BenchmarkGotestsumScan/ {b=$3} END {printf "ingest parser: %.2fx gotestsum'"'"'s testjson.ScanTestOutput (target: faster)\n", b/a}' "$work/parse.txt"
fi

if want store; then
echo
echo "== storing 10,000 test runs: the whole converter (ingest) vs raw batched inserts, SQLite (the embedded store) vs FerretDB (the first version's), CPU per test of the whole process"
go test -run '^$' -bench 'BenchmarkStoreStream|BenchmarkRawInsert' -benchtime=3x -count=1 ./internal/pipeline/ \
  | tee "$work/ingest.txt" | grep '^Benchmark'
awk '/BenchmarkStoreStream\/sqlite/ {s=$3; sc=$(NF-1)} /BenchmarkRawInsert\/sqlite/ {r=$3} /BenchmarkStoreStream\/ferretdb/ {fc=$(NF-1)}
  END {printf "SQLite: ingest / raw insert = %.2f (%+.0f%% overhead; target: at most 25%%); CPU per stored test %.0f µs vs FerretDB %.0f µs: %.2fx (target: at most 0.25x)\n", s/r, (s/r-1)*100, sc/1000, fc/1000, sc/fc}' "$work/ingest.txt"
fi

if want wrapper; then
echo
echo "== the wrapper's own cost: evalrec test vs go test -json on testify's suite, uncached (-count=1) and cached, with 100,000 test runs stored (median of $ROUNDS)"
testify=$(go mod download -json github.com/stretchr/testify@v1.10.0 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
cp -r "$testify" "$work/testify" && chmod -R u+w "$work/testify"
(cd "$work/testify" && go mod download && go test -count=1 ./... >/dev/null 2>&1 || true)  # build once
"$bin/fillstore" -file "$work/testify/.evalrec/vt_metrics.db" -project github.com/stretchr/testify -testruns 100000
(cd "$work/testify" && "$bin/evalrec" test -q ./... >/dev/null 2>&1 || true)  # a previous run to compare with
wrapper_cost() {
  local label=$1; shift
  local plain=() wrapped=()
  for _ in $(seq "$ROUNDS"); do
    plain+=("$(cd "$work/testify" && "$bin/measure" go test -json "$@" ./... | field wall)")
    wrapped+=("$(cd "$work/testify" && "$bin/measure" "$bin/evalrec" test -q "$@" ./... | field wall)")
  done
  local p w
  p=$(printf '%s\n' "${plain[@]}" | median); w=$(printf '%s\n' "${wrapped[@]}" | median)
  awk -v l="$label" -v p="$p" -v w="$w" 'BEGIN {printf "%s: go test -json %.2f s, evalrec test %.2f s: %.3fx (target: at most 1.05x)\n", l, p, w, w/p}'
}
wrapper_cost uncached -count=1
wrapper_cost cached
fi

if want queries; then
echo
echo "== query latency, as the commands query (median of 5): SQLite at growing sizes, FerretDB at 10,000 as the baseline"
"$bin/queries" -sizes "${QUERY_SIZES:-10000,100000,1000000}" -ferretdb-sizes "${FERRETDB_SIZES:-10000}"
fi

if want ui; then
echo
echo "== UI pages at 100,000 stored test runs (HTML, in-process; target: each at most 200 ms)"
go test -run '^$' -bench BenchmarkPages -benchtime=5x ./internal/ui/ | grep '^Benchmark'
fi

if want memory; then
echo
echo "== memory: peak RSS ingesting a ${BIG_MB} MB stream of mostly passing tests (--dry-run)"
"$bin/genstream" -size $((BIG_MB << 20)) > "$work/big.json"
"$bin/measure" "$bin/gojson2mongo" -q --dry-run "$work/big.json" | sed 's/^/gojson2mongo: /'
"$bin/measure" cat "$work/big.json" | sed 's/^/cat (baseline): /'
fi
