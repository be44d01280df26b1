#!/usr/bin/env bash
# Echo throughput: ringport (io_uring and poll backends) against the plain
# tokio baseline, ping-pong load from `ringport-bench echo`.
#
# The server runs pinned to core 0, the generator to core 1. Every
# (size, connections) point is measured BENCH_RUNS times per server; the
# servers take turns within each repetition (in a rotating order) so that
# noise hits all of them alike. The table shows medians.
#
# Environment (defaults in brackets):
#   BENCH_DURATION  measured seconds per run [5]
#   BENCH_WARMUP    warmup seconds per run [1]
#   BENCH_RUNS      repetitions [3]
#   BENCH_SIZES     message sizes in bytes ["64 1024"]
#   BENCH_CONNS     connection counts ["1 100 1000"]
#   BENCH_SERVERS   any of io_uring poll tokio io_uring_app ["io_uring poll tokio io_uring_app"]
#                   (io_uring_app: the echo on an application thread, frames
#                   handed over in batches as the chat server does;
#                   io_uring_base: `ringport echo` on io_uring from the binary
#                   BENCH_BASE_RINGPORT, an older build, for a before/after
#                   comparison measured side by side in the same run)
#   BENCH_BASE_RINGPORT  the baseline binary for io_uring_base
#   BENCH_FRAMING   raw or packet [raw]
#   BENCH_PORT      first port to use; each server start takes the next [21100]
#   BENCH_OUT       directory for raw results and server logs [a new temp dir]
#   BENCH_BUILD     0 to skip `cargo build` [1]
#
# Exit status: non-zero if any run failed or saw a mismatched echo.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

duration=${BENCH_DURATION:-5}
warmup=${BENCH_WARMUP:-1}
runs=${BENCH_RUNS:-3}
sizes=${BENCH_SIZES:-64 1024}
conns_list=${BENCH_CONNS:-1 100 1000}
servers=${BENCH_SERVERS:-io_uring poll tokio io_uring_app}
framing=${BENCH_FRAMING:-raw}
port=${BENCH_PORT:-21100}
out=${BENCH_OUT:-$(mktemp -d -t ringport-bench.XXXXXX)}
build=${BENCH_BUILD:-1}

need_cores
for s in $servers; do
    case $s in io_uring | poll | tokio | io_uring_app | io_uring_base) ;; *) die "unknown server '$s' in BENCH_SERVERS" ;; esac
done
case $framing in raw | packet) ;; *) die "BENCH_FRAMING must be raw or packet" ;; esac

max_conns=0
for c in $conns_list; do [ "$c" -gt "$max_conns" ] && max_conns=$c; done
raise_fd_limit $((max_conns + 256))

if [ "$build" = 1 ]; then
    packages=(-p ringport-bench)
    case " $servers " in *" io_uring "* | *" poll "* | *" io_uring_app "*) packages+=(-p ringport) ;; esac
    cargo build --release "${packages[@]}" >&2
fi
bench=target/release/ringport-bench
ringport=target/release/ringport
[ -x "$bench" ] || die "$bench missing (build it or set BENCH_BUILD=1)"

mkdir -p "$out"
results=$out/results.tsv
: >"$results"
echo "echo.sh: raw results and logs in $out" >&2
warn_if_busy

trap stop_server EXIT
trap 'exit 130' INT TERM

