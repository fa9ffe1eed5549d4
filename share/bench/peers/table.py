#!/usr/bin/python3
# table.py -- the table of share/bench/peers.sh: for each scenario and
# server, the median over the runs in DIR/runN/SERVER-S.json (the range
# in brackets when there are several), and gw's ratio to each peer.
#
#	table.py DIR SERVER...
import glob
import json
import os
import statistics
import sys

def p99(j):
    """The p99 latency, or None if nothing was measured."""
    return j["latency_ms"]["p99"] if j["latency_ms"]["count"] > 0 else None


# (scenario, label, function of one JSON, better: "high" or "low")
ROWS = [
    ("s1", "S1 idle: connections opened",
     lambda j: j["connections"]["opened"], "high"),
    ("s1", "S1 idle: server RSS bytes per connection",
     lambda j: j["server"]["rss_per_conn_bytes"], "low"),
    ("s1", "S1 idle: server CPU s over 10 s",
     lambda j: j["server"]["cpu_run_s"], "low"),
    ("s2big", "S2 10k fan-out: deliveries/s",
     lambda j: j["deliveries"]["per_s"], "high"),
    ("s2big", "S2 10k fan-out: all deliveries (warm-up too) per s of run",
     lambda j: (j["deliveries"]["received"] + j["deliveries"]["warmup"]) /
     j["server"]["run_s"], "high"),
    ("s2big", "S2 10k fan-out: lost of 5 000 000",
     lambda j: j["deliveries"]["lost"], "low"),
    ("s2big", "S2 10k fan-out: latency p99 ms",
     lambda j: p99(j), "low"),
    ("s2big", "S2 10k fan-out: server CPU us per delivery",
     lambda j: 1e6 * j["server"]["cpu_run_s"] /
     max(1, j["deliveries"]["received"] + j["deliveries"]["warmup"]), "low"),
    ("s3", "S3 10k channels: deliveries/s",
     lambda j: j["deliveries"]["per_s"], "high"),
    ("s3", "S3 10k channels: all deliveries (warm-up too) per s of run",
     lambda j: (j["deliveries"]["received"] + j["deliveries"]["warmup"]) /
     j["server"]["run_s"], "high"),
    ("s3", "S3 10k channels: lost of 30 000",
     lambda j: j["deliveries"]["lost"], "low"),
    ("s3", "S3 10k channels: latency p99 ms",
     lambda j: p99(j), "low"),
    ("s3", "S3 10k channels: server CPU us per message",
     lambda j: 1e6 * j["server"]["cpu_run_s"] /
     max(1, j["publish"]["messages"] + j["publish"]["warmup_messages"]),
     "low"),
]


def values(top, server, scen, fn):
    out = []
    for f in sorted(glob.glob(os.path.join(top, "run*",
                                           "%s-%s.json" % (server, scen)))):
        try:
            with open(f) as fh:
                out.append(float(fn(json.load(fh))))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return out


def num(x):
    return "%d" % round(x) if abs(x) >= 1000 else "%.3g" % x


def cell(v):
    if not v:
        return "-"
    s = num(statistics.median(v))
    if len(v) > 1:
        s += " (%s-%s)" % (num(min(v)), num(max(v)))
    return s


def main():
    top, servers = sys.argv[1], sys.argv[2:]
    peers = [s for s in servers if s != "gw"]
    head = ["scenario / figure"] + servers + ["gw/" + p for p in peers]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for scen, label, fn, better in ROWS:
        v = {s: values(top, s, scen, fn) for s in servers}
        if not any(v.values()):
            continue
        row = [label] + [cell(v[s]) for s in servers]
        for p in peers:
            g, o = v.get("gw"), v[p]
            if not g or not o:
                row.append("-")
                continue
            a, b = statistics.median(g), statistics.median(o)
            if (b if better == "high" else a) == 0:
                row.append("-")
                continue
            r = a / b if better == "high" else b / a
            row.append("%.3gx" % r)
        print("| " + " | ".join(row) + " |")
    print("(ratios: how many times better gw is; medians of %d run(s))" %
          len(glob.glob(os.path.join(top, "run*"))))


main()
