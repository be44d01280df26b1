#!/usr/bin/env bash
# Soak: many connections chatting at a moderate rate for a long time against
# `ringport serve`, sampling the server's RSS and open descriptors, then
# judging the run: zero missing deliveries, zero errors, descriptors never
# above the first sample, and RSS flat (the last sample within SOAK_RSS_SLACK_KIB
# or 10 % of the first, whichever is larger).
#
# Usage: bench/soak.sh            (defaults: 1000 rooms x 10 = 10,000 connections, 10 min)
#        SOAK_ROOMS=200 SOAK_SECS=60 bench/soak.sh   (the CI variant: 2,000 connections, 60 s)
#
# Environment:
#   SOAK_ROOMS        rooms [1000]; SOAK_MEMBERS members per room [10]
#   SOAK_RATE         chat messages per second, all members together [1000]
#   SOAK_SECS         measured seconds [600]; SOAK_SAMPLE seconds between samples [10]
#   SOAK_RSS_SLACK_KIB  allowed RSS growth [8192]
#   SOAK_LOGIN_WAIT   the server's --max-login-wait-ms, in seconds [connections / 20, at least 60]:
#                     all members log in at once, hashed at the default argon2 cost
#   SOAK_PROFILE      cargo profile of the binaries: release or debug [release]
#   SOAK_TLS          1: every connection inside TLS, on the server's --tls-listen
#                     listener (a certificate made with openssl in SOAK_OUT) [0]
#   SOAK_OUT          directory for the JSON report and the server log [a new temp dir]
#   RINGPORT_*        passed to the server like any setting, e.g.
#                     RINGPORT_ENGINE__IO_THREADS=1 (one I/O thread, the chat
#                     logic on it: chat.logic_thread auto), as .ci/run does
# Exit status: 0 when the run passes, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

rooms=${SOAK_ROOMS:-1000}
members=${SOAK_MEMBERS:-10}
rate=${SOAK_RATE:-1000}
secs=${SOAK_SECS:-600}
sample=${SOAK_SAMPLE:-10}
slack=${SOAK_RSS_SLACK_KIB:-8192}
profile=${SOAK_PROFILE:-release}
out=${SOAK_OUT:-$(mktemp -d /tmp/ringport-soak.XXXXXX)}
mkdir -p "$out"
conns=$((rooms * members))

flag=--release
[ "$profile" = debug ] && flag=
# shellcheck disable=SC2086
cargo build -q $flag -p ringport -p ringport-bench
ringport=target/$profile/ringport
bench=target/$profile/ringport-bench
raise_fd_limit $((conns + 1000)) # per process: the server and the generator each hold one fd per connection
warn_if_busy

trap stop_server EXIT
port=$(free_port 21900)
# The server's default argon2 cost, as in production, so the RSS measured
# includes what password hashing costs (one argon2 buffer per auth worker).
# Every member logs in at once, and the soak measures the chat after that,
# not the login burst: let the hashing queue hold them all, and raise the
# admission bound (accounts.max_login_wait_ms, default 5 s: beyond it a
# login is answered 34 at once) so the last of them waits as long as the
# queue takes to drain (default cost: ~25 ms a hash, 2 auth workers; the
# bound allows 20 logins/s). The login deadline needs no change: a session
# whose login is being checked is not closed by it.
login_wait=${SOAK_LOGIN_WAIT:-$((conns / 20 > 60 ? conns / 20 : 60))}
# SOAK_TLS=1: the same, every connection inside TLS (the handshakes are part
# of the logins, before the measured window).
listen=(--listen "127.0.0.1:$port")
gen_tls=()
if [ "${SOAK_TLS:-0}" = 1 ]; then
    make_tls_cert "$out/tls-cert.pem" "$out/tls-key.pem"
    listen=(--listen 127.0.0.1:0 --tls-listen "127.0.0.1:$port" --tls-cert "$out/tls-cert.pem" --tls-key "$out/tls-key.pem")
    gen_tls=(--tls --tls-ca "$out/tls-cert.pem")
fi
RINGPORT_ACCOUNTS__QUEUE=$((conns + 100)) "$ringport" serve "${listen[@]}" --rooms "$rooms" --room-max-users "$members" \
    --chat-rate 0 --max-sessions $((conns + 100)) --accounts memory --admin-listen none \
    --max-login-wait-ms $((login_wait * 1000)) >"$out/server.log" 2>&1 &
server_pid=$!
wait_accepting ringport "$port" "$out/server.log"

echo "soak.sh: $conns connections ($rooms rooms x $members)${gen_tls[*]:+ over TLS}, $rate msg/s, $secs s; output in $out" >&2
"$bench" soak --target "127.0.0.1:$port" ${gen_tls[@]+"${gen_tls[@]}"} --rooms "$rooms" --members "$members" --rate "$rate" \
    --duration "$secs" --sample-every "$sample" --server-pid "$server_pid" --json >"$out/soak.json"
j=$(cat "$out/soak.json")
stop_server

rss_first=$(field "$j" rss_first_kib)
rss_last=$(field "$j" rss_last_kib)
rss_max=$(field "$j" rss_max_kib)
fds_first=$(field "$j" fds_first)
fds_last=$(field "$j" fds_last)
fds_max=$(field "$j" fds_max)
allowed=$(awk -v f="$rss_first" -v s="$slack" 'BEGIN { t = f * 0.10; printf "%d", (t > s ? t : s) }')
flat=$(awk -v f="$rss_first" -v l="$rss_last" -v a="$allowed" 'BEGIN { print (l - f <= a) ? "yes" : "no" }')

echo "| connections | msg/s | seconds | delivered | missing | p99 ms | RSS first → last (max) MiB | fds first → last | flat | pass |"
echo "|---:|---:|---:|---:|---:|---:|---|---|---|---|"
echo "| $conns | $rate | $secs | $(field "$j" delivered) | $(field "$j" missing) | $(awk -v u="$(field "$j" p99_us)" 'BEGIN { printf "%.2f", u / 1000 }') | $(awk -v a="$rss_first" -v b="$rss_last" -v c="$rss_max" 'BEGIN { printf "%.1f → %.1f (%.1f)", a/1024, b/1024, c/1024 }') | $fds_first → $fds_last (max $fds_max) | $flat | $(field "$j" pass) |"
echo
echo "RSS curve (s: MiB): $(grep -o '{"secs":[^}]*}' <<<"$j" | sed -nE 's/.*"secs":([0-9.]+),"rss_kib":([0-9]+).*/\1 \2/p' |
    awk '{ printf "%s%.0f: %.1f", (NR > 1 ? ", " : ""), $1, $2 / 1024 }')"
echo "fd curve (s: fds): $(grep -o '{"secs":[^}]*}' <<<"$j" | sed -nE 's/.*"secs":([0-9.]+),.*"fds":([0-9]+).*/\1 \2/p' |
    awk '{ printf "%s%.0f: %d", (NR > 1 ? ", " : ""), $1, $2 }')"

[ "$(field "$j" pass)" = true ] || die "FAIL: deliveries missing or errors (see $out/soak.json)"
[ "$flat" = yes ] || die "FAIL: RSS grew from $rss_first to $rss_last KiB (allowed +$allowed)"
# The last sample may fall in the teardown (fewer fds); a leak shows as a
# sample above the first.
[ "$fds_max" = "$fds_first" ] || die "FAIL: open descriptors rose from $fds_first to $fds_max"
echo "soak.sh: PASS" >&2
