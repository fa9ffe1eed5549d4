#!/usr/bin/python3
"""apicheck.py -- scenarios for gw-listen's HTTP API and /metrics
(tests/bats/6200-api.bats, PROTOCOL.md section 6).

    /usr/bin/python3 tests/helpers/apicheck.py SCENARIO --ports A,B
        --key KEY [--key2 KEY]

The nodes are started by bats, node A's gw-listen with --api-key-file
holding KEY and KEY2 (node B has no key file).  Backends talk HTTP with
urllib; clients are python3-websockets.  Exit 0 if the scenario passes,
else 1 with what was expected and what came.  Every wait is bounded.
"""

import argparse
import asyncio
import concurrent.futures
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bridgecheck import PEERS, Peer, close_all, log, want  # noqa: E402
from wsraw import Fail  # noqa: E402

import websockets  # noqa: E402

TIMEOUT = 10


def http(port, method, path, body=None, key=None, raw=None, headers=None):
    """(status, decoded JSON or text) of one request."""
    data = raw if raw is not None else (
        json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=data, method=method)
    if key is not None:
        req.add_header("Authorization", "apikey " + key)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            status, text, ctype = r.status, r.read(), \
                r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, text, ctype = e.code, e.read(), \
            e.headers.get("Content-Type", "")
    if ctype.startswith("application/json"):
        return status, json.loads(text)
    return status, text.decode()


async def peer(port, user):
    uri = "ws://127.0.0.1:%d/ws?user=%s" % (port, user)
    ws = await websockets.connect(uri, ping_interval=None,
                                  open_timeout=TIMEOUT, close_timeout=3)
    w = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    p = Peer("%s@%d" % (user, port), ws, w)
    PEERS.append(p)
    return p


def call(a, method, path, body=None, key=True, want_status=200, **kw):
    st, r = http(a.ports[0], method, path, body, a.key if key else None,
                 **kw)
    want(st == want_status, "%s %s %r: status %d %r, want %d", method, path,
         body, st, r, want_status)
    return r


async def routes(a):
    """Every route does what PROTOCOL.md section 6 says, seen by
    WebSocket clients on the other node."""
    pa, pb = a.ports
    sub = await peer(pb, "bob")
    await sub.subscribe("news")
    await sub.subscribe("user:bob")
    pres = await peer(pa, "carol")
    await pres.subscribe("news", presence=True)
    # publish: the offset answered is the message's; from is null.
    r = await asyncio.to_thread(call, a, "POST", "/api/publish",
                                {"channel": "news", "data": {"t": 1}})
    off = r.get("offset")
    await sub.until(lambda: len(sub.messages("news")) == 1, "the publish")
    m = sub.messages("news")[0]
    want(m["offset"] == off and m["from"] is None and m["data"] == {"t": 1},
         "message %r, want offset %r, from null, data {t:1}", m, off)
    # send: to user:bob.
    r = await asyncio.to_thread(call, a, "POST", "/api/send",
                                {"user": "bob", "data": "hi"})
    await sub.until(lambda: len(sub.messages("user:bob")) == 1, "the send")
    want(sub.messages("user:bob")[0]["offset"] == r["offset"],
         "send offset %r vs %r", r, sub.messages("user:bob"))
    # batch: one offset per item, in order.
    items = [{"channel": "news", "data": i} for i in range(3)] + \
        [{"channel": "user:bob", "data": "x"}]
    r = await asyncio.to_thread(call, a, "POST", "/api/batch", items)
    want(isinstance(r, list) and len(r) == 4 and
         all("offset" in x for x in r), "batch answer %r", r)
    await sub.until(lambda: len(sub.messages("news")) == 4, "the batch")
    want([m["offset"] for m in sub.messages("news")[1:]] ==
         [x["offset"] for x in r[:3]], "batch offsets %r vs messages %r",
         r, sub.messages("news"))
    # presence: carol, cluster-wide.
    r = await asyncio.to_thread(call, a, "GET", "/api/presence?channel=news")
    want(r.get("count") == 2 and
         sorted(u["userId"] for u in r["users"]) == ["bob", "carol"],
         "presence %r, want bob and carol", r)
    # history: everything published on news, in order.
    r = await asyncio.to_thread(call, a, "GET",
                                "/api/history?channel=news&limit=10")
    want([m["offset"] for m in r["messages"]] ==
         [m["offset"] for m in sub.messages("news")] and
         r["complete"] is True, "history %r", r)
    r = await asyncio.to_thread(call, a, "GET",
                                "/api/history?channel=news&limit=2")
    want(len(r["messages"]) == 2 and r["complete"] is False,
         "history limit 2: %r", r)
    # channels: news has carol on node A and bob on node B.
    r = await asyncio.to_thread(call, a, "GET", "/api/channels?pattern=n*")
    want(r == [{"channel": "news", "subscribers": 2}], "channels %r", r)
    # Unknown channels: empty answers, not errors.
    r = await asyncio.to_thread(call, a, "GET",
                                "/api/history?channel=never")
    want(r == {"messages": [], "complete": True}, "history of nothing %r", r)
    r = await asyncio.to_thread(call, a, "GET",
                                "/api/presence?channel=never")
    want(r.get("count") == 0 and r.get("users") == [],
         "presence of nothing %r", r)
    r = await asyncio.to_thread(call, a, "GET", "/api/channels?pattern=zz*")
    want(r == [], "channels zz* %r", r)
    # disconnect: carol is on node A: closed with 1008 "kicked".
    r = await asyncio.to_thread(call, a, "POST", "/api/disconnect",
                                {"user": "carol"})
    want(r == {"closed": 1, "nodes": 2, "unanswered": 0}, "disconnect %r", r)
    await pres.until(lambda: pres.closed is not None, "the kick")
    want(pres.ws.close_code == 1008 and pres.ws.close_reason == "kicked",
         "carol closed %r %r", pres.ws.close_code, pres.ws.close_reason)
    # The second key works too (rotation).
    st, r = http(pa, "GET", "/api/channels", key=a.key2)
    want(st == 200, "second key: %d %r", st, r)
    log("routes: publish, send, batch, presence, history, channels, "
        "disconnect")


