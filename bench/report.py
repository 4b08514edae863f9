#!/usr/bin/env python3
"""report.py - turns the RESULT lines of one `make bench` run into its one
table, the markdown version of it and the latency chart.

    report.py OUT_DIR      reads OUT_DIR/results.txt (bench/run.sh writes it)

Every figure is set against a baseline measured in the same run (the
BASELINE rules below): round trips against the raw socket ping-pong of the
same payload (SOCK_SEQPACKET up to 64 KiB, SOCK_STREAM above), one-way
throughput against a raw send loop, bulk against a SOCK_STREAM copy and a
memcpy, connection set-up against a raw connect plus one round trip, memory
against a raw idle client or a broker with one job.  Ratios are figure /
baseline: for times and memory lower is better, for rates (msgs/s, GB/s)
higher is better.  Prints the table and the issue 6 goals with their
verdicts on stdout; writes OUT_DIR/results.md (the same in markdown),
OUT_DIR/rtt.dat and OUT_DIR/rtt.png (gnuplot: median round-trip time
against payload size, log scales, one line per transport).
"""
import os
import subprocess
import sys

SEQPACKET_MAX = 65536
RTT_SERIES = ["xpc-endpoint", "xpc-named", "sdbus-p2p", "sdbus-daemon", "sdbus-broker"]
CHART_SERIES = ["raw-seqpacket", "raw-stream", "raw-memfd"] + RTT_SERIES
# (figure, series, baseline series); every row of the table after the rtt rows
OTHER_ROWS = [
    ("oneway", "xpc-endpoint", "raw-seqpacket"),
    ("bulk", "xpc-endpoint", "raw-stream"),
    ("bulk", "xpc-endpoint", "memcpy"),
    ("setup", "xpc-named", "raw-connect-interleaved"),
    ("setup", "xpc-endpoint", "raw-connect-interleaved"),
    ("setup", "sdbus-daemon", "raw-connect"),
    ("setup", "sdbus-broker", "raw-connect"),
    ("setup", "xpc-named", "sdbus-daemon"),
    ("rss", "xpc-client", "raw-client"),
    ("rss", "sdbus-daemon-client", "raw-client"),
    ("rss", "sdbus-broker-client", "raw-client"),
    ("rss", "xpcd-1000-jobs", "xpcd-1-job"),
    ("rss", "dbus-daemon", "xpcd-1-job"),
    ("rss", "dbus-broker", "xpcd-1-job"),
]
TITLES = {
    "rtt": "round trip",
    "oneway": "one-way small messages",
    "bulk": "64 MiB bulk",
    "setup": "connect + first reply",
    "rss": "resident set",
}


def load(path):
    """{(figure, series, x): (median, p99, unit)} from RESULT lines."""
    res = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) == 7 and w[0] == "RESULT":
                x = None if w[3] == "-" else int(w[3])
                res[(w[1], w[2], x)] = (float(w[4]), float(w[5]), w[6])
    return res


