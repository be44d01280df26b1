#!/usr/bin/env bash
# The same room fan-out workload against ringport, Redis pub/sub and NATS
# (and optionally ringport's poll backend and the tokio baseline): each
# server started fresh on loopback and pinned to core 0, the generator
# `ringport-bench chat` pinned to core 1, the offered rate stepped up. Writes
# a markdown table (throughput and p99 per step and system), the raw steps
# (TSV) and a chart (PNG: deliveries/s against p99 per system) into
# BENCH_RESULTS.
#
# Every step is BENCH_RUNS runs of BENCH_STEP_SECS s; the table and chart show
# the median run (by p99). A step passes with >= 99.9 % of the deliveries
# and p99 < 50 ms (latency from each message's scheduled send time). The
# climb of a system ends BENCH_AFTER_FAIL steps after its first failing step.
#
# Environment (defaults in brackets):
#   BENCH_SYSTEMS    any of io_uring poll redis nats tokio ["io_uring redis nats"]
#   BENCH_SHAPE      ROOMSxMEMBERS [10x100]
#   BENCH_RATES      deliveries/s of the steps, ascending
#                    ["50000 100000 200000 400000 800000 1600000 2400000 3200000"]
#   BENCH_STEP_SECS  measured seconds per run [3]
#   BENCH_WARMUP     warmup seconds per run [1]
#   BENCH_DRAIN      longest wait for late deliveries [2]
#   BENCH_RUNS       runs per step (the median is shown) [1]
#   BENCH_AFTER_FAIL steps still run after a system's first failing step [1]
#   BENCH_SIZE       message text bytes [64]
#   BENCH_ORDER      random, rotate or grouped (see bench/chat.sh) [random]
#   BENCH_PORT       first port to use [21500]
#   BENCH_RESULTS    where the table, TSV and PNG go [bench/results]
#   BENCH_OUT        raw JSON and server logs [a new temp dir]
#   BENCH_BUILD      0 to skip `cargo build --release` [1]
#   BENCH_WAIT_QUIET on a shared machine, wait up to this many seconds before
#                    each run for no rustc and idle CPUs [0]
#
# Exit status: non-zero if a run could not happen (setup error, server died).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

systems=${BENCH_SYSTEMS:-io_uring redis nats}
shape=${BENCH_SHAPE:-10x100}
rates=${BENCH_RATES:-50000 100000 200000 400000 800000 1600000 2400000 3200000}
step_secs=${BENCH_STEP_SECS:-3}
warmup=${BENCH_WARMUP:-1}
drain=${BENCH_DRAIN:-2}
runs=${BENCH_RUNS:-1}
after_fail=${BENCH_AFTER_FAIL:-1}
size=${BENCH_SIZE:-64}
order=${BENCH_ORDER:-random}
port=${BENCH_PORT:-21500}
results=${BENCH_RESULTS:-bench/results}
out=${BENCH_OUT:-$(mktemp -d -t ringport-compare.XXXXXX)}
build=${BENCH_BUILD:-1}

need_cores
[[ $shape =~ ^[0-9]+x[0-9]+$ ]] || die "BENCH_SHAPE '$shape' is not ROOMSxMEMBERS"
rooms=${shape%x*}
members=${shape#*x}
raise_fd_limit $((rooms * members + 256))
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number"

missing=
run_systems=
for s in $systems; do
    case $s in io_uring | poll | redis | nats | tokio) ;; *) die "unknown system '$s' in BENCH_SYSTEMS" ;; esac
    if have_system "$s"; then
        run_systems="$run_systems $s"
    else
        missing="$missing${missing:+; }$s is not installed ($(install_hint "$s"))"
        echo "compare.sh: WARNING: $s is not installed, its rows stay EMPTY ($(install_hint "$s"))" >&2
    fi
done
[ -n "$run_systems" ] || die "none of BENCH_SYSTEMS can run here"

warn_if_busy
if [ "$build" = 1 ]; then
    cargo build --release -p ringport -p ringport-bench >&2
fi
bench=target/release/ringport-bench
ringport=target/release/ringport
[ -x "$bench" ] || die "$bench missing (build it or set BENCH_BUILD=1)"

mkdir -p "$out" "$results"
steps=$results/compare-$shape.tsv
table=$results/compare-$shape.md
chart=$results/compare-$shape.png
echo "compare.sh: raw results and logs in $out; table, steps and chart in $results" >&2
trap stop_server EXIT
trap 'exit 130' INT TERM

printf 'system\toffered_deliveries_per_sec\tdeliveries_per_sec\tp99_us\tpass\tp50_us\tdelivered_percent\tgen_cpu_percent\tserver_cpu_percent\tothers_cpu_percent\truns\n' >"$steps"

