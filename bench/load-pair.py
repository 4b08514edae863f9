#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""load-pair.py - medians of bench/load-pair.sh's alternating sweeps.

    load-pair.py OUTPUT [PERF_OUT]

OUTPUT is what load-pair.sh printed.  Per point and build: the median over
the runs of xpc's requests/s over raw's of the same run (and their range),
p99 over raw's, the echo job's CPU time and context switches per request
(bench-load's /proc figures; raw's in brackets), the clients' CPU per
request, and the ratio predicted by CPU (raw's client + service CPU per
request over xpc's: the throughput ratio if the 2 CPUs were the only
limit).  With PERF_OUT (load-pair.sh's PERF=1 files PERF_OUT.ps.BUILD.I)
also the echo job's system calls, context switches and CPU time per
request over each whole sweep (its requests: its sendmsg calls, one reply
each).
"""
import collections
import os
import statistics
import sys


def parse(path):
    runs = collections.defaultdict(dict)  # (build, run) -> point -> transport -> fields
    cur = {}
    for line in open(path):
        w = line.split()
        if w[:1] == ['RUN']:
            cur[w[1]] = w[2]
        elif len(w) >= 14 and w[1] == 'LOAD':
            runs[(w[0], cur[w[0]])].setdefault(w[3] + 'x' + w[4], {})[w[2]] = list(map(float, w[5:]))
    return runs


def perf_counts(path):
    counts = {}
    for line in open(path):
        w = line.split()
        if len(w) >= 2 and w[0].replace(',', '').replace('.', '').isdigit():
            name = w[2] if w[1] == 'msec' else w[1]
            if name == 'seconds':
                continue
            counts[name.replace('syscalls:sys_enter_', '')] = float(w[0].replace(',', ''))
    return counts


def main():
    runs = parse(sys.argv[1])
    perf = sys.argv[2] if len(sys.argv) > 2 else None
    agg = collections.defaultdict(lambda: collections.defaultdict(list))
    per_req = collections.defaultdict(lambda: collections.defaultdict(list))
    for (build, run), points in runs.items():
        for pt, d in points.items():
            if 'xpc' not in d or 'raw' not in d:
                continue
            x, r = d['xpc'], d['raw']
            a = agg[(pt, build)]
            a['ratio'].append(x[0] / r[0])
            a['p99'].append(x[2] / r[2])
            a['svc'].append(x[7])
            a['svc_raw'].append(r[7])
            a['sw'].append(x[8])
            a['sw_raw'].append(r[8])
            a['cli'].append(x[5])
            a['cli_raw'].append(r[5])
            if len(x) > 9 and len(r) > 9:  # the user-space part (newer bench-load)
                a['cli_user'].append(x[9])
                a['cli_user_raw'].append(r[9])
                a['svc_user'].append(x[10])
                a['svc_user_raw'].append(r[10])
            a['pred'].append((r[5] + r[7]) / (x[5] + x[7]))
        f = '%s.ps.%s.%s' % (perf, build, run) if perf else None
        counts = perf_counts(f) if f and os.path.exists(f) else {}
        reqs = counts.get('sendmsg', 0)
        for k, v in counts.items():
            if reqs > 0:
                per_req[build][k].append(v / reqs * (1000.0 if k == 'task-clock' else 1.0))
    med = statistics.median
    print('| point | build | runs | req/s vs raw (range) | p99 vs raw | service CPU us/req (raw) '
          '| service switches/req (raw) | client CPU us/req (raw) | of it user space: client (raw), service (raw) '
          '| predicted by CPU |')
    print('|---|---|---:|---|---:|---:|---:|---:|---:|---:|')
    for pt in ('1x1', '8x1', '8x8', '64x1', '8x32'):
        for build in ('base', 'new'):
            a = agg.get((pt, build))
            if not a:
                continue
            user = ('%.1f (%.1f), %.1f (%.1f)' % (med(a['cli_user']), med(a['cli_user_raw']), med(a['svc_user']),
                                                 med(a['svc_user_raw'])) if a['cli_user'] else '-')
            print('| %s | %s | %d | %.2f (%.2f-%.2f) | %.2f | %.1f (%.1f) | %.2f (%.2f) | %.1f (%.1f) | %s | %.2f |' % (
                pt, build, len(a['ratio']), med(a['ratio']), min(a['ratio']), max(a['ratio']), med(a['p99']),
                med(a['svc']), med(a['svc_raw']), med(a['sw']), med(a['sw_raw']), med(a['cli']), med(a['cli_raw']),
                user, med(a['pred'])))
    if per_req:
        keys = sorted(set(k for b in per_req.values() for k in b))
        print()
        print('| echo job, per request (perf stat, whole sweeps) | ' + ' | '.join(sorted(per_req)) + ' |')
        print('|---|' + '---:|' * len(per_req))
        for k in keys:
            name = 'CPU us (task-clock)' if k == 'task-clock' else k
            print('| %s | %s |' % (name, ' | '.join('%.3f' % med(per_req[b][k]) if per_req[b][k] else '-'
                                                 for b in sorted(per_req))))


if __name__ == '__main__':
    main()
