#!/usr/bin/env bash
# Room fan-out: ringport (io_uring and poll backends) against Redis pub/sub
# and the plain tokio chat baseline, open-loop load from `ringport-bench chat`.
#
# Each server runs pinned to core 0 (ringport with --io-threads 1, so its chat
# logic runs on that I/O thread: chat.logic_thread auto; its account threads
# share the core; an io_uring_base build older than that ran the logic on a
# thread of its own beside it), the generator pinned to core 1. For
# every shape (rooms x members) each server is started fresh, then the load
# steps up through fixed delivery rates (64-byte messages, every message
# delivered to every member of its room, sender included) until a step
# fails: fewer than 99.9 % of the deliveries arrived, or p99 latency
# (measured from each message's scheduled send time) reached 50 ms. A step
# where the generator used >= 95 % of its core also ends the climb: that
# limit is the generator's and is reported as such, never as the server's.
# When the server failed a step, BENCH_REFINE more steps bisect between the
# last passing and the failing rate.
#
# Environment (defaults in brackets):
#   BENCH_STEP_SECS  measured seconds per step [5]
#   BENCH_WARMUP     warmup seconds per step [1]
#   BENCH_DRAIN      longest wait for late deliveries after a step [2]
#   BENCH_SHAPES     shapes as ROOMSxMEMBERS ["100x10 10x100"]
#   BENCH_SYSTEMS    any of io_uring poll ws tls wss redis nats tokio (ws:
#                    ringport on io_uring, the load over its WebSocket
#                    listener; tls: over its TLS listener, --tls-listen;
#                    wss: over its WebSocket listener with websocket.tls on;
#                    tls and wss with a self-signed certificate made in
#                    BENCH_OUT by openssl, the generator trusting it)
#                    ["io_uring poll redis tokio"]; io_uring_base: an
#                    older build (BENCH_BASE_RINGPORT), for a before/after;
#                    tls_base: that build over TLS, as tls
#   BENCH_RATES      deliveries/s of the steps, ascending
#                    ["25000 50000 100000 150000 200000 300000 400000 600000 800000
#                     1200000 1600000 2400000 3200000 4800000 6400000"]
#   BENCH_SIZE       message text bytes [64]
#   BENCH_ORDER      which member sends next: random (one seeded order of all
#                    members across rooms: messages arrive from any room in
#                    any order), rotate (room by room in turn) or grouped (a
#                    room's members back to back: the order of the figures
#                    published before this option) [random]
#   BENCH_PORT       first port to use; each server start takes the next [21300]
#   BENCH_OUT        directory for raw results and server logs [a new temp dir]
#   BENCH_BUILD      0 to skip `cargo build` [1]
#   BENCH_REFINE     extra steps bisecting between the last passing and the
#                    first failing rate when the server failed [2]
#   BENCH_SERVER_CPU_PERCENT  caps every server at this share of its core
#                    (cgroup CPU bandwidth, 10 ms periods; root): compares
#                    servers where the generator cannot saturate a whole
#                    core (100 rooms x 10) [unset: no cap]
#   BENCH_ATTEMPTS   runs of a step that failed while other processes competed
#                    for the CPUs (generator run-queue wait or others' CPU > 10 %) [2]
#
# Exit status: non-zero if a step could not run (setup error, server died).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

step_secs=${BENCH_STEP_SECS:-5}
warmup=${BENCH_WARMUP:-1}
drain=${BENCH_DRAIN:-2}
shapes=${BENCH_SHAPES:-100x10 10x100}
systems=${BENCH_SYSTEMS:-io_uring poll redis tokio}
rates=${BENCH_RATES:-25000 50000 100000 150000 200000 300000 400000 600000 800000 1200000 1600000 2400000 3200000 4800000 6400000}
size=${BENCH_SIZE:-64}
order=${BENCH_ORDER:-random}
port=${BENCH_PORT:-21300}
out=${BENCH_OUT:-$(mktemp -d -t ringport-chat.XXXXXX)}
build=${BENCH_BUILD:-1}

need_cores
for s in $systems; do
    case $s in io_uring | poll | ws | tls | wss | io_uring_base | tls_base | redis | nats | tokio) ;; *) die "unknown system '$s' in BENCH_SYSTEMS" ;; esac
