#!/usr/bin/env bash
# The scenarios of ringport-bench against a release `ringport serve`, server
# pinned to core 0 (--io-threads 1), generator to core 1, each measurement
# BENCH_RUNS times; prints the medians as the tables of docs/BENCHMARKS.md.
#
#   connect-storm  --close: new connections (each echoed once, then closed)
#                  at 1000, 2000, ... 32000 /s until > 1 % fail;
#                  hold: held connections at 500, 1000, ... /s up to 12000
#                  of them (the server's --max-sessions is 10000)
#   login-storm    fresh-id logins at BENCH_LOGIN_RATES /s for 5 s with the
#                  server's default argon2 parameters, alone and beside a
#                  100-member room chatting 1000 msg/s (100k deliveries/s);
#                  and that room alone, for comparison; the server's RSS
#                  after each row (all rows share one server); over TLS
#                  too with BENCH_TLS
#   slow-consumer  the defaults (5 members, 5000 msg/s of 256 B)
#   soak           100 rooms x 10 members, 1000 msg/s, BENCH_SOAK_SECS s
#
# Environment (defaults in brackets):
#   BENCH_RUNS         runs of each measurement [3]
#   BENCH_LOGIN_RATES  login rates [25 50 100]
#   BENCH_SOAK_SECS    soak length [60]
#   BENCH_ONLY         any of connect login slow soak [all four]
#   BENCH_TLS          login-storm over TLS: 0 (plaintext only), 1 (over TLS
#                      only: the server's --tls-listen with a self-signed
#                      certificate made in BENCH_OUT by openssl, the
#                      generator with --tls --tls-ca), both (each row
#                      plaintext, then over TLS) [0]
#   BENCH_SERVER_ARGS  extra flags for every `ringport serve` (for example
#                      "--socket-send-buffer 65536") [none]
#   BENCH_PORT         first port [21700]
#   BENCH_OUT          raw JSON and server logs [a new temp dir]
#   BENCH_BUILD        0 to skip `cargo build --release` [1]
#   BENCH_WAIT_QUIET   on a shared machine, wait up to this many seconds
#                      before each run for no rustc and idle CPUs [0]
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

runs=${BENCH_RUNS:-3}
login_rates=${BENCH_LOGIN_RATES:-25 50 100}
soak_secs=${BENCH_SOAK_SECS:-60}
only=${BENCH_ONLY:-connect login slow soak}
port=${BENCH_PORT:-21700}
out=${BENCH_OUT:-$(mktemp -d -t ringport-scenarios.XXXXXX)}
build=${BENCH_BUILD:-1}
case ${BENCH_TLS:-0} in
0) login_modes=plain ;;
1) login_modes=tls ;;
both) login_modes="plain tls" ;;
*) die "BENCH_TLS must be 0, 1 or both" ;;
esac

need_cores
raise_fd_limit 12400
warn_if_busy
if [ "$build" = 1 ]; then
    cargo build --release -p ringport -p ringport-bench >&2
fi
bench=target/release/ringport-bench
ringport=target/release/ringport
[ -x "$bench" ] && [ -x "$ringport" ] || die "release binaries missing (set BENCH_BUILD=1)"
mkdir -p "$out"
echo "scenarios.sh: raw results and logs in $out" >&2
trap stop_server EXIT
trap 'exit 130' INT TERM

# serve LOG ARGS...: a release ringport pinned to core 0 on a free port
# ($port); with serve_tls=1 also its TLS listener on the next free port
# ($tls_port) with the certificate of make_tls_cert in BENCH_OUT. The
# generator's target (gen_target) is the plaintext listener.
tls_cert=$out/tls-cert.pem
tls_key=$out/tls-key.pem
serve() {
    local log=$1 tls=()
    shift
    port=$(free_port $((port + 1)))
    if [ "${serve_tls:-0}" = 1 ]; then
        tls_port=$(free_port $((port + 1)))
        make_tls_cert "$tls_cert" "$tls_key"
        tls=(--tls-listen "127.0.0.1:$tls_port" --tls-cert "$tls_cert" --tls-key "$tls_key")
    fi
    # Accounts in a fresh SQLite file (the default store) next to the log;
    # no admin listener (its port could be taken). BENCH_SERVER_ARGS splits
    # into words on purpose.
    # shellcheck disable=SC2086
    taskset -c 0 "$ringport" serve --listen "127.0.0.1:$port" --io-threads 1 \
        --accounts "sqlite:${log%.log}.db" --admin-listen none ${tls[@]+"${tls[@]}"} "$@" \
        ${BENCH_SERVER_ARGS:-} >"$log" 2>&1 &
    server_pid=$!
    wait_accepting ringport "$port" "$log"
    [ "${#tls[@]}" -eq 0 ] || wait_accepting ringport "$tls_port" "$log"
    gen_target=127.0.0.1:$port
}

# gen NAME ARGS...: runs the generator on core 1 against gen_target, saves
# and prints its JSON.
gen() {
    local name=$1
    shift
    wait_quiet
    taskset -c 1 "$bench" "$@" --target "$gen_target" --json >"$out/$name.json" 2>"$out/$name.err" ||
        die "$name failed: $(tail -n 3 "$out/$name.err")"
    cat "$out/$name.json"
}