failures=0
for kind in $run_systems; do
    proto=$(proto_of "$kind")
    port=$(free_port $((port + 1)))
    start_server "$kind" "$port" "$rooms" "$members" "$out/server-$kind.log"
    failed_steps=-1
    step=0
    for d in $rates; do
        step=$((step + 1))
        rate=$(awk -v d="$d" -v m="$members" 'BEGIN { printf "%.3f", d / m }')
        : >"$out/runs-$kind-$d.tsv"
        for r in $(seq "$runs"); do
            wait_quiet
            status=0
            json=$(taskset -c 1 "$bench" chat --target "127.0.0.1:$port" --system "$proto" \
                --rooms "$rooms" --members "$members" --rate "$rate" --size "$size" \
                --duration "$step_secs" --warmup "$warmup" --drain "$drain" --order "$order" \
                --user-prefix "c${step}r${r}_" --server-pid "$server_pid" --json \
                2>"$out/gen-$kind-$d-$r.err") || status=$?
            echo "$json" >"$out/gen-$kind-$d-$r.json"
            if [ "$status" -ne 0 ] || [ -z "$json" ]; then
                echo "compare.sh: $kind at $d/s: the generator failed (exit $status): $(tail -n 2 "$out/gen-$kind-$d-$r.err")" >&2
                failures=$((failures + 1))
                continue
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                "$(field "$json" deliveries_per_sec)" "$(field "$json" p99_us)" \
                "$(field "$json" pass)" "$(field "$json" p50_us)" \
                "$(field "$json" delivered_percent)" "$(field "$json" gen_cpu_percent)" \
                "$(field "$json" server_cpu_percent)" "$(field "$json" others_cpu_percent)" \
                >>"$out/runs-$kind-$d.tsv"
        done
        kill -0 "$server_pid" 2>/dev/null || { failures=$((failures + 1)); echo "compare.sh: $kind died at $d/s" >&2; break; }
        [ -s "$out/runs-$kind-$d.tsv" ] || break
        # The median run by p99 (a run without a p99 sorts last).
        median=$(awk -F '\t' '{ print ($2 == "null" ? 1e18 : $2) "\t" $0 }' "$out/runs-$kind-$d.tsv" |
            sort -g -k1,1 | cut -f2- | awk -v n="$(wc -l <"$out/runs-$kind-$d.tsv")" 'NR == int((n + 1) / 2)')
        n=$(wc -l <"$out/runs-$kind-$d.tsv")
        IFS=$'\t' read -r dps p99 pass p50 pct gen srv oth <<<"$median"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$d" "$dps" "$p99" "$pass" "$p50" \
            "$pct" "$gen" "$srv" "$oth" "$n" >>"$steps"
        printf 'compare.sh: %-8s %8s deliveries/s: %-5s got %s/s, p99 %s ms, CPU gen %s %% server %s %% others %s %% (median of %s)\n' \
            "$kind" "$d" "$pass" "$dps" "$(ms "$p99")" "$gen" "$srv" "$oth" "$n" >&2
        if [ "$pass" != true ]; then
            failed_steps=$((failed_steps + 1))
            [ "$failed_steps" -ge "$after_fail" ] && break
        fi
    done
    stop_server
done

{
    echo "Room fan-out, $rooms rooms x $members members ($((rooms * members)) connections), $size-byte messages;"
    echo "each server pinned to core 0 (ringport: --io-threads 1), the generator to core 1;"
    echo "median of $runs run(s) of ${step_secs} s per step after ${warmup} s warmup. Cells: p99 ms (deliveries/s achieved),"
    echo "**bold** where the step passed (>= 99.9 % delivered, p99 < 50 ms), FAIL where it did not."
    [ -n "$missing" ] && { echo; echo "**WARNING: $missing.**"; }
    echo
    header="| offered deliveries/s |"
    sep="|---:|"
    for kind in $systems; do
        header="$header $kind |"
        sep="$sep---:|"
    done
    echo "$header"
    echo "$sep"
    for d in $rates; do
        awk -F '\t' -v d="$d" '$2 == d { found = 1 } END { exit !found }' "$steps" || continue
        line="| $d |"
        for kind in $systems; do
            cell=$(awk -F '\t' -v k="$kind" -v d="$d" '
                $1 == k && $2 == d {
                    p99 = ($4 == "null") ? "–" : sprintf("%.2f", $4 / 1000)
                    got = sprintf("%.0fk", $3 / 1000)
                    if ($5 == "true") printf "**%s** (%s)", p99, got; else printf "FAIL %s (%s)", p99, got
                }' "$steps")
            line="$line ${cell:-–} |"
        done
        echo "$line"
    done
    echo
    echo "| system | best passing deliveries/s | p99 ms there | gen CPU % there | server CPU % there |"
    echo "|---|---:|---:|---:|---:|"
    for kind in $systems; do
        awk -F '\t' -v k="$kind" '
            $1 == k && $5 == "true" && $3 + 0 > best { best = $3 + 0; p99 = $4; gen = $8; srv = $9 }
            END {
                if (best > 0) printf "| %s | %.0f | %.2f | %s | %s |\n", k, best, p99 / 1000, gen, srv
                else printf "| %s | none | – | – | – |\n", k
            }' "$steps"
    done
} >"$table"

cat "$table"
if "$bench" chart --steps "$steps" --out "$chart" \
    --title "Room fan-out $rooms x $members: throughput vs p99 (ringport-bench chat)"; then
    echo
    echo "chart: $chart"
else
    echo "compare.sh: WARNING: the chart could not be drawn" >&2
fi
[ "$failures" -eq 0 ] || die "$failures run(s) could not happen or a server died; see $out"