# start_echo_server KIND PORT LOG: starts an echo server pinned to core 0
# and waits until it accepts connections.
start_echo_server() {
    local kind=$1 p=$2 log=$3
    case $kind in
    io_uring | poll)
        [ -x "$ringport" ] || die "$ringport missing"
        local backend=io-uring
        [ "$kind" = poll ] && backend=poll
        taskset -c 0 "$ringport" echo --listen "127.0.0.1:$p" --backend "$backend" \
            --io-threads 1 --framing "$framing" >"$log" 2>&1 &
        ;;
    io_uring_base)
        [ -x "${BENCH_BASE_RINGPORT:-}" ] || die "io_uring_base needs BENCH_BASE_RINGPORT, an executable ringport"
        taskset -c 0 "$BENCH_BASE_RINGPORT" echo --listen "127.0.0.1:$p" --backend io-uring \
            --io-threads 1 --framing "$framing" >"$log" 2>&1 &
        ;;
    io_uring_app)
        [ -x "$ringport" ] || die "$ringport missing"
        taskset -c 0 "$ringport" echo --listen "127.0.0.1:$p" --backend io-uring \
            --io-threads 1 --framing "$framing" --app-thread >"$log" 2>&1 &
        ;;
    tokio)
        taskset -c 0 "$bench" tokio-echo --listen "127.0.0.1:$p" --framing "$framing" >"$log" 2>&1 &
        ;;
    esac
    server_pid=$!
    wait_accepting "$kind" "$p" "$log"
}

failures=0
read -r -a server_order <<<"$servers"
for rep in $(seq "$runs"); do
    for size in $sizes; do
        for conns in $conns_list; do
            # Rotate the servers' order from one repetition to the next.
            n=${#server_order[@]}
            for i in $(seq 0 $((n - 1))); do
                kind=${server_order[$(((i + rep - 1) % n))]}
                port=$((port + 1))
                tag=$kind-$size-$conns-$rep
                start_echo_server "$kind" "$port" "$out/server-$tag.log"
                status=0
                json=$(taskset -c 1 "$bench" echo --target "127.0.0.1:$port" \
                    --connections "$conns" --size "$size" --framing "$framing" \
                    --duration "$duration" --warmup "$warmup" \
                    --server-pid "$server_pid" --json 2>"$out/gen-$tag.err") || status=$?
                echo "$json" >"$out/gen-$tag.json"
                alive=1
                kill -0 "$server_pid" 2>/dev/null || alive=0
                stop_server
                if [ "$status" -ne 0 ] || [ "$alive" -eq 0 ] || [ -z "$json" ]; then
                    failures=$((failures + 1))
                    echo "echo.sh: run $tag failed (exit $status, server alive: $alive):" \
                        "$(tail -n 3 "$out/gen-$tag.err")" >&2
                fi
                [ -n "$json" ] || continue
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                    "$kind" "$size" "$conns" "$rep" \
                    "$(field "$json" msgs_per_sec)" "$(field "$json" p99_us)" \
                    "$(field "$json" gen_cpu_percent)" "$(field "$json" server_cpu_percent)" \
                    "$(field "$json" mismatches)" "$(field "$json" errors)" \
                    "$(field "$json" msgs_per_server_cpu_sec)" \
                    "$(field "$json" gen_runq_wait_percent)" "$(field "$json" server_runq_wait_percent)" >>"$results"
                printf 'echo.sh: %-8s %5s B %5s conns run %s: %s msg/s (waited for a CPU: generator %s%%, server %s%%)\n' \
                    "$kind" "$size" "$conns" "$rep" "$(field "$json" msgs_per_sec)" \
                    "$(field "$json" gen_runq_wait_percent)" "$(field "$json" server_runq_wait_percent)" >&2
            done
        done
    done
done

echo
echo "Echo round trips, $framing framing, median of $runs runs of ${duration} s after ${warmup} s warmup;"
echo "server pinned to core 0, generator to core 1 (CPU % is of one core). When the generator's"
echo "CPU nears 100 % it, not the server, limits msg/s: compare msg per server CPU second then."
echo "Max CPU wait % is the longest time a generator or server of that row sat runnable but not"
echo "running (another process on its core): above a few % that row's figures are noisy."
echo
awk -F '\t' -v sizes="$sizes" -v conns="$conns_list" -v base_bin="${BENCH_BASE_RINGPORT:-}" '
function median(list,    a, n, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return ""
    for (i = 2; i <= n; i++) {            # insertion sort (mawk has no asort)
        t = a[i] + 0
        for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]
        a[j + 1] = t
    }
    return (n % 2) ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}