# median VALUES...: the median of numbers ("null" sorts last; "–" if none).
median() {
    printf '%s\n' "$@" | awk '$1 != "null"' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "–"; else print v[int((NR + 1) / 2)] }'
}

# first JSON KEY: the first value of KEY (field gives the last one).
first() { local v; v=$(grep -o "\"$2\":[^,}]*" <<<"$1" | head -n 1 | cut -d: -f2); echo "${v:-null}"; }

# us2ms VALUE: µs as ms with 2 decimals.
us2ms() { if [ "$1" = – ] || [ "$1" = null ]; then echo –; else awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; fi; }

case " $only " in *" connect "*)
    echo
    echo "### connect-storm (median of $runs runs)"
    echo
    echo "| mode | rate reached /s | connect p99 ms at it | echo p99 ms at it | attempts | failed | stopped by | gen CPU % |"
    echo "|---|---:|---:|---:|---:|---:|---|---:|"
    for mode in close hold; do
        reached=() cp99=() ep99=() att=() fail=() gcpu=() stop=
        for r in $(seq "$runs"); do
            serve "$out/server-connect-$mode-$r.log"
            if [ "$mode" = close ]; then
                j=$(gen "connect-$mode-$r" connect-storm --close --start-rate 1000 --max-rate 32000 --attempts 100000)
            else
                j=$(gen "connect-$mode-$r" connect-storm --start-rate 500 --max-rate 16000 --connections 12000)
            fi
            stop_server
            reached+=("$(field "$j" reached_rate)")
            att+=("$(first "$j" attempts)")
            fail+=("$(first "$j" failed)")
            gcpu+=("$(field "$j" gen_cpu_percent)")
            # p99 of the step at the reached rate.
            rr=$(field "$j" reached_rate)
            step=$(grep -o "{\"rate\":$rr[^}]*}" <<<"$j" | head -n 1)
            cp99+=("$(field "$step" connect_p99_us)")
            ep99+=("$(field "$step" answer_p99_us)")
            stop=$(sed -nE 's/.*"stopped_by":"([^"]*)".*/\1/p' <<<"$j")
            sleep 2
        done
        echo "| $mode | $(median "${reached[@]}") | $(us2ms "$(median "${cp99[@]}")") | $(us2ms "$(median "${ep99[@]}")") | $(median "${att[@]}") | $(median "${fail[@]}") | $stop (last run) | $(median "${gcpu[@]}") |"
    done
    ;;
esac

case " $only " in *" login "*)
    echo
    echo "### login-storm, default argon2 parameters (median of $runs runs)"
    echo
    echo "| logins/s offered | ok logins/s | login p50 ms | login p99 ms | refused | failed | busy room p99 ms | room missing | server CPU % (room window) | server RSS MiB after |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    serve_tls=0
    [ "$login_modes" = plain ] || serve_tls=1
    serve "$out/server-login.log" --rooms 1 --room-max-users 100 --chat-rate 0
    serve_tls=0
    rss_start=$(rss_kib "$server_pid") logins_ok=0
    # mode_args MODE: the generator's flags and target for MODE (plain or
    # tls; the login latency of tls includes each login's full handshake);
    # sets tls_args, gen_target and the row label's suffix.
    mode_args() {
        if [ "$1" = tls ]; then
            tls_args=(--tls --tls-ca "$tls_cert") gen_target=127.0.0.1:$tls_port suffix=" over TLS"
        else
            tls_args=() gen_target=127.0.0.1:$port suffix=
        fi
    }
    for mode in $login_modes; do
        mode_args "$mode"
        # The room alone first.
        p99=() miss=() scpu=()
        for r in $(seq "$runs"); do
            j=$(gen "room-alone-$mode-$r" chat --rooms 1 --members 100 --rate 1000 --duration 5 \
                --user-prefix "alone${mode}${r}_" --server-pid "$server_pid" ${tls_args[@]+"${tls_args[@]}"})
            [ "$(field "$j" tls)" = "$([ "$mode" = tls ] && echo true || echo false)" ] ||
                die "room-alone-$mode-$r: the report's tls is $(field "$j" tls)"
            p99+=("$(field "$j" p99_us)")
            miss+=("$(field "$j" missing)")
            scpu+=("$(field "$j" server_cpu_percent)")
        done
        echo "| 0 (room alone)$suffix | – | – | – | – | – | $(us2ms "$(median "${p99[@]}")") | $(median "${miss[@]}") | $(median "${scpu[@]}") | $(kib2mib "$(rss_kib "$server_pid")") |"
    done
    for rate in $login_rates; do
        for mode in $login_modes; do
            mode_args "$mode"
            for with_room in 0 1; do
                ok=() p50=() lp99=() ref=() fail=() rp99=() miss=() scpu=()
                for r in $(seq "$runs"); do
                    if [ "$with_room" = 1 ]; then
                        j=$(gen "login-$rate-$mode-room-$r" login-storm --rate "$rate" --duration 5 \
                            --chat-room-members 100 --chat-rate 1000 --server-pid "$server_pid" \
                            ${tls_args[@]+"${tls_args[@]}"})
                        c=$j
                        rp99+=("$(field "$c" p99_us)")
                        miss+=("$(field "$c" missing)")
                        scpu+=("$(field "$c" server_cpu_percent)")
                    else
                        j=$(gen "login-$rate-$mode-$r" login-storm --rate "$rate" --duration 5 \
                            ${tls_args[@]+"${tls_args[@]}"})
                    fi
                    [ "$(first "$j" tls)" = "$([ "$mode" = tls ] && echo true || echo false)" ] ||
                        die "login-$rate-$mode-$r: the report's tls is $(first "$j" tls)"
                    ok+=("$(field "$j" logins_per_sec)")
                    logins_ok=$((logins_ok + $(first "$j" logins_ok)))
                    p50+=("$(field "$j" answer_p50_us)")
                    lp99+=("$(field "$j" answer_p99_us)")
                    ref+=("$(field "$j" logins_refused)")
                    fail+=("$(field "$j" failed)")
                    sleep 1
                done
                if [ "$with_room" = 1 ]; then
                    room="$(us2ms "$(median "${rp99[@]}")") | $(median "${miss[@]}") | $(median "${scpu[@]}")"
                    label="$rate + room$suffix"
                else
                    room="– | – | –"
                    label=$rate$suffix
                fi
                echo "| $label | $(median "${ok[@]}") | $(us2ms "$(median "${p50[@]}")") | $(us2ms "$(median "${lp99[@]}")") | $(median "${ref[@]}") | $(median "${fail[@]}") | $room | $(kib2mib "$(rss_kib "$server_pid")") |"
            done
        done
    done
    echo
    echo "Server RSS (VmRSS): $(kib2mib "$rss_start") MiB at start, $(kib2mib "$(rss_kib "$server_pid")") MiB after $logins_ok successful logins."
    [ "$login_modes" = plain ] || echo "Over TLS: a full handshake per login (no session resumption), counted in its latency; the room's members connect over TLS too; the JSON has the version and cipher suite."
    stop_server
    ;;