done
max_conns=0
for shape in $shapes; do
    [[ $shape =~ ^[0-9]+x[0-9]+$ ]] || die "shape '$shape' is not ROOMSxMEMBERS"
    c=$((${shape%x*} * ${shape#*x}))
    [ "$c" -gt "$max_conns" ] && max_conns=$c
done
raise_fd_limit $((max_conns + 256))

redis_note=
for s in redis nats tls wss; do
    case " $systems " in
    *" $s "*)
        if ! have_system "$s"; then
            what=$s-server
            case $s in tls | wss) what=openssl ;; esac
            redis_note="$redis_note${redis_note:+; }$what is not installed: the $s rows are EMPTY ($(install_hint "$s"))"
            echo "chat.sh: ************************************************************" >&2
            echo "chat.sh: WARNING: $what is not installed ($(install_hint "$s"))" >&2
            echo "chat.sh: ************************************************************" >&2
            systems=$(echo " $systems " | sed "s/ $s / /")
        fi
        ;;
    esac
done

# Before the build, which loads the machine itself.
warn_if_busy

if [ "$build" = 1 ]; then
    cargo build --release -p ringport -p ringport-bench >&2
fi
bench=target/release/ringport-bench
ringport=target/release/ringport
[ -x "$bench" ] || die "$bench missing (build it or set BENCH_BUILD=1)"

mkdir -p "$out"
steps=$out/steps.tsv
summary=$out/summary.tsv
: >"$steps"
: >"$summary"
echo "chat.sh: raw results and logs in $out" >&2

trap stop_server EXIT
trap 'exit 130' INT TERM

max_attempts=${BENCH_ATTEMPTS:-2}
refine=${BENCH_REFINE:-2}
contended_reruns=0

# run_step D: one step at D deliveries/s against the running server (rerun
# once when another process took the generator's core); sets pass, sat, pct,
# p99, gen, srv and appends to steps.tsv. Returns 1 when the climb must end
# (the run failed or the server died).
run_step() {
    local d=$1 tag=$kind-$shape-$1 attempt=0 status json contended alive
    step=$((step + 1))
    rate=$(awk -v d="$d" -v m="$members" 'BEGIN { printf "%.3f", d / m }')
    while :; do
        attempt=$((attempt + 1))
        status=0
        counters_before=$(send_counters)
        json=$(taskset -c 1 "$bench" chat --target "127.0.0.1:$port" --system "$proto" \
            --transport "$(transport_of "$kind")" ${gen_tls[@]+"${gen_tls[@]}"} \
            --rooms "$rooms" --members "$members" --rate "$rate" --size "$size" \
            --duration "$step_secs" --warmup "$warmup" --drain "$drain" --order "$order" \
            --user-prefix "s${step}a${attempt}_" --server-pid "$server_pid" --json \
            2>"$out/gen-$tag.err") || status=$?
        echo "$json" >"$out/gen-$tag-$attempt.json"
        # A failed step during which other processes competed for the CPUs
        # is rerun: the generator waited for its core more than 10 % of the
        # window, or other processes took more than 10 % of a core (all
        # tasks' CPU time minus the generator's and the server's). The
        # server's run-queue wait is no such signal: ringport's threads
        # (I/O, account workers, and in older builds the logic) share core 0
        # and wait for one another.
        [ "$status" -eq 0 ] && [ -n "$json" ] || break
        [ "$(field "$json" pass)" = true ] && [ "$(field "$json" gen_saturated)" = false ] && break
        contended=$(awk -v g="$(field "$json" gen_runq_wait_percent)" -v o="$(field "$json" others_cpu_percent)" \
            'BEGIN { print (g + 0 > 10 || o + 0 > 10) ? 1 : 0 }')
        [ "$contended" = 1 ] && [ "$attempt" -lt "$max_attempts" ] || break
        echo "chat.sh: $tag failed while another process competed for the CPU: rerunning it" >&2
        contended_reruns=$((contended_reruns + 1))
        sleep 3
    done
    alive=1
    kill -0 "$server_pid" 2>/dev/null || alive=0
    if [ "$status" -ne 0 ] || [ -z "$json" ]; then
        failures=$((failures + 1))
        limit="run failed at $d/s: $(tail -n 1 "$out/gen-$tag.err")"
        echo "chat.sh: $tag: generator failed (exit $status, server alive: $alive): $(tail -n 3 "$out/gen-$tag.err")" >&2
        return 1
    fi
    # The report says whether the load ran over TLS: it must match the kind.
    if [ "$(field "$json" tls)" != "$(tls_of "$kind")" ]; then
        failures=$((failures + 1))
        limit="run at $d/s: tls is $(field "$json" tls) in the report, not $(tls_of "$kind")"
        echo "chat.sh: $tag: $limit" >&2
        return 1
    fi
    per_send_now=$(per_send "$counters_before" "$(send_counters)")
    pass=$(field "$json" pass)
    sat=$(field "$json" gen_saturated)
    pct=$(field "$json" delivered_percent)
    p99=$(field "$json" p99_us)
    gen=$(field "$json" gen_cpu_percent)
    srv=$(field "$json" server_cpu_percent)
    us_per_delivery=$(awk -v s="$srv" -v d="$(field "$json" deliveries_per_sec)" \
        'BEGIN { print (s == "null" || d + 0 == 0) ? "null" : sprintf("%.2f", s * 1e4 / d) }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$shape" "$kind" "$d" "$rate" "$pass" "$sat" "$pct" \
        "$(field "$json" deliveries_per_sec)" "$p99" "$gen" "$srv" \
        "$(field "$json" gen_runq_wait_percent)" "$(field "$json" server_runq_wait_percent)" \
        "$(field "$json" lag_p99_us)" "$(field "$json" others_cpu_percent)" \
        "$per_send_now" "$us_per_delivery" "$order" >>"$steps"
    printf 'chat.sh: %-8s %7s %8s deliveries/s (%s order): %-5s delivered %s %%, p99 %s ms, CPU gen %s %% server %s %% others %s %% (gen waited for its core %s %%); deliveries per send %s, server CPU %s µs per delivery\n' \
        "$kind" "$shape" "$d" "$order" "$pass" "$pct" "$(ms "$p99")" "$gen" "$srv" \
        "$(field "$json" others_cpu_percent)" "$(field "$json" gen_runq_wait_percent)" \
        "$per_send_now" "$us_per_delivery" >&2
    if [ "$d" = 100000 ]; then
        p99_100k=$p99 gen_100k=$gen srv_100k=$srv
        [ "$pass" = true ] || p99_100k="$p99 (FAIL)"
    fi
    if [ "$alive" = 0 ]; then
        failures=$((failures + 1))
        limit="server died at $d/s"
        return 1
    fi
}

failures=0
for shape in $shapes; do
    rooms=${shape%x*}
    members=${shape#*x}
    for kind in $systems; do
        proto=$(proto_of "$kind")
        # Skip ports something else already listens on.
        port=$(free_port $((port + 1)))
        start_server "$kind" "$port" "$rooms" "$members" "$out/server-$kind-$shape.log"
        best=0 best_gen=null best_srv=null limit="not reached (every step passed)"
        p99_100k=null gen_100k=null srv_100k=null
        step=0
        fail_at=
        for d in $rates; do
            run_step "$d" || break
            # A step that passes counts even when the generator used its
            # whole core: latency is timed from the scheduled send time, so
            # generator lateness only ever counts against the server. A step
            # that fails with the generator saturated may be the generator's
            # limit, not the server's: the climb stops there, labelled so.
            if [ "$pass" = true ]; then
                best=$d best_gen=$gen best_srv=$srv
                continue
            fi
            if [ "$sat" = true ]; then
                limit="GENERATOR at $d/s (gen CPU $gen %): failed with the generator saturated, server limit not reached"
                break
            fi
            limit="server at $d/s: delivered $pct %, p99 $(ms "$p99") ms"
            fail_at=$d
            break
        done
        # Narrow a server limit down between the last passing and the first
        # failing step.
        if [ -n "$fail_at" ] && [ "$best" -gt 0 ]; then
            for _ in $(seq "$refine"); do
                d=$(((best + fail_at) / 2 / 1000 * 1000))
                [ "$d" -gt "$best" ] && [ "$d" -lt "$fail_at" ] || break
                run_step "$d" || break
                # As in the climb: a pass counts whatever the generator's CPU.
                if [ "$pass" = true ]; then
                    best=$d best_gen=$gen best_srv=$srv
                elif [ "$sat" = true ]; then
                    limit="$limit; GENERATOR at $d/s (gen CPU $gen %): failed with the generator saturated"
                    break
                else
                    fail_at=$d
                    limit="server at $d/s: delivered $pct %, p99 $(ms "$p99") ms"
                fi
            done
        fi
        stop_server
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$shape" "$kind" "$best" "$best_gen" "$best_srv" \
            "$p99_100k" "$gen_100k" "$srv_100k" "$limit" >>"$summary"
    done
done

echo
echo "Room fan-out, $size-byte messages, open-loop steps of ${step_secs} s after ${warmup} s warmup;"
echo "server pinned to core 0 (ringport: --io-threads 1), generator to core 1 (CPU % of one core)."
[ -n "${BENCH_SERVER_CPU_PERCENT:-}" ] && echo "every server capped at ${BENCH_SERVER_CPU_PERCENT} % of its core (BENCH_SERVER_CPU_PERCENT)."
echo "A step passes with >= 99.9 % of the deliveries and p99 < 50 ms (latency from the scheduled"
echo "send time). 'best' is the highest passing step; 'stopped by' says what ended the climb."
[ -n "$redis_note" ] && { echo; echo "**WARNING: $redis_note**"; }
for shape in $shapes; do
    echo
    echo "### ${shape%x*} rooms x ${shape#*x} members"
    echo
    echo "| system | best deliveries/s | gen CPU % at best | server CPU % at best | p99 ms at 100k/s | gen / server CPU % at 100k/s | stopped by |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    awk -F '\t' -v shape="$shape" '
    function fmt(v) { return (v == "null" || v == "") ? "–" : v }
    function msf(v,    n) { if (v == "null" || v == "") return "–"; n = v; sub(/ .*/, "", n); return sprintf("%.2f%s", n / 1000, (v ~ /FAIL/) ? " (fail)" : "") }
    $1 == shape {
        name = ($2 == "io_uring") ? "ringport io_uring" : ($2 == "poll") ? "ringport poll" : ($2 == "ws") ? "ringport WebSocket" : ($2 == "tls") ? "ringport TLS" : ($2 == "tls_base") ? "ringport TLS (base)" : ($2 == "wss") ? "ringport wss" : ($2 == "tokio") ? "tokio-chat" : $2
        printf "| %s | %s | %s | %s | %s | %s / %s | %s |\n", name, ($3 > 0 ? $3 : "none"), fmt($4), fmt($5), msf($6), fmt($7), fmt($8), $9
    }' "$summary"
    awk -F '\t' -v shape="$shape" '
    $1 == shape { best[$2] = $3 + 0; lim[$2] = $9 }
    END {
        split("io_uring poll", rp, " ")
        for (i = 1; i <= 2; i++) {
            r = rp[i]
            if (!(r in best)) continue
            line = ""
            if ("redis" in best) line = line sprintf("  ringport %s / redis: %s", r, (best["redis"] > 0) ? sprintf("%.2f", best[r] / best["redis"]) : "–")
            if ("tokio" in best) line = line sprintf("  ringport %s / tokio: %s", r, (best["tokio"] > 0) ? sprintf("%.2f", best[r] / best["tokio"]) : "–")
            if (line != "") print "\nratios of best deliveries/s:" line (lim[r] ~ /GENERATOR/ ? "  (ringport " r " was generator-limited: a lower bound)" : "")
        }
    }' "$summary"
    # TLS against plaintext, same server (io_uring): best deliveries/s and
    # server CPU per delivery there (µs = CPU % x 1e4 / deliveries/s).
    awk -F '\t' -v shape="$shape" '
    function us(s, d) { return (s == "null" || s == "" || d + 0 == 0) ? "" : sprintf("%.2f", s * 1e4 / d) }
    $1 == shape { best[$2] = $3 + 0; cpu[$2] = us($5, $3); lim[$2] = $9 }
    END {
        n = split("tls:io_uring wss:ws", pairs, " ")
        for (i = 1; i <= n; i++) {
            split(pairs[i], kv, ":"); t = kv[1]; p = kv[2]
            if (!(t in best) || !(p in best)) continue
            line = sprintf("%s / %s: best deliveries/s %s / %s", t, p, best[t], best[p])
            if (best[p] > 0) line = line sprintf(" = %.2f", best[t] / best[p])
            if (cpu[t] != "" && cpu[p] + 0 > 0) line = line sprintf("; server CPU per delivery at best %s / %s µs = %.2f", cpu[t], cpu[p], cpu[t] / cpu[p])
            if (lim[t] ~ /GENERATOR/ || lim[p] ~ /GENERATOR/) line = line "  (generator-limited: lower bounds)"
            print "\nTLS against plaintext: " line
        }
    }' "$summary"
    echo
    echo "Steps ($order order): deliveries per send (ringport only: frames queued / sends, from its"
    echo "metrics) and server CPU per delivery show how much each server coalesces."
    echo
    echo "| system | offered deliveries/s | pass | p99 ms | deliveries per send | server CPU µs per delivery |"
    echo "|---|---:|---|---:|---:|---:|"
    awk -F '\t' -v shape="$shape" '
    function fmt(v) { return (v == "null" || v == "") ? "–" : v }
    $1 == shape {
        name = ($2 == "io_uring") ? "ringport io_uring" : ($2 == "poll") ? "ringport poll" : ($2 == "ws") ? "ringport WebSocket" : ($2 == "tls") ? "ringport TLS" : ($2 == "tls_base") ? "ringport TLS (base)" : ($2 == "wss") ? "ringport wss" : ($2 == "tokio") ? "tokio-chat" : $2
        printf "| %s | %s | %s | %s | %s | %s |\n", name, $3, $5, ($9 == "null" ? "–" : sprintf("%.1f", $9 / 1000)), fmt($16), fmt($17)
    }' "$steps"
done
[ "$contended_reruns" -gt 0 ] && { echo; echo "note: $contended_reruns step(s) were rerun because another process competed for the CPU."; }
if awk -F '\t' '$12 + 0 > 10 || $15 + 0 > 10 { found = 1 } END { exit !found }' "$steps"; then
    echo
    echo "warning: in some steps other processes competed for the CPUs (the generator waited for its"
    echo "core, column 12 of $steps, or others took CPU time, column 15, more than 10 %);"
    echo "those figures are noisy."
fi

if [ "$failures" -gt 0 ]; then
    die "$failures step(s) could not run or a server died; see $out"
fi