function add(name, k, v) { if (v != "null" && v != "") vals[name, k] = vals[name, k] " " v }
function get(name, k,    m) { m = median(vals[name, k]); return m }
function fmt(v, d) { return (v == "") ? "–" : sprintf("%." d "f", v) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "–" : sprintf("%.2f", a / b) }
{
    k = $1 SUBSEP $2 SUBSEP $3
    add("msgs", k, $5); add("p99", k, $6); add("gen", k, $7); add("srv", k, $8); add("eff", k, $11)
    mism += $9; errs += $10
    w = ($12 != "null" && $12 + 0 > $13 + 0) ? $12 + 0 : ($13 == "null" ? 0 : $13 + 0)
    row = $2 SUBSEP $3
    if (w > wait[row]) wait[row] = w
    if (w > 10) noisy++
    runs++
}
END {
    print "| size B | conns | io_uring msg/s | poll msg/s | tokio msg/s | io_uring/tokio | poll/tokio | io_uring app-thread msg/s (/tokio) | p99 µs (uring / poll / tokio) | gen CPU % (uring / poll / tokio) | server CPU % (uring / poll / tokio) | k msg per server CPU s (uring / poll / tokio) | per server CPU s io_uring/tokio | max CPU wait % |"
    print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    ns = split(sizes, S, " "); nc = split(conns, C, " ")
    for (i = 1; i <= ns; i++) for (j = 1; j <= nc; j++) {
        for (x = 1; x <= 4; x++) {
            srv = (x == 1) ? "io_uring" : (x == 2) ? "poll" : (x == 3) ? "tokio" : "io_uring_app"
            k = srv SUBSEP S[i] SUBSEP C[j]
            m[x] = get("msgs", k); p[x] = get("p99", k); g[x] = get("gen", k); c[x] = get("srv", k)
            e[x] = get("eff", k); if (e[x] != "") e[x] /= 1000
        }
        printf "| %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s / %s / %s | %s / %s / %s | %s / %s / %s | %s / %s / %s | %s | %s |\n",
            S[i], C[j], fmt(m[1], 0), fmt(m[2], 0), fmt(m[3], 0), ratio(m[1], m[3]), ratio(m[2], m[3]),
            fmt(m[4], 0), ratio(m[4], m[3]),
            fmt(p[1], 0), fmt(p[2], 0), fmt(p[3], 0), fmt(g[1], 0), fmt(g[2], 0), fmt(g[3], 0),
            fmt(c[1], 0), fmt(c[2], 0), fmt(c[3], 0), fmt(e[1], 0), fmt(e[2], 0), fmt(e[3], 0), ratio(e[1], e[3]),
            fmt(wait[S[i], C[j]] + 0, 0)
    }
    for (i = 1; i <= ns; i++) for (j = 1; j <= nc; j++) {
        kb = "io_uring_base" SUBSEP S[i] SUBSEP C[j]; kn = "io_uring" SUBSEP S[i] SUBSEP C[j]
        if (get("msgs", kb) == "") continue
        if (!base_header) {
            print "\nBefore/after (io_uring_base: " base_bin "):\n"
            print "| size B | conns | base msg/s | io_uring msg/s | io_uring/base | k msg per server CPU s (base / io_uring) | per server CPU s io_uring/base |"
            print "|---:|---:|---:|---:|---:|---:|---:|"
            base_header = 1
        }
        eb = get("eff", kb) / 1000; en = get("eff", kn); if (en != "") en /= 1000
        printf "| %s | %s | %s | %s | %s | %s / %s | %s |\n", S[i], C[j],
            fmt(get("msgs", kb), 0), fmt(get("msgs", kn), 0), ratio(get("msgs", kn), get("msgs", kb)),
            fmt(eb, 0), fmt(en, 0), ratio(en, eb)
    }
    printf "\nmismatches: %d, errors: %d (all runs)\n", mism, errs
    if (noisy > 0)
        printf "warning: in %d of %d runs the generator or the server waited for a CPU more than 10%% of the time (max CPU wait %% column): another process competed for the pinned cores, so those figures are noisy\n", noisy, runs
}' "$results"

if [ "$failures" -gt 0 ]; then
    die "$failures run(s) failed; see $out"
fi