async def errors(a):
    """Bad keys, bad JSON, bad channels, wrong methods, big bodies."""
    pa, pb = a.ports
    for key in (None, "wrong-key-0123456789"):
        st, r = http(pa, "POST", "/api/publish", {"channel": "c",
                                                  "data": 1}, key)
        want(st == 401 and r["error"]["code"] == "unauthorized",
             "key %r: %d %r, want 401", key, st, r)
    cases = [
        ("POST", "/api/publish", None, b"not json", 400),
        ("POST", "/api/publish", {"channel": "bad chan", "data": 1}, None,
         400),
        ("POST", "/api/publish", {"channel": "c"}, None, 400),
        ("POST", "/api/send", {"data": 1}, None, 400),
        ("POST", "/api/send", {"user": "", "data": 1}, None, 400),
        ("POST", "/api/batch", [], None, 400),
        ("POST", "/api/batch", [{"channel": "c"}], None, 400),
        ("POST", "/api/disconnect", {}, None, 400),
        ("GET", "/api/publish", None, None, 405),
        ("POST", "/api/history?channel=c", {}, None, 405),
        ("GET", "/api/history", None, None, 400),
        ("GET", "/api/history?channel=c&limit=0", None, None, 400),
        ("GET", "/api/history?channel=c&since=", None, None, 400),
        ("GET", "/api/history?channel=c&channel=d", None, None, 400),
        ("GET", "/api/history?channel=c&limit=%zz", None, None, 400),
        ("GET", "/api/channels?pattern=%zz", None, None, 400),
        ("GET", "/api/channels?pattern=a&pattern=b", None, None, 400),
        ("GET", "/api/nope", None, None, 404),
        ("POST", "/api/publish", None, b"x" * (1024 * 1024 + 1), 413),
    ]
    # An integer beyond 64 bits: refused, and said why (gw-protocol(7),
    # DIFFERENCES), by the API and over WebSocket alike.
    st, r = http(pa, "POST", "/api/publish", None, a.key,
                 raw=b'{"channel":"c","data":18446744073709551616}')
    want(st == 400 and "too big integer" in r["error"]["message"],
         "a 65-bit integer: %d %r, want 400 saying too big", st, r)
    big = await peer(pa, "bigint")
    await big.subscribe("c")
    await big.ws.send('{"type":"publish","id":"bi","channel":"c",'
                      '"data":18446744073709551616}')
    await big.until(lambda: any(f.get("type") == "error"
                                for f in big.frames), "the error")
    e = [f for f in big.frames if f.get("type") == "error"][0]
    want(e["code"] == "bad_request" and "too big integer" in e["message"],
         "WebSocket publish of a 65-bit integer: %r", e)
    # A channel name that breaks the rules says so.
    for method, path, body in [
            ("POST", "/api/publish", {"channel": "bad chan", "data": 1}),
            ("POST", "/api/publish", {"channel": "c" * 201, "data": 1}),
            ("POST", "/api/batch", [{"channel": "ok", "data": 1},
                                    {"channel": "no*", "data": 1}]),
            ("GET", "/api/history?channel=a%20b", None),
            ("GET", "/api/presence?channel=" + "c" * 201, None)]:
        st, r = http(pa, method, path, body, a.key)
        want(st == 400 and r["error"]["code"] == "bad_channel" and
             "200 bytes" in r["error"]["message"],
             "%s %s: %d %r, want 400 bad_channel", method, path, st, r)
    for method, path, body, raw, status in cases:
        st, r = http(pa, method, path, body, a.key, raw=raw)
        want(st == status and isinstance(r, dict) and "error" in r and
             set(r["error"]) == {"code", "message"},
             "%s %s %r: %d %r, want %d with a JSON error", method, path,
             body if raw is None else raw[:20], st, r, status)
    # Node B has no key file: the API is not there.
    st, r = http(pb, "POST", "/api/publish", {"channel": "c", "data": 1},
                 a.key)
    want(st == 404, "API without keys: %d %r, want 404", st, r)
    # The node still serves WebSockets after all that.
    p = await peer(pa, "after")
    await p.subscribe("c")
    log("errors: 401, 400, 405, 404, 413, each a JSON error")


