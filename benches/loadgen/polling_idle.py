"""Idle polling sessions: RSS per session of a bench server (Engine.IO handshake + Socket.IO CONNECT,
then no GET: the CONNECT answer waits in the session's queue). Usage: polling_idle.py PORT PID N"""
import http.client, sys, time

port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def rss_kib():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

time.sleep(1)
before = rss_kib()
conn = http.client.HTTPConnection("127.0.0.1", port)
started = time.time()
for _ in range(n):
    conn.request("GET", "/socket.io/?EIO=4&transport=polling")
    body = conn.getresponse().read().decode()
    sid = body[body.index('"sid":"') + 7:].split('"')[0]
    conn.request("POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}", body="40",
                 headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert conn.getresponse().read() == b"ok"
took = time.time() - started
time.sleep(2)
after = rss_kib()
print(f"{n} polling sessions in {took:.1f}s: RSS {before} -> {after} KiB, {(after - before) / n:.2f} KiB per session")
