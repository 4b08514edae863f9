#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""report-load.py - the "under load" part of one `make bench` run: its table,
the markdown version and the chart, as report.py does for the rest.

    report-load.py OUT_DIR     reads OUT_DIR/results.txt (bench/run.sh)

Reads the LOAD lines of bench/bench-load.c's sweep (one per transport and
point P x C) and the RESULT lines of its idle peers, lookups and the
10 000-job xpcd.  Every figure of a point is set against the raw epoll echo
server at the same point in the same run (ratio = figure / raw; for req/s
higher is better, for times and costs lower).  Prints the tables; writes
OUT_DIR/load.md (the same in markdown), OUT_DIR/load.dat and OUT_DIR/load.png
(gnuplot: requests/s and p99 against connections, one line per transport).
"""
import os
import subprocess
import sys

TRANSPORTS = ["xpc", "raw", "sdbus"]
ANATOMY = ["raw-ctl", "raw-mgr", "raw-mgr-et"]  # BENCH_LOAD_ANATOMY=1: table only, not the chart
LOOKUPS = ["lookup", "getnameowner"]
FIELDS = ["rps", "p50", "p99", "fmin", "fmax", "ccpu", "ccs", "scpu", "scs", "cuser", "suser"]


def load(path):
    """({(transport, P, C): {field: value}}, {(figure, series, x): (median, p99, unit)}, loadavg)"""
    pts, res, loadavg = {}, {}, None
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) in (13, 15) and w[0] == "LOAD":  # 13: before the user-space split
                pts[(w[1], int(w[2]), int(w[3]))] = dict(zip(FIELDS, map(float, w[4:])))
            elif len(w) == 7 and w[0] == "RESULT":
                res[(w[1], w[2], None if w[3] == "-" else int(w[3]))] = (float(w[4]), float(w[5]), w[6])
            elif len(w) == 4 and w[0] == "LOADAVG":
                loadavg = " ".join(w[1:])
    return pts, res, loadavg


def num(v):
    if v >= 1e4:
        return "%.0fk" % (v / 1e3)
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def with_user(cpu, user):
    return num(cpu) if user is None else "%s (%s)" % (num(cpu), num(user))


def point_rows(pts):
    head = ["point", "transport", "req/s", "p50 us", "p99 us", "fair min..max", "client CPU us/req (user)",
            "client cs/req", "service CPU us/req (user)", "service cs/req", "req/s vs raw", "p99 vs raw"]
    rows = []
    keys = sorted({(p, c) for (_, p, c) in pts}, key=lambda k: (k[0] * k[1], k[0]))
    for p, c in keys:
        raw = pts.get(("raw", p, c))
        for t in TRANSPORTS + ANATOMY + LOOKUPS:
            v = pts.get((t, p, c))
            if not v:
                continue
            r1 = "%.2f" % (v["rps"] / raw["rps"]) if raw and raw["rps"] else "-"
            r2 = "%.2f" % (v["p99"] / raw["p99"]) if raw and raw["p99"] else "-"
            rows.append(["%dx%d" % (p, c), t, num(v["rps"]), num(v["p50"]), num(v["p99"]),
                         "%.2f..%.2f" % (v["fmin"], v["fmax"]), with_user(v["ccpu"], v.get("cuser")), num(v["ccs"]),
                         with_user(v["scpu"], v.get("suser")), num(v["scs"]), r1, r2])
    return head, rows


def other_rows(res):
    head = ["figure", "value", "also"]
    rows = []
    for (fig, s, x), (m, p, u) in sorted(res.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0)):
        if fig == "peer-rss":
            rows.append(["%d idle peers: service RSS per peer" % x, "%s KiB" % num(m), "total %s KiB" % num(p)])
        elif fig == "peer-vm":
            rows.append(["%d idle peers: service virtual memory per peer" % x, "%s KiB" % num(m),
                         "total %s KiB" % num(p)])
        elif fig == "peer-setup":
            rows.append(["%d idle peers: set-up of the last %d (median)" % (x, min(x // 10, 100)), "%s us" % num(m),
                         "first %d: %s us (%.2fx)" % (min(x // 10, 100), num(p), m / p if p else 0)])
        elif fig == "lookup":
            rows.append(["lookup, %s (median)" % s, "%s us" % num(m), "p99 %s us" % num(p)])
        elif fig == "jobload":
            rows.append(["load time, %s" % s, "%s ms" % num(m), ""])
        elif fig == "rss" and ("jobload", s, None) in res:
            rows.append(["resident set, %s" % s, "%s KiB" % num(m), ""])
    return head, rows


def text(head, rows):
    w = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in [head] + rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def md(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def chart(pts, out):
    keys = sorted({(p, c) for (t, p, c) in pts if t in TRANSPORTS}, key=lambda k: (k[0] * k[1], k[0]))
    series = [t for t in TRANSPORTS if any((t, p, c) in pts for p, c in keys)]
    if not keys:
        return
    dat = os.path.join(out, "load.dat")
    with open(dat, "w") as f:
        f.write("# index point " + " ".join("%s-rps %s-p99" % (t, t) for t in series) + "\n")
        for i, (p, c) in enumerate(keys):
            vals = []
            for t in series:
                v = pts.get((t, p, c))
                vals += ["%g" % v["rps"], "%g" % v["p99"]] if v else ["NaN", "NaN"]
            f.write("%d %dx%d %s\n" % (i, p, c, " ".join(vals)))
    tics = "set xtics (" + ", ".join("'%dx%d' %d" % (p, c, i) for i, (p, c) in enumerate(keys)) + ")"

    def plot(col, title):
        return "plot " + ", ".join("'%s' using 1:%d with linespoints title '%s'" % (dat, 3 + 2 * i + col, t)
                                   for i, t in enumerate(series))
    script = "\n".join([
        "set terminal pngcairo size 900,700 font 'sans,10'",
        "set output '%s'" % os.path.join(out, "load.png"),
        "set multiplot layout 2,1 title 'Synchronous 64-byte round trips, P processes x C connections, one service'",
        "set grid", "set key top left", tics, "set xlabel 'processes x connections each'",
        "set ylabel 'requests/s (all clients)'", "set yrange [0:*]", plot(0, "req/s"),
        "set ylabel 'p99 round trip (us)'", "set logscale y", "set yrange [*:*]", plot(1, "p99"),
        "unset multiplot", ""])
    try:
        subprocess.run(["gnuplot"], input=script.encode(), check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("report-load: no chart: %s" % e, file=sys.stderr)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    pts, res, loadavg = load(os.path.join(out, "results.txt"))
    if not pts:
        print("report-load: no LOAD lines in %s/results.txt" % out, file=sys.stderr)
        return
    h1, r1 = point_rows(pts)
    h2, r2 = other_rows(res)
    note = "load average at the start of the load part: %s" % (loadavg or "unknown")
    print("\n" + text(h1, r1) + "\n\n" + text(h2, r2) + "\n\n" + note)
    with open(os.path.join(out, "load.md"), "w") as f:
        f.write(md(h1, r1) + "\n\n" + md(h2, r2) + "\n\n" + note + "\n")
    chart(pts, out)
    print("\nwritten: %s/load.md, %s/load.png" % (out, out))


if __name__ == "__main__":
    main()