async def metrics(a):
    """GET /metrics from loopback: Prometheus text with the counters."""
    pa, _ = a.ports
    p = await peer(pa, "m")
    await p.subscribe("mc")
    await p.req({"type": "publish", "id": 1, "channel": "mc", "data": 1},
                "published")
    st, text = http(pa, "GET", "/metrics")
    want(st == 200, "/metrics: %d", st)
    vals = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        name, _, v = line.rpartition(" ")
        vals[name.split("{")[0]] = int(v)
    for k in ("gw_listen_connections", "gw_listen_subscriptions",
              "gw_listen_published", "gw_listen_deliveries",
              "gw_listen_bytes_out", "gw_listen_closes_1013"):
        want(k in vals, "/metrics has no %s: %s", k, text[:400])
    want(vals["gw_listen_subscriptions"] >= 1 and
         vals["gw_listen_published"] >= 1,
         "counters do not count: %r", vals)
    want("# TYPE gw_listen_connections gauge" in text and
         "# TYPE gw_listen_io_uring gauge" in text and
         "# TYPE gw_listen_loop_max_ms gauge" in text and
         "# TYPE gw_listen_published counter" in text,
         "TYPE lines: %s", text[:200])
    st, _ = http(pa, "POST", "/metrics", raw=b"x")
    want(st == 405, "POST /metrics: %d", st)
    log("metrics: %d series" % len(vals))


async def bigbatch(a):
    """A batch of 1000 items on two channels and a third whose history
    key bats made a string (so Redis fails those publishes), and one item
    over max_message: every item answered in its place (an offset, or an
    error object for the broken channel's and too_large for the big one,
    the items after it published all the same), the offsets those of the messages the subscriber got, in
    order, and every data value as sent: numbers, objects, strings with
    escapes and non-ASCII, one of 10 000 characters."""
    pa, pb = a.ports
    sub = await peer(pb, "bb")
    await sub.subscribe("b0")
    await sub.subscribe("b1")
    items = []
    for i in range(1000):
        ch = "broken" if i % 100 == 7 else "b%d" % (i % 2)
        d = [i, {"i": i, "s": "caf\u00e9 \"q\" \\ \n\u2603"},
             [i, None, True, 1.5, "\u00ff"]][i % 3]
        if i % 100 == 2:
            d = "%d" % i + "x" * 10000
        if i == 555:
            d = "y" * 70000     # over max_message: too_large, in place
        items.append({"channel": ch, "data": d})
    r = await asyncio.to_thread(call, a, "POST", "/api/batch", items)
    want(isinstance(r, list) and len(r) == 1000, "batch answer of %d",
         len(r) if isinstance(r, list) else -1)
    for i, (it, x) in enumerate(zip(items, r)):
        if i == 555:
            want(set(x) == {"error"} and x["error"]["code"] == "too_large",
                 "item 555 (70 000 bytes): %r, want too_large", x)
        elif it["channel"] == "broken":
            want(set(x) == {"error"} and
                 set(x["error"]) == {"code", "message"},
                 "item %d (broken channel): %r, want an error", i, x)
        else:
            want(set(x) == {"offset"}, "item %d: %r, want an offset", i, x)
    for ch in ("b0", "b1"):
        mine = [(it, x) for it, x in zip(items, r)
                if it["channel"] == ch and "offset" in x]
        await sub.until(lambda: len(sub.messages(ch)) == len(mine),
                        "%d messages on %s" % (len(mine), ch))
        got = sub.messages(ch)
        want([m["offset"] for m in got] == [x["offset"] for _, x in mine],
             "%s: the offsets of the messages are not the answers'", ch)
        bad = [k for k, (m, (it, _)) in enumerate(zip(got, mine))
               if m["data"] != it["data"]]
        want(not bad, "%s: data changed in messages %r", ch, bad[:5])
    log("bigbatch: 1000 items, 979 offsets in order, 11 errors in place")


