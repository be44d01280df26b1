# Helpers shared by the bench scripts (sourced, not run).
#
# The caller sets: $bench and $ringport (the binaries), and calls
# `trap stop_server EXIT` itself. start_server sets $server_pid.

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# need_cores: at least 2 cores and taskset, for pinning server and generator apart.
need_cores() {
    command -v taskset >/dev/null || die "taskset not found (install util-linux)"
    [ "$(nproc --all)" -ge 2 ] || die "needs at least 2 cores (server on 0, generator on 1)"
}

# raise_fd_limit N: raises the open-file limit to N (or dies).
raise_fd_limit() {
    if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$1" ]; then
        ulimit -n "$1" 2>/dev/null || die "cannot raise the open-file limit to $1 (ulimit -n)"
    fi
}

# warn_if_busy: reports the load average, warns when the machine is not quiet.
warn_if_busy() {
    echo "$(basename "$0"): load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    if awk '{ exit !($1 > 0.5) }' /proc/loadavg; then
        echo "$(basename "$0"): WARNING: the machine is not quiet (1-minute load > 0.5): figures may be noisy" >&2
    fi
    local builds
    builds=$(pgrep -c rustc 2>/dev/null || true)
    if [ "${builds:-0}" -gt 0 ]; then
        echo "$(basename "$0"): WARNING: $builds rustc process(es) running: figures will be noisy" >&2
    fi
}

# have_system KIND: whether the server of KIND can be started here.
have_system() {
    case $1 in
    io_uring | poll | tokio) return 0 ;;
    tls | wss | tls_base) command -v openssl >/dev/null ;;
    redis) command -v redis-server >/dev/null ;;
    nats) command -v nats-server >/dev/null ;;
    *) return 1 ;;
    esac
}

# install_hint KIND: how to install the server of KIND.
install_hint() {
    case $1 in
    redis) echo "apt-get install -y redis-server" ;;
    nats) echo "apt-get install -y nats-server" ;;
    tls | wss) echo "apt-get install -y openssl" ;;
    *) echo "cargo build --release" ;;
    esac
}

# proto_of KIND: the `--system` of ringport-bench that talks to KIND.
proto_of() {
    case $1 in
    redis) echo redis ;;
    nats) echo nats ;;
    *) echo ringport ;;
    esac
}

# transport_of KIND: how the generator reaches the server (ws and wss:
# WebSocket).
transport_of() {
    case $1 in
    ws | wss) echo ws ;;
    *) echo tcp ;;
    esac
}

# tls_of KIND: whether the generator reaches KIND over TLS (true/false), as
# its JSON report's `tls` says.
tls_of() {
    case $1 in
    tls | wss | tls_base) echo true ;;
    *) echo false ;;
    esac
}

# make_tls_cert CERT KEY: a self-signed P-256 certificate for localhost and
# 127.0.0.1 (2 days) and its key, as PEM, unless CERT exists already. It is
# its own CA: the generator trusts it with --tls-ca CERT. CA:FALSE because
# `openssl req -x509` marks its certificate as a CA by default, and the
# generator's certificate check (rustls/webpki) refuses a CA certificate as
# a server's own (CaUsedAsEndEntity).
make_tls_cert() {
    [ -s "$1" ] && [ -s "$2" ] && return 0
    command -v openssl >/dev/null || die "openssl not found ($(install_hint tls)): the tls and wss kinds need it"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -addext basicConstraints=critical,CA:FALSE \
        -keyout "$2" -out "$1" 2>/dev/null || die "openssl could not make a certificate ($1)"
}

# free_port P: P or the next port nothing listens on.
free_port() {
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}

server_pid=
# gen_tls: the generator's TLS flags for the running server (set by
# start_server; empty without TLS).
gen_tls=()
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}