def size_name(n):
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            return "%d %s" % (n // div, unit)
    return "%d B" % n


def num(v):
    if v >= 1e6:
        return "%.3gM" % (v / 1e6)
    if v >= 1e4:
        return "%.0fk" % (v / 1e3)
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def raw_baseline(size):
    return "raw-seqpacket" if size <= SEQPACKET_MAX else "raw-stream"


def rows(res):
    """Table rows: (figure text, median, p99, baseline text, ratio, unit)."""
    out = []
    sizes = sorted({k[2] for k in res if k[0] == "rtt"})
    for size in sizes:
        base = res.get(("rtt", raw_baseline(size), size))
        for s in RTT_SERIES:
            v = res.get(("rtt", s, size))
            if v:
                out.append(row("%s %s, %s" % (TITLES["rtt"], size_name(size), s), v,
                               raw_baseline(size), base))
    for fig, s, b in OTHER_ROWS:
        v = res.get((fig, s, None))
        if v:
            out.append(row("%s, %s" % (TITLES[fig], s), v, b, res.get((fig, b, None))))
    return out


def row(name, v, bname, base):
    med, p99, unit = v
    if base and base[0] > 0:
        return (name, med, p99, "%s %s" % (bname, num(base[0])), med / base[0], unit)
    return (name, med, p99, bname + " (not measured)", None, unit)


def ratio(res, fig, s, b, x=None):
    v, w = res.get((fig, s, x)), res.get((fig, b, x))
    return v[0] / w[0] if v and w and w[0] > 0 else None


def goals(res):
    """(goal text, verdict, evidence) for issue 6's goals."""
    g = []
    r = ratio(res, "rtt", "xpc-endpoint", "raw-seqpacket", 64)
    s = ratio(res, "rtt", "xpc-endpoint", "sdbus-p2p", 64)
    g.append(("small-dictionary round trip <= 1.2x raw SEQPACKET", r is not None and r <= 1.2,
              "%.2fx" % r if r else "not measured"))
    g.append(("small-dictionary round trip faster than sd-bus peer to peer", s is not None and s < 1,
              "%.2fx sd-bus" % s if s else "not measured"))
    worst = None
    for size in sorted({k[2] for k in res if k[0] == "rtt" and k[2] and k[2] <= SEQPACKET_MAX}):
        q = ratio(res, "rtt", "xpc-endpoint", raw_baseline(size), size)
        if q is not None and (worst is None or q > worst[0]):
            worst = (q, size)
    g.append(("round trips up to 64 KiB <= 1.5x raw", worst is not None and worst[0] <= 1.5,
              "worst %.2fx at %s" % (worst[0], size_name(worst[1])) if worst else "not measured"))
    b = ratio(res, "bulk", "xpc-endpoint", "raw-stream")
    g.append(("64 MiB bulk >= 60% of the SOCK_STREAM copy", b is not None and b >= 0.6,
              "%.0f%%" % (b * 100) if b else "not measured"))
    o = ratio(res, "oneway", "xpc-endpoint", "raw-seqpacket")
    g.append(("one-way messages/s >= raw unbatched send loop", o is not None and o >= 1,
              "%.2fx" % o if o else "not measured"))
    c = ratio(res, "setup", "xpc-named", "raw-connect-interleaved")
    g.append(("named connect + first reply <= 3x raw connect + round trip", c is not None and c <= 3,
              "%.2fx" % c if c else "not measured"))
    return g


def text_table(rs, gs):
    head = ("figure", "median", "p99/worst", "baseline (median)", "ratio", "unit")
    body = [(n, num(m), num(p), b, "%.2f" % q if q is not None else "-", u) for n, m, p, b, q, u in rs]
    w = [max(len(r[i]) for r in [head] + body) for i in range(6)]
    lines = ["  ".join(c.ljust(w[i]) if i in (0, 3, 5) else c.rjust(w[i]) for i, c in enumerate(r))
             for r in [head] + body]
    lines.insert(1, "-" * len(lines[0]))
    lines.append("")
    lines += ["goal: %-62s %-7s %s" % (t, "MET" if ok else "NOT MET", e) for t, ok, e in gs]
    return "\n".join(lines)


def md_table(rs, gs):
    lines = ["| figure | median | p99 / worst | baseline (median) | ratio |", "|---|---:|---:|---|---:|"]
    for n, m, p, b, q, u in rs:
        lines.append("| %s | %s %s | %s | %s | %s |" % (n, num(m), u, num(p), b, "%.2f" % q if q is not None else "-"))
    lines += ["", "| goal (issue 6) | met | figure |", "|---|---|---|"]
    lines += ["| %s | %s | %s |" % (t, "yes" if ok else "**no**", e) for t, ok, e in gs]
    return "\n".join(lines) + "\n"


def chart(res, out):
    sizes = sorted({k[2] for k in res if k[0] == "rtt"})
    series = [s for s in CHART_SERIES if any(("rtt", s, x) in res for x in sizes)]
    dat = os.path.join(out, "rtt.dat")
    with open(dat, "w") as f:
        f.write("# size " + " ".join(series) + "  (median round trip, us)\n")
        for x in sizes:
            f.write("%d %s\n" % (x, " ".join("%g" % res[("rtt", s, x)][0] if ("rtt", s, x) in res else "NaN"
                                               for s in series)))
    plots = ", ".join("'%s' using 1:%d with linespoints title '%s'" % (dat, i + 2, s) for i, s in enumerate(series))
    script = "\n".join([
        "set terminal pngcairo size 900,560 font 'sans,10'",
        "set output '%s'" % os.path.join(out, "rtt.png"),
        "set title 'Synchronous request/reply between two processes: median round trip'",
        "set logscale xy", "set grid", "set key top left",
        "set xlabel 'payload (bytes)'", "set ylabel 'round trip (microseconds)'",
        "set xtics ('64' 64, '256' 256, '1K' 1024, '4K' 4096, '16K' 16384, '64K' 65536, '256K' 262144, "
        "'1M' 1048576, '4M' 4194304)",
        "plot " + plots, ""])
    try:
        subprocess.run(["gnuplot"], input=script.encode(), check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("report: no chart: %s" % e, file=sys.stderr)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    res = load(os.path.join(out, "results.txt"))
    rs, gs = rows(res), goals(res)
    print(text_table(rs, gs))
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md_table(rs, gs))
    chart(res, out)
    print("\nwritten: %s/results.md, %s/rtt.png, %s/results.txt" % (out, out, out))


if __name__ == "__main__":
    main()
