"""Used by benches/forward/run.sh. Polling round trips on an Agora session: local (all requests to its node) vs forwarded (all to
the other node). Prints median/p90 latency per request kind and server CPU per request."""
import http.client, json, os, sys, time

A, B, N, PIDS = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), [int(p) for p in sys.argv[4].split(",")]
TICK = os.sysconf("SC_CLK_TCK")

def cpu():
    total = 0
    for pid in PIDS:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK

def req(conn, method, path, body=None):
    start = time.perf_counter()
    conn.request(method, path, body=body, headers={"Content-Type": "text/plain;charset=UTF-8"})
    resp = conn.getresponse()
    data = resp.read()
    elapsed = time.perf_counter() - start
    if resp.status != 200:
        raise SystemExit(f"{method} {path}: {resp.status} {data!r}")
    return elapsed, data

def run(label, port, sid):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    path = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
    posts, gets = [], []
    for _ in range(50):  # warm-up
        req(conn, "POST", path, "40/nope,"); req(conn, "GET", path)
    before = cpu()
    for _ in range(N):
        t, _ = req(conn, "POST", path, "40/nope,")
        posts.append(t)
        t, body = req(conn, "GET", path)
        gets.append(t)
        while True:
            if b"2" in body.split(b"\x1e"):
                req(conn, "POST", path, "3")  # a heartbeat fell in: answer it, uncounted
            assert b"\x1e1" not in body and body != b"1", body
            if b"44/nope," in body:
                break
            _, body = req(conn, "GET", path)  # an app event came first: uncounted
    used = cpu() - before
    q = lambda xs, p: sorted(xs)[int(len(xs) * p)] * 1e6
    print(f"{label}: POST median {q(posts,.5):.0f} us p90 {q(posts,.9):.0f} us | "
          f"GET median {q(gets,.5):.0f} us p90 {q(gets,.9):.0f} us | "
          f"server CPU {used / (2 * N) * 1e6:.0f} us/request (both nodes)")

conn = http.client.HTTPConnection("127.0.0.1", A)
_, body = req(conn, "GET", "/socket.io/?EIO=4&transport=polling")
sid = json.loads(body[1:])["sid"]
main = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
req(conn, "POST", main, "40")  # join the main namespace, or the session is closed unjoined
_, body = req(conn, "GET", main)
assert body.startswith(b"40{"), body
for label, port in [("forwarded", B), ("local", A), ("forwarded", B), ("local", A)]:
    run(label, port, sid)
