#!/usr/bin/env python3
"""Simultaneous first logins (issue 18): connects N clients, sends every
LOGIN_REQ back to back (a fresh id each), and waits for each answer.
Prints the split of result codes, the sessions closed or left without an
answer, the time until the last answer, and the server's peak RSS.

    bench/login_burst.py HOST PORT N ID_PREFIX [SERVER_PID]
"""
import socket, struct, sys, time, selectors, resource, re
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
host, port, n, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
pid = int(sys.argv[5]) if len(sys.argv) > 5 else None
def login(uid):
    u = uid.encode().ljust(33, b'\0'); p = b'pw'.ljust(33, b'\0')
    body = u + p
    return struct.pack('<HHB', 5 + len(body), 201, 0) + body
socks = []
for i in range(n):
    s = socket.create_connection((host, port)); s.setblocking(False); socks.append(s)
t0 = time.monotonic()
for i, s in enumerate(socks):
    s.send(login(f"{tag}{i}"))
sel = selectors.DefaultSelector()
bufs = {}
for i, s in enumerate(socks):
    sel.register(s, selectors.EVENT_READ, i); bufs[i] = b''
codes = {}; closed = 0; last = 0; rss = 0
pending = n
while pending and time.monotonic() - t0 < 60:
    for key, _ in sel.select(timeout=0.2):
        i = key.data; s = key.fileobj
        try: d = s.recv(4096)
        except BlockingIOError: continue
        if not d:
            closed += 1; pending -= 1; sel.unregister(s); continue
        bufs[i] += d
        if len(bufs[i]) >= 7:
            ln, pid_, _ = struct.unpack('<HHB', bufs[i][:5])
            code = struct.unpack('<h', bufs[i][5:7])[0]
            codes[code] = codes.get(code, 0) + 1
            pending -= 1; sel.unregister(s); last = time.monotonic() - t0
    if pid:
        m = re.search(r'VmRSS:\s+(\d+)', open(f'/proc/{pid}/status').read()); rss = max(rss, int(m.group(1)))
ok = codes.get(0, 0)
print(f"n={n} answered={sum(codes.values())} codes={dict(sorted(codes.items()))} closed_unanswered={closed} silent={pending} last_answer_s={last:.2f} peak_rss_mib={rss/1024:.1f}")