async def nodewide(a):
    """/api/channels, /metrics and /api/disconnect are about the whole
    node (the cluster, for a disconnect), not the worker that took the
    request: here the ports are two workers of
    one node (on a port each, so that the test knows which holds what),
    the API asked on the first.  40 connections of one user, half on
    each, are all counted on their channel and all closed with 1008
    "kicked" by one disconnect; then one on the second worker by its
    connection id.  user and conn together are a 400."""
    pa, pb = a.ports
    victims = [await peer(pa if k % 2 else pb, "victim") for k in range(40)]
    for v in victims:
        await v.subscribe("vch")
    other = await peer(pb, "other")
    await other.subscribe("vch")
    for _ in range(5):      # answered from every worker, five times
        r = await asyncio.to_thread(call, a, "GET",
                                    "/api/channels?pattern=v*")
        want(r == [{"channel": "vch", "subscribers": 41}],
             "channels %r, want vch with 41", r)
    # /metrics: every worker's series, whichever worker answers.
    for port in (pa, pb):
        st, text = http(port, "GET", "/metrics")
        conns = [ln for ln in text.splitlines()
                 if ln.startswith("gw_listen_connections{")]
        pids = {ln.split('pid="')[1].split('"')[0] for ln in conns}
        want(st == 200 and len(conns) == 2 and len(pids) == 2 and
             sum(int(ln.rsplit(" ", 1)[1]) for ln in conns) >= 41 and
             text.count("# TYPE gw_listen_connections gauge") == 1,
             "/metrics on %d: %d %r", port, st, conns)
    r = await asyncio.to_thread(call, a, "POST", "/api/disconnect",
                                {"user": "victim"})
    want(r == {"closed": 40, "nodes": 3, "unanswered": 0},
         "disconnect %r, want 40 closed on 3 nodes", r)
    for v in victims:
        await v.until(lambda: v.closed is not None, "the kick")
        want(v.ws.close_code == 1008 and v.ws.close_reason == "kicked",
             "victim closed %r %r", v.ws.close_code, v.ws.close_reason)
    r = await asyncio.to_thread(call, a, "POST", "/api/disconnect",
                                {"conn": other.welcome["connId"]})
    want(r["closed"] == 1, "disconnect by conn %r", r)
    await other.until(lambda: other.closed is not None, "the kick by id")
    r = await asyncio.to_thread(call, a, "GET", "/api/channels")
    want(r == [], "channels after %r", r)
    st, r = http(pa, "POST", "/api/disconnect", {"user": "u", "conn": "1"},
                 a.key)
    want(st == 400 and r["error"]["code"] == "bad_request",
         "user and conn: %d %r, want 400", st, r)
    for body in ({"user": ""}, {"user": "u" * 129}, {"conn": ""},
                 {"conn": "c" * 5000}):
        st, r = http(pa, "POST", "/api/disconnect", body, a.key)
        want(st == 400 and r["error"]["code"] == "bad_request" and
             "1 to 128 bytes" in r["error"]["message"],
             "disconnect %.40r: %d %r, want 400", body, st, r)
    log("nodewide: 41 subscribers counted, 40 + 1 closed, over 2 workers")


