#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# dashboard.py -- times the dashboard's list, search and chart queries over many orders
# (docs/dashboard.md "Numbers"). A benchmark, not a test: it asserts nothing, it reports.
#
# Makes a fresh database with `orderd org create`, fills the orders table directly
# (N orders, default 100 000, created over the last 7 days, five dialects, three
# currencies, four statuses, ~700-byte bodies), starts `orderd serve` on it, signs in to
# the dashboard and times each call over HTTP (median and p95 of R runs) next to the
# server's own query time (took_ms).
#
# usage: bench/dashboard.py [BINARY] ; env N (100000), R (20), PORT (default: a free one)
import http.client
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

BIN = sys.argv[1] if len(sys.argv) > 1 else "build/orderd"
N = int(os.environ.get("N", "100000"))
R = int(os.environ.get("R", "20"))
PORT = int(os.environ.get("PORT", "0"))
DIALECTS = [("v1", 0.55), ("kohort", 0.15), ("threekit", 0.15), ("cherry", 0.10), ("dropday", 0.05)]
CURRENCIES = [("EUR", 0.7), ("USD", 0.2), ("GBP", 0.1)]
STATUSES = [("pending", 0.3), ("confirmed", 0.4), ("fulfilled", 0.2), ("canceled", 0.1)]
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def pick(rng, choices):
    x, acc = rng.random(), 0.0
    for v, w in choices:
        acc += w
        if x < acc:
            return v
    return choices[-1][0]


def uuid7(ms, rng):
    b = bytearray(ms.to_bytes(6, "big") + rng.randbytes(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(b)))


def fill(db, org_id, now):
    rng = random.Random(42)
    con = sqlite3.connect(db)
    rows = []
    week = 7 * 24 * 3600 * 1000
    for i in range(N):
        created = now - int(rng.random() ** 1.3 * week)
        dialect, cur, status = pick(rng, DIALECTS), pick(rng, CURRENCIES), pick(rng, STATUSES)
        oid = uuid7(created, rng)
        short = "".join(rng.choice(CROCKFORD) for _ in range(10))
        email = "buyer%d@example.com" % rng.randrange(N // 3)
        ext = "EXT-%07d" % i
        total = rng.randrange(500, 50000)
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created / 1000)) + ".000Z"
        body = json.dumps({
            "id": oid, "object": "order", "short_id": short, "external_id": ext, "status": status,
            "livemode": False, "dialect": dialect, "currency": cur, "customer": {"email": email,
            "first_name": "Ada", "last_name": "Lovelace"}, "line_items": [{"name": "Widget",
            "quantity": 2, "unit_price": total // 2, "amount": total // 2 * 2}],
            "subtotal_amount": total, "total_amount": total, "metadata": {"cart": "c-%d" % i},
            "version": 1, "created_at": ts, "updated_at": ts}, separators=(",", ":"))
        rows.append((org_id, "test", oid, short, dialect, ext, status, cur, total, email, 1,
                     created, created, body))
    con.executemany("INSERT INTO orders (org_id, mode, id, short_id, dialect, external_id, "
                    "status, currency, total_amount, customer_email, version, created_ms, "
                    "updated_ms, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.commit()
    con.close()


def call(method, path, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def main():
    global PORT
    if PORT == 0:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            PORT = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="orderd-dash-bench-")
    db = os.path.join(tmp, "orderd.db")
    org = json.loads(subprocess.run([BIN, "org", "create", "--name", "Bench", "--db", "sqlite:" + db],
                                    capture_output=True, check=True, text=True).stdout)
    now = int(time.time() * 1000)
    t0 = time.monotonic()
    fill(db, org["id"], now)
    print("filled %d orders in %.1f s; database %.0f MB" % (N, time.monotonic() - t0,
                                                           os.path.getsize(db) / 1e6))
    env = dict(os.environ, ORDERD_ACCESS_LOG="0")
    srv = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:%d" % PORT, "--db", "sqlite:" + db],
                           env=env, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                if srv.poll() is None and call("GET", "/healthz")[0].status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        if srv.poll() is not None:
            raise SystemExit("orderd did not start")
        r, data = call("POST", "/dashboard/api/session",
                       {"X-Orderd-Dashboard": "1", "Content-Type": "application/json"},
                       json.dumps({"key": org["keys"]["test"]["secret"]}))
        if r.status != 201:
            raise SystemExit("sign-in: %d %s" % (r.status, data[:300]))
        cookie = r.getheader("Set-Cookie").split(";")[0]
        h = {"Cookie": cookie}
        first = json.loads(call("GET", "/dashboard/api/orders?limit=25", h)[1])
        mid = json.loads(call("GET", "/dashboard/api/orders?limit=100", h)[1])["data"][-1]["id"]
        day = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(now / 1000 - 3 * 86400))
        day_end = time.strftime("%Y-%m-%dT23:59:59Z", time.gmtime(now / 1000 - 3 * 86400))
        cases = [
            ("orders, first page (25)", "/dashboard/api/orders?limit=25"),
            ("orders, next page (cursor)", "/dashboard/api/orders?limit=25&starting_after=" + mid),
            ("orders, status=confirmed", "/dashboard/api/orders?limit=25&status=confirmed"),
            ("orders, dialect=dropday (5%)", "/dashboard/api/orders?limit=25&dialect=dropday"),
            ("orders, one day 3 days ago", "/dashboard/api/orders?limit=25&created_gte=%s&created_lte=%s" % (day, day_end)),
            ("orders, status+dialect+day", "/dashboard/api/orders?limit=25&status=canceled&dialect=cherry&created_gte=%s&created_lte=%s" % (day, day_end)),
            ("search, external id", "/dashboard/api/orders?limit=25&q=EXT-0054321"),
            ("search, e-mail", "/dashboard/api/orders?limit=25&q=buyer1234%40example.com"),
            ("search, no match", "/dashboard/api/orders?limit=25&q=nobody%40example.com"),
            ("order detail", "/dashboard/api/orders/" + first["data"][0]["id"]),
            ("charts, 24 h by hour", "/dashboard/api/stats?range=24h&tz_offset=0"),
            ("charts, 7 days by day", "/dashboard/api/stats?range=7d&tz_offset=0"),
        ]
        print("| call | rows (or events) | HTTP median ms | HTTP p95 ms | query median ms |")
        print("|---|---:|---:|---:|---:|")
        for name, path in cases:
            wall, took, n = [], [], 0
            for _ in range(R):
                t = time.monotonic()
                r, data = call("GET", path, h)
                wall.append((time.monotonic() - t) * 1000)
                doc = json.loads(data)
                if r.status != 200:
                    raise SystemExit("%s: %d %s" % (path, r.status, data[:200]))
                took.append(doc.get("took_ms", float("nan")))
                n = len(doc.get("data", doc.get("rows", doc.get("events", []))))
            wall.sort()
            print("| %s | %d | %.2f | %.2f | %s |" % (name, n, statistics.median(wall),
                  wall[int(len(wall) * 0.95) - 1],
                  "%.2f" % statistics.median(took) if took[0] == took[0] else "-"))
    finally:
        srv.terminate()
        srv.wait(timeout=15)
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)


main()