# start_server KIND PORT ROOMS MEMBERS LOG: starts a server pinned to core 0
# and waits until it accepts connections. tls and wss make a certificate
# next to LOG (tls-cert.pem, tls-key.pem) and set gen_tls to the
# generator's flags that trust it.
start_server() {
    local kind=$1 p=$2 rooms=$3 members=$4 log=$5
    gen_tls=()
    case $kind in
    io_uring | poll | ws | tls | wss | io_uring_base | tls_base)
        local binary=$ringport
        # io_uring_base, tls_base: an older build (BENCH_BASE_RINGPORT), for
        # a before/after comparison in one run (tls_base: over TLS, as tls).
        case $kind in io_uring_base | tls_base) binary=${BENCH_BASE_RINGPORT:-} ;; esac
        [ -x "$binary" ] || die "$kind: ringport binary '$binary' missing ($kind needs BENCH_BASE_RINGPORT)"
        local backend=io-uring listen=(--listen "127.0.0.1:$p")
        [ "$kind" = poll ] && backend=poll
        # ws: the same server (io_uring), the load on its WebSocket listener.
        [ "$kind" = ws ] && listen=(--listen 127.0.0.1:0 --ws-listen "127.0.0.1:$p")
        # tls: the same server, the load on its TLS listener (the same
        # protocol inside TLS); wss: on its WebSocket listener with
        # websocket.tls on. Both with the certificate made here.
        local tls_env=()
        if [ "$(tls_of "$kind")" = true ]; then
            local cert key
            cert="$(dirname "$log")/tls-cert.pem" key="$(dirname "$log")/tls-key.pem"
            make_tls_cert "$cert" "$key"
            gen_tls=(--tls --tls-ca "$cert")
            listen=(--listen 127.0.0.1:0 --tls-listen "127.0.0.1:$p" --tls-cert "$cert" --tls-key "$key")
            if [ "$kind" = wss ]; then
                listen=(--listen 127.0.0.1:0 --ws-listen "127.0.0.1:$p" --tls-cert "$cert" --tls-key "$key")
                tls_env=(RINGPORT_WEBSOCKET__TLS=true)
            fi
        fi
        # Not the defaults, and why: --chat-rate 0 because the load is
        # the measured quantity (the default 10 chats/s per session would
        # cap it); cheap argon2 and in-memory accounts because up to 2,000
        # members log in before each step, which at the default cost takes
        # a minute per server start and is not what this measures (the
        # login scenario measures logins on the defaults).
        env ${tls_env[@]+"${tls_env[@]}"} taskset -c 0 "$binary" serve "${listen[@]}" --backend "$backend" \
            --io-threads 1 --rooms "$rooms" --room-max-users "$members" --chat-rate 0 \
            --accounts memory --admin-listen 127.0.0.1:0 --argon2-memory-kib 8 --argon2-iterations 1 \
            >"$log" 2>&1 &
        ;;
    redis)
        taskset -c 0 redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no \
            >"$log" 2>&1 &
        ;;
    nats)
        taskset -c 0 nats-server --addr 127.0.0.1 --port "$p" >"$log" 2>&1 &
        ;;
    tokio)
        taskset -c 0 "$bench" tokio-chat --listen "127.0.0.1:$p" --rooms "$rooms" \
            --room-max-users "$members" >"$log" 2>&1 &
        ;;
    *) die "unknown system '$kind'" ;;
    esac
    server_pid=$!
    [ -n "${BENCH_SERVER_CPU_PERCENT:-}" ] && limit_cpu "$server_pid" "$BENCH_SERVER_CPU_PERCENT"
    wait_accepting "$kind" "$p" "$log"
    admin_addr=
    case $kind in
    io_uring | poll | ws | tls | wss | io_uring_base | tls_base) admin_addr=$(sed -nE 's/.*admin=([0-9.]+:[0-9]+).*/\1/p' "$log" | head -n 1) ;;
    esac
}