esac

case " $only " in *" slow "*)
    echo
    echo "### slow-consumer, defaults (median of $runs runs)"
    echo
    echo "| cut off after s | others p99 ms | others missing | slow connection | pass |"
    echo "|---:|---:|---:|---|---|"
    # --chat-rate 0: the load is what is measured (see bench/lib.sh).
    serve "$out/server-slow.log" --rooms 1 --room-max-users 5 --chat-rate 0
    cut=() p99=() miss=() ends= passes=
    for r in $(seq "$runs"); do
        j=$(gen "slow-$r" slow-consumer --user-prefix "slow${r}_")
        c=$j
        cut+=("$(field "$j" cut_off_after_secs)")
        p99+=("$(field "$c" p99_us)")
        miss+=("$(field "$c" missing)")
        ends="$ends $(sed -nE 's/.*"slow_end":"([^"]*)".*/\1/p' <<<"$j")"
        passes="$passes $(field "$j" pass)"
        sleep 1
    done
    stop_server
    echo "| $(median "${cut[@]}") | $(us2ms "$(median "${p99[@]}")") | $(median "${miss[@]}") |$ends |$passes |"
    ;;
esac

case " $only " in *" soak "*)
    echo
    echo "### soak: 100 rooms x 10 members, 1000 msg/s, $soak_secs s (one run)"
    echo
    # Default argon2 cost, so the RSS includes what hashing costs; the
    # 1,000 members log in at once, which at ~40 logins/s takes ~25 s: the
    # admission bound is raised so the last of them are checked rather than
    # answered 34 (as bench/soak.sh does); --chat-rate 0: the load is what
    # is measured.
    serve "$out/server-soak.log" --rooms 100 --room-max-users 10 --chat-rate 0 \
        --max-login-wait-ms 120000
    j=$(gen soak soak --rooms 100 --members 10 --rate 1000 --duration "$soak_secs" \
        --sample-every 5 --server-pid "$server_pid")
    stop_server
    echo "| delivered | missing | p99 ms | RSS first → last MiB (max) | fds first → last (max) | pass |"
    echo "|---:|---:|---:|---|---|---|"
    c=$j
    kib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
    echo "| $(field "$c" delivered) | $(field "$c" missing) | $(us2ms "$(field "$c" p99_us)") | $(kib "$(field "$j" rss_first_kib)") → $(kib "$(field "$j" rss_last_kib)") ($(kib "$(field "$j" rss_max_kib)")) | $(field "$j" fds_first) → $(field "$j" fds_last) ($(field "$j" fds_max)) | $(field "$j" pass) |"
    echo
    echo "RSS samples (s, MiB): $(grep -o '{"secs":[^}]*}' <<<"$j" | sed -nE 's/.*"secs":([0-9.]+),"rss_kib":([0-9]+).*/\1 \2/p' |
        awk '{ printf "%s%.0f:%.1f", (NR > 1 ? ", " : ""), $1, $2 / 1024 }')"
    ;;
esac