async def nodestuck(a):
    """A worker that does not answer is not waited for past 2 s: with
    the second worker stopped (SIGSTOP), /api/channels on the first
    answers with the first's channels only, and gw-bridge logs it (bats
    checks the log); 70 at once: 64 wait so, 6 get 503.  Then, the second stopped again and killed while a
    question is on its way, or before: answered without it, and without
    waiting."""
    import signal
    import time
    pa, pb = a.ports
    pid_b = a.pids[1]
    mine = await peer(pa, "ga")
    await mine.subscribe("gch-a")
    theirs = await peer(pb, "gb")
    await theirs.subscribe("gch-b")
    r = await asyncio.to_thread(call, a, "GET", "/api/channels?pattern=gch*")
    want(r == [{"channel": "gch-a", "subscribers": 1},
               {"channel": "gch-b", "subscribers": 1}], "both: %r", r)
    os.kill(pid_b, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        r = await asyncio.to_thread(call, a, "GET",
                                    "/api/channels?pattern=gch*")
        took = time.monotonic() - t0
        want(r == [{"channel": "gch-a", "subscribers": 1}],
             "with the second stopped: %r", r)
        want(took >= 1.9, "answered after %.2f s, before the 2 s wait", took)
        # Meanwhile at most 64 such requests wait in the bridge; more
        # are answered 503 at once.
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(max_workers=70) as ex:
            many = await asyncio.gather(*[loop.run_in_executor(
                ex, http, pa, "GET", "/api/channels?pattern=gch*", None,
                a.key) for _ in range(70)])
        ok = [r for st, r in many if st == 200]
        busy = [r for st, r in many if st == 503]
        want(len(ok) == 64 and len(busy) == 6 and
             all(r == [{"channel": "gch-a", "subscribers": 1}] for r in ok)
             and all(r["error"]["code"] == "unavailable" and "too many" in
                     r["error"]["message"] for r in busy),
             "70 at once: %d answered, %d busy: %r", len(ok), len(busy),
             [st for st, _ in many])
        gone = asyncio.create_task(asyncio.to_thread(
            call, a, "GET", "/api/channels?pattern=gch*"))
        os.kill(pid_b, signal.SIGKILL)
        r = await gone
        want(r == [{"channel": "gch-a", "subscribers": 1}],
             "with the second killed: %r", r)
    finally:
        try:
            os.kill(pid_b, signal.SIGCONT)
        except ProcessLookupError:
            pass
    theirs.closed = theirs.closed or "killed"
    log("nodestuck: a stopped worker not waited for past 2 s, a killed "
        "one not at all")


async def fastpath(a):
    """Publish bodies in plain JSON (no \\u escape, short numbers) are
    published as written, only their whitespace taken out: 1.50 stays
    1.50, non-ASCII stays as sent.  Others go through jansson as before
    (its encoding: 1.50 becomes 1.5).  Bad JSON of either shape is 400,
    so is a key twice, deep nesting is published."""
    pa, pb = a.ports
    sub = await peer(pb, "fp")
    await sub.subscribe("f")
    plain = ('[ {"channel" : "f", "data" : {"n": 1.50, "s": "\u00e9 \u2603",'
             ' "l": [ 1 , -0.25, true, null ]} } ,\n'
             '  {"data": 0.1, "channel": "f", "x": [1, {"a": {}}]} ]')
    r = await asyncio.to_thread(call, a, "POST", "/api/batch",
                                raw=plain.encode())
    want(len(r) == 2 and all(set(x) == {"offset"} for x in r),
         "plain batch: %r", r)
    escaped = '{"channel": "f", "data": [1.50, "caf\\u00e9"]}'
    r2 = await asyncio.to_thread(call, a, "POST", "/api/publish",
                                 raw=escaped.encode())
    await sub.until(lambda: len(sub.messages("f")) == 3, "3 messages")
    texts = [t for t in sub.texts if '"type":"message"' in t]
    want('"data":{"n":1.50,"s":"\u00e9 \u2603","l":[1,-0.25,true,null]}'
         in texts[0], "plain item 1 not as written: %s", texts[0])
    want('"data":0.1,' in texts[1], "plain item 2: %s", texts[1])
    want('"data":[1.5,"caf\u00e9"]' in texts[2],
         "escaped body not jansson's encoding: %s", texts[2])
    want([m["offset"] for m in sub.messages("f")] ==
         [x["offset"] for x in r] + [r2["offset"]], "offsets %r %r", r, r2)
    for body in ('[{"channel":"f","data":01}]',
                 '[{"channel":"f","data":[1,]}]',
                 '[{"channel":"f","data":"a\x01"}]',
                 '[{"channel":"f","data":tru}]',
                 '{"channel":"f","data":1} x',
                 '[{"channel":"f","data":1},]',
                 '[{"channel":"bad chan","data":1}]',
                 '[{"channel":"f"}]'):
        st, rr = http(pa, "POST", "/api/batch" if body[0] == "[" else
                      "/api/publish", None, a.key, raw=body.encode())
        want(st == 400 and "error" in rr, "%r: %d %r, want 400", body, st,
             rr)
    st, rr = http(pa, "POST", "/api/batch", None, a.key,
                  raw=b'[{"channel":"f","data":"\xff\xfe"}]')
    want(st == 400, "invalid UTF-8: %d %r, want 400", st, rr)
    # A key twice: 400 (the WebSocket's bad_request), whether the fast
    # path sees it (an item's channel or data) or jansson does (any key
    # of an escaped body); nothing of such a body is published.
    for path, body in (("/api/publish", '{"channel":"f","data":1,"data":2}'),
                       ("/api/publish", '{"channel":"g","data":1,'
                                        '"channel":"f"}'),
                       ("/api/batch", '[{"channel":"f","data":3},'
                                      '{"channel":"f","data":4,"data":5}]'),
                       ("/api/publish", '{"channel":"f","data":'
                                        '{"k":"\\u00e9","k":2}}')):
        st, rr = http(pa, "POST", path, None, a.key, raw=body.encode())
        want(st == 400 and "duplicate" in rr.get("error", {}).get(
             "message", ""), "%s: %d %r, want 400 duplicate", body, st, rr)
    deep = "[" * 40 + "7" + "]" * 40
    await asyncio.to_thread(call, a, "POST", "/api/publish",
                            raw=('{"channel":"f","data":%s}' % deep).encode())
    await sub.until(lambda: len(sub.messages("f")) == 4, "4 messages")
    got = [m["data"] for m in sub.messages("f")[3:]]
    want(len(got) == 1 and json.dumps(got[0]) == deep.replace(" ", ""),
         "deep nesting (and nothing of the bodies with a key twice): %r",
         got)
    log("fastpath: as written, jansson's fallback, 400s, duplicates, depth")


def channels_hdrs(a, pattern):
    """GET /api/channels?pattern= on node A: (list, Gw-Nodes,
    Gw-Unanswered)."""
    req = urllib.request.Request(
        "http://127.0.0.1:%d/api/channels?pattern=%s" % (a.ports[0],
                                                          pattern))
    req.add_header("Authorization", "apikey " + a.key)
    with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
        return (json.loads(r.read()), r.headers.get("Gw-Nodes"),
                r.headers.get("Gw-Unanswered"))


async def cluster(a):
    """POST /api/disconnect closes the user's connections on every node
    (PROTOCOL.md section 6, gw-listen(8)), and GET /api/channels counts
    every node's subscribers (Gw-Nodes, Gw-Unanswered headers): a user on node A and twice on
    node B, asked of A: all three closed with 1008 "kicked", counted,
    another user's left open; a connection of B by its id, asked of A.
    Then node B's gw-bridge stopped (SIGSTOP): answered after the 2 s
    wait with A's part and one node unanswered, and B closes its part
    once its bridge runs again.  Then Redis stopped: 503, A's part done
    and said so."""
    import signal
    import time
    pa, pb = a.ports
    bridge_b, redis = a.pids
    mine = [await peer(pa, "dora"), await peer(pb, "dora"),
            await peer(pb, "dora")]
    other = await peer(pb, "ed")
    # /api/channels counts every node's subscribers too.
    for p, ch in ((mine[0], "cl:x"), (mine[0], "cl:y"), (mine[1], "cl:x"),
                  (other, "cl:x")):
        await p.subscribe(ch)
    r = await asyncio.to_thread(channels_hdrs, a, "cl:*")
    want(r == ([{"channel": "cl:x", "subscribers": 3},
                {"channel": "cl:y", "subscribers": 1}], "2", "0"),
         "channels on two nodes: %r", r)
    r = await asyncio.to_thread(call, a, "POST", "/api/disconnect",
                                {"user": "dora"})
    want(r == {"closed": 3, "nodes": 2, "unanswered": 0},
         "disconnect dora on two nodes: %r", r)
    for p in mine:
        await p.until(lambda: p.closed is not None, "the kick")
        want(p.ws.close_code == 1008 and p.ws.close_reason == "kicked",
             "%s closed %r %r", p.name, p.ws.close_code, p.ws.close_reason)
    want(other.closed is None, "ed was closed too: %r", other.closed)
    r = await asyncio.to_thread(call, a, "POST", "/api/disconnect",
                                {"conn": other.welcome["connId"]})
    want(r == {"closed": 1, "nodes": 2, "unanswered": 0},
         "disconnect B's connection by id on A: %r", r)
    await other.until(lambda: other.closed is not None, "the kick by id")

    here, there = await peer(pa, "finn"), await peer(pb, "finn")
    await here.subscribe("cl:z")
    await there.subscribe("cl:z")
    os.kill(bridge_b, signal.SIGSTOP)
    try:
        r = await asyncio.to_thread(channels_hdrs, a, "cl:*")
        want(r == ([{"channel": "cl:z", "subscribers": 1}], "1", "1"),
             "channels with B's bridge stopped: %r", r)
        t0 = time.monotonic()
        r = await asyncio.to_thread(call, a, "POST", "/api/disconnect",
                                    {"user": "finn"})
        took = time.monotonic() - t0
        want(r == {"closed": 1, "nodes": 1, "unanswered": 1},
             "with B's bridge stopped: %r", r)
        want(took >= 1.9, "answered after %.2f s, before the 2 s wait", took)
        await here.until(lambda: here.closed is not None, "A's kick")
        want(there.closed is None, "B closed finn with its bridge stopped")
    finally:
        os.kill(bridge_b, signal.SIGCONT)
    await there.until(lambda: there.closed is not None, "B's late kick")
    want(there.ws.close_code == 1008 and there.ws.close_reason == "kicked",
         "B's finn closed %r %r", there.ws.close_code, there.ws.close_reason)

    gus = await peer(pa, "gus")
    os.kill(redis, signal.SIGSTOP)
    try:
        st, r = await asyncio.to_thread(http, pa, "POST", "/api/disconnect",
                                        {"user": "gus"}, a.key)
        want(st == 503 and r["error"]["code"] == "unavailable" and
             "may not have been told; 1 closed on this node" in
             r["error"]["message"], "with Redis stopped: %d %r", st, r)
        await gus.until(lambda: gus.closed is not None, "A's kick")
    finally:
        os.kill(redis, signal.SIGCONT)
    log("cluster: a user's connections closed on both nodes; a stopped "
        "bridge not waited for past 2 s, its node closing later; Redis "
        "stopped: 503 with this node's part")


async def clusterbacklog(a):
    """Node B's gw-bridge stopped while 100 disconnects of 100 users of
    B are asked on A (each answered with B unanswered): once it runs
    again, B gets them all at once, more than the 64 it asks its workers
    at a time, and closes every one of the 100."""
    import signal
    pa, pb = a.ports
    bridge_b = a.pids[0]
    users = [await peer(pb, "bl%d" % k) for k in range(100)]
    os.kill(bridge_b, signal.SIGSTOP)
    try:
        loop = asyncio.get_running_loop()
        rs = []
        # Two waves of 50: A itself takes 64 such requests at a time.
        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as ex:
            for wave in range(2):
                rs += await asyncio.gather(*[loop.run_in_executor(
                    ex, http, pa, "POST", "/api/disconnect",
                    {"user": "bl%d" % k}, a.key)
                    for k in range(50 * wave, 50 * wave + 50)])
        want(all(st == 200 and r == {"closed": 0, "nodes": 1,
                                     "unanswered": 1} for st, r in rs),
             "100 disconnects with B's bridge stopped: %r",
             [r for st, r in rs if st != 200 or r.get("unanswered") != 1][:3])
    finally:
        os.kill(bridge_b, signal.SIGCONT)
    for u in users:
        await u.until(lambda: u.closed is not None, "the late kick",
                      timeout=20)
        want(u.ws.close_code == 1008 and u.ws.close_reason == "kicked",
             "%s closed %r %r", u.name, u.ws.close_code, u.ws.close_reason)
    log("clusterbacklog: 100 kicks held by a stopped bridge, all done "
        "once it ran again")


async def clusterbig(a):
    """An answer of 5 MB published on an asking bridge's channel (any
    Redis client may): past the 4 MiB kept for one request, it is
    ignored, and the request is answered (its node counted as not
    answering) instead of never.  Node B's bridge is stopped so that the
    question waits; redis-cli, subscribed to gw:cluster to read it, is
    one more subscriber that does not answer."""
    import signal
    import subprocess
    import threading
    import time
    pa, _ = a.ports
    bridge_b = a.pids[0]
    sub = subprocess.Popen(["stdbuf", "-oL", "redis-cli", "-s", a.redis,
                            "--no-raw", "SUBSCRIBE", "gw:cluster"],
                           stdout=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(sub.stdout),
                              daemon=True)
    reader.start()
    try:
        await asyncio.sleep(0.3)        # subscribed
        os.kill(bridge_b, signal.SIGSTOP)
        try:
            ask = asyncio.create_task(asyncio.to_thread(
                http, pa, "POST", "/api/disconnect", {"user": "nobody"},
                a.key))
            deadline = time.monotonic() + 5
            q = None
            while q is None and time.monotonic() < deadline:
                q = next((ln for ln in list(lines) if "\\n" in ln and
                          "kick" in ln), None)
                await asyncio.sleep(0.02)
            want(q is not None, "no question seen on gw:cluster: %r", lines)
            import re
            m = re.search(r'(gw:cluster:[^\\"]+)\\n(\d+)\\n', q)
            want(m is not None, "question %r", q)
            replych, gid = m.group(1), m.group(2)
            big = "%s 1\n5000000\n%s" % (gid, "x" * 5000000)
            subprocess.run(["redis-cli", "-s", a.redis, "-x", "PUBLISH",
                            replych], input=big, text=True, check=True,
                           stdout=subprocess.DEVNULL, timeout=10)
            st, r = await ask
        finally:
            os.kill(bridge_b, signal.SIGCONT)
        want(st == 200 and r == {"closed": 0, "nodes": 1, "unanswered": 2},
             "with a 5 MB answer: %d %r", st, r)
    finally:
        sub.kill()
        sub.wait()
    log("clusterbig: a 5 MB answer ignored, the request answered")


async def clusterslow(a):
    """A node (C: ports[1] and ports[2] are its two workers) with one
    worker stopped answers a cluster question with its other worker's
    part within the asker's 2 s: it waits 1.5 s for its own workers, not
    2, so the asker (node A, ports[0]) counts it."""
    import signal
    pa, pc0, _ = a.ports
    stuck = a.pids[0]
    here = await peer(pc0, "slow")
    os.kill(stuck, signal.SIGSTOP)
    try:
        st, r = await asyncio.to_thread(http, pa, "POST", "/api/disconnect",
                                        {"user": "slow"}, a.key)
    finally:
        os.kill(stuck, signal.SIGCONT)
    want(st == 200 and r == {"closed": 1, "nodes": 3, "unanswered": 0},
         "a node with a stopped worker: %d %r", st, r)
    await here.until(lambda: here.closed is not None, "the kick")
    log("clusterslow: a node with a stopped worker answered in time")


async def clusterdown(a):
    """Redis gone (bats killed it, and node A's bridge has seen it):
    /api/disconnect is 503 and closes nothing, not even on node A."""
    pa, _ = a.ports
    hal = await peer(pa, "hal")
    st, r = await asyncio.to_thread(http, pa, "POST", "/api/disconnect",
                                    {"user": "hal"}, a.key)
    want(st == 503 and r["error"]["code"] == "unavailable" and
         "no node was asked" in r["error"]["message"],
         "with Redis down: %d %r", st, r)
    want(hal.closed is None, "hal was closed: %r", hal.closed)
    log("clusterdown: 503, nothing closed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["routes", "errors", "metrics",
                                         "bigbatch", "fastpath",
                                         "nodewide", "nodestuck",
                                         "cluster", "clusterdown",
                                         "clusterbacklog", "clusterbig",
                                         "clusterslow"])
    ap.add_argument("--pids", default="",
                    help="the workers' pids, for nodestuck; node B's "
                    "bridge and Redis, for cluster")
    ap.add_argument("--ports", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--key2", required=True)
    ap.add_argument("--redis", help="the Redis socket, for clusterbig")
    a = ap.parse_args()
    a.ports = [int(p) for p in a.ports.split(",")]
    a.pids = [int(p) for p in a.pids.split(",") if p]
    fn = globals()[a.scenario]

    async def go():
        try:
            await fn(a)
        finally:
            await close_all()
    try:
        asyncio.run(go())
    except Fail as e:
        print("FAIL %s: %s" % (a.scenario, e), flush=True)
        sys.exit(1)
    print("ok %s" % a.scenario, flush=True)


if __name__ == "__main__":
    main()
