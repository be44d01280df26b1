#!/usr/bin/env bash
# Memory per idle connection: the growth of an echo server's resident set
# (VmRSS) when IDLE_CONNS idle connections are opened to it.
#
# Environment (defaults in brackets):
#   IDLE_CONNS      connections to open [10000]
#   IDLE_SERVER     ringport or tokio (the baseline) [ringport]
#   IDLE_BACKEND    ringport backend: auto, io-uring or poll [auto]
#   IDLE_IO_THREADS ringport I/O threads [1]
#   IDLE_SETTLE     seconds the server's descriptor count must stay unchanged
#                   before sampling, if it never reaches one per connection [2]
#   IDLE_TIMEOUT    most seconds to wait for connecting and accepting [120]
#   IDLE_PORT       port to listen on [21090]
#   IDLE_BUILD      0 to skip `cargo build` [1]
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

conns=${IDLE_CONNS:-10000}
server=${IDLE_SERVER:-ringport}
backend=${IDLE_BACKEND:-auto}
io_threads=${IDLE_IO_THREADS:-1}
settle=${IDLE_SETTLE:-2}
timeout=${IDLE_TIMEOUT:-120}
port=${IDLE_PORT:-21090}
build=${IDLE_BUILD:-1}

command -v taskset >/dev/null || die "taskset not found (install util-linux)"
case $server in ringport | tokio) ;; *) die "IDLE_SERVER must be ringport or tokio" ;; esac

# The server and the client each hold one descriptor per connection. Ask
# for room for both in one limit (20,100 for 10,000 connections); where the
# hard limit is lower (a container without CAP_SYS_RESOURCE), settle for it
# as long as each process still fits: they are separate processes.
want_fds=$((2 * conns + 100))
need_fds=$((conns + 100))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_fds" ]; then
    if ! ulimit -n "$want_fds" 2>/dev/null; then
        hard=$(ulimit -Hn)
        if [ "$hard" != unlimited ] && [ "$hard" -lt "$need_fds" ]; then
            die "open-file hard limit $hard is below the $need_fds needed; run as root or raise it first"
        fi
        ulimit -n "$hard"
        echo "idle-rss.sh: note: open-file limit raised only to the hard limit $hard (wanted $want_fds)" >&2
    fi
fi

if [ "$build" = 1 ]; then
    packages=(-p ringport-bench)
    [ "$server" = ringport ] && packages+=(-p ringport)
    cargo build --release "${packages[@]}" >&2
fi
bench=target/release/ringport-bench
ringport=target/release/ringport

tmp=$(mktemp -d -t ringport-idle.XXXXXX)
server_pid=
client_pid=
cleanup() {
    for pid in $client_pid $server_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

case $server in
ringport)
    [ -x "$ringport" ] || die "$ringport missing"
    taskset -c 0 "$ringport" echo --listen "127.0.0.1:$port" --backend "$backend" \
        --io-threads "$io_threads" --framing raw >"$tmp/server.log" 2>&1 &
    ;;
tokio)
    taskset -c 0 "$bench" tokio-echo --listen "127.0.0.1:$port" >"$tmp/server.log" 2>&1 &
    ;;
esac
server_pid=$!
wait_accepting "$server" "$port" "$tmp/server.log"

# rss_kib: the server's VmRSS in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status"; }
# open_fds: how many descriptors the server holds (accepted sockets show here).
open_fds() { find "/proc/$server_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }

sleep 0.5
before=$(rss_kib)
fds_before=$(open_fds)

# Hold until the script has sampled; it then stops the client itself.
taskset -c 1 "$bench" idle --target "127.0.0.1:$port" --connections "$conns" \
    --hold 600 >"$tmp/idle.out" 2>"$tmp/idle.err" &
client_pid=$!
deadline=$((SECONDS + timeout))
until grep -q '^connected ' "$tmp/idle.out"; do
    kill -0 "$client_pid" 2>/dev/null || { cat "$tmp/idle.err" >&2; die "idle client exited early"; }
    [ "$SECONDS" -lt "$deadline" ] || die "idle client did not finish connecting within $timeout s"
    sleep 0.1
done
connected_line=$(grep '^connected ' "$tmp/idle.out")
connected=$(awk '{ print $2 }' <<<"$connected_line")

# A connection the kernel has completed may still wait in the accept queue:
# wait until the server holds a descriptor for each, or its count has stopped
# moving for IDLE_SETTLE seconds.
last=-1
still_since=$SECONDS
while :; do
    kill -0 "$server_pid" 2>/dev/null || die "server died while connections were opened"
    fds=$(open_fds)
    [ "$fds" -ge $((fds_before + connected)) ] && break
    if [ "$fds" -ne "$last" ]; then
        last=$fds
        still_since=$SECONDS
    elif [ $((SECONDS - still_since)) -ge "$settle" ]; then
        echo "idle-rss.sh: warning: the server holds only $((fds - fds_before)) new descriptors" \
            "for $connected connections" >&2
        break
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "server did not accept the connections within $timeout s"
    sleep 0.2
done
sleep 0.5 # let the server finish setting up the last sessions
after=$(rss_kib)
fds_after=$(open_fds)
err_lines=$(grep -c . "$tmp/idle.err" || true)

kill "$client_pid" 2>/dev/null || true
wait "$client_pid" 2>/dev/null || true
client_pid=

echo "server: $server$([ "$server" = ringport ] && echo " (backend $backend, $io_threads I/O thread(s))")"
echo "$connected_line"
echo "server open descriptors: $fds_before before, $fds_after with connections"
awk -v b="$before" -v a="$after" -v n="$connected" 'BEGIN {
    printf "VmRSS before: %.1f MiB, with connections: %.1f MiB\n", b / 1024, a / 1024
    printf "growth: %.1f MiB", (a - b) / 1024
    if (n > 0) printf " (%.2f KiB per connection)", (a - b) / n
    printf "\n"
}'
[ "$err_lines" -eq 0 ] || echo "idle-rss.sh: client stderr: $(cat "$tmp/idle.err")" >&2
[ "$connected" -gt 0 ] || die "no connection was opened"