# limit_cpu PID PERCENT: caps process PID (all its threads) at PERCENT of
# one core with the kernel's CPU bandwidth control (cgroup v2 cpu.max, or
# v1 cpu.cfs_quota_us), in 10 ms periods so that a throttled server stalls
# for at most a few ms. For comparing servers when the load generator
# cannot saturate a whole core (BENCH_SERVER_CPU_PERCENT in chat.sh).
# Needs root; dies when neither hierarchy can be used.
limit_cpu() {
    local pid=$1 percent=$2 period=10000 dir
    [[ $percent =~ ^[0-9]+$ ]] && [ "$percent" -ge 5 ] && [ "$percent" -le 100 ] ||
        die "BENCH_SERVER_CPU_PERCENT must be 5..100, got '$percent'"
    local quota=$((period * percent / 100))
    if [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers; then
        dir=/sys/fs/cgroup/ringport-bench-server
        mkdir -p "$dir" && echo "$quota $period" >"$dir/cpu.max" || die "cannot set up $dir (root needed)"
    elif [ -d /sys/fs/cgroup/cpu ]; then
        dir=/sys/fs/cgroup/cpu/ringport-bench-server
        mkdir -p "$dir" && echo "$period" >"$dir/cpu.cfs_period_us" &&
            echo "$quota" >"$dir/cpu.cfs_quota_us" || die "cannot set up $dir (root needed)"
    else
        die "BENCH_SERVER_CPU_PERCENT: no cgroup cpu controller here"
    fi
    echo "$pid" >"$dir/cgroup.procs" || die "cannot move the server into $dir"
}

# send_counters: "frames_out sends" of the running ringport (from its admin
# listener), or "null null" for other servers. Their ratio over a step is
# the deliveries per send: how much the server coalesced.
send_counters() {
    if [ -z "${admin_addr:-}" ]; then
        echo "null null"
        return
    fi
    local body
    body=$(exec 3<>"/dev/tcp/${admin_addr%:*}/${admin_addr##*:}" &&
        printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3) || { echo "null null"; return; }
    awk '$1 == "ringport_frames_out_total" { f = $2 } $1 == "ringport_sends_total" { s = $2 }
        END { print (f == "" ? "null" : f), (s == "" ? "null" : s) }' <<<"$body"
}

# per_send BEFORE AFTER: deliveries per send between two send_counters.
per_send() {
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
        if (x[1] == "null" || y[1] == "null" || y[2] - x[2] <= 0) print "null"
        else printf "%.1f\n", (y[1] - x[1]) / (y[2] - x[2]) }'
}

# wait_accepting KIND PORT LOG: waits until the server $server_pid accepts
# connections on PORT (dies, showing LOG, if it exits or takes over 10 s).
wait_accepting() {
    local i
    for i in $(seq 100); do
        kill -0 "$server_pid" 2>/dev/null || { cat "$3" >&2; die "$1 server exited at start"; }
        if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    die "$1 server did not accept connections on port $2 within 10 s"
}

# rss_kib PID: the resident set (VmRSS) of process PID in KiB, "null" if it
# has exited.
rss_kib() {
    local v
    v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true)
    echo "${v:-null}"
}

# kib2mib KIB: KiB as MiB with 1 decimal ("–" for null).
kib2mib() { if [ "$1" = null ] || [ -z "$1" ]; then echo "–"; else awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; fi; }

# field JSON KEY: the value of KEY in a flat JSON object ("null" if absent).
field() {
    local v
    v=$(sed -nE "s/.*\"$2\":(null|true|false|-?[0-9.eE+-]+).*/\1/p" <<<"$1")
    echo "${v:-null}"
}

# ms VALUE_US: microseconds as milliseconds with 2 decimals ("–" for null).
ms() { if [ "$1" = null ] || [ -z "$1" ]; then echo "–"; else awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; fi; }

# cpu_busy SECS: percent of all CPUs' time spent running tasks over SECS.
cpu_busy() {
    local a b
    a=$(awk '/^cpu /{ print $2 + $3 + $4, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    sleep "$1"
    b=$(awk '/^cpu /{ print $2 + $3 + $4, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    echo "$a $b" | awk '{ d = $4 - $2; printf "%.0f", (d > 0) ? 100 * ($3 - $1) / d : 0 }'
}

# wait_quiet: on a shared machine, waits up to BENCH_WAIT_QUIET seconds [0]
# until no rustc runs and the CPUs were < 20 % busy over 2 s.
quiet_waits=0
wait_quiet() {
    local max=${BENCH_WAIT_QUIET:-0} start=$SECONDS
    [ "$max" -gt 0 ] || return 0
    while [ $((SECONDS - start)) -lt "$max" ]; do
        if ! pgrep -x rustc >/dev/null && [ "$(cpu_busy 2)" -lt 20 ]; then
            return 0
        fi
        sleep 3
    done
    quiet_waits=$((quiet_waits + 1))
    echo "$(basename "$0"): WARNING: the machine did not get quiet within ${max} s; measuring anyway" >&2
}
