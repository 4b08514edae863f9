#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""goals.py - issue 17's goals from bench/goals.sh's log.

    goals.py LOG

Per goal: the median over the rounds of the ratio to the baseline of the
same round, its range, the goal and whether the median meets it.  A round
whose figure is missing (a phase that failed) is left out of that goal's
median and the number of rounds counted is shown.
"""
import collections
import re
import statistics
import sys


def parse(path):
    rounds = []
    cur = None
    phase = None
    for line in open(path):
        w = line.split()
        if w[:1] == ['ROUND']:
            cur = collections.defaultdict(list)
            rounds.append(cur)
            phase = None
            continue
        if cur is None:
            continue
        if w[:1] in (['SIZES'], ['RING'], ['RINGFUTEX'], ['BULK'], ['SETUP'], ['IDLE']):
            phase = w[0]
            continue
        if len(w) >= 14 and w[1] == 'LOAD':
            cur.setdefault('load', {}).setdefault(w[3] + 'x' + w[4], {})[w[2]] = list(map(float, w[5:]))
        elif phase == 'SIZES' and len(w) >= 5 and w[0] in ('64', '65536'):
            cur['size' + w[0]].append(float(w[4]))
        elif phase in ('RING', 'RINGFUTEX') and len(w) >= 5 and w[0] in ('64', '1024', '65536'):
            cur[phase.lower() + w[0]].append(float(w[4]))
        m = re.search(r'1 MiB round trip, next .*ratio ([0-9.]+)', line)
        if m:
            cur['1mib'].append(float(m.group(1)))
        m = re.search(r'setup medians: raw ([0-9.]+) us, named ([0-9.]+) us', line)
        if m:
            cur['connect'].append(float(m.group(2)) / float(m.group(1)))
        m = re.search(r'round \d+: raw (\d+) KiB, xpc (\d+) KiB', line)
        if m:
            cur['idle'].append(float(m.group(2)))
            cur['idle_raw'].append(float(m.group(1)))
    return rounds


def load_figures(rounds):
    """point -> list over rounds of (ratio, p99 ratio, fairness lo, hi)"""
    out = collections.defaultdict(list)
    for r in rounds:
        for pt, d in r.get('load', {}).items():
            if 'xpc' in d and 'raw' in d:
                x, w = d['xpc'], d['raw']
                out[pt].append((x[0] / w[0], x[2] / w[2], x[3], x[4]))
    return out


def row(name, values, goal, ok, fmt='%.2f'):
    if not values:
        print('| %s | %s | - | - | not measured |' % (name, goal))
        return
    med = statistics.median(values)
    rng = (fmt + '-' + fmt) % (min(values), max(values))
    print('| %s | %s | %s | %s (%d) | %s |' % (name, goal, fmt % med, rng, len(values), 'yes' if ok(med) else '**no**'))


def main():
    rounds = parse(sys.argv[1])
    load = load_figures(rounds)
    print('| goal | limit | median | range (rounds) | met |')
    print('|---|---|---:|---|---|')
    for pt, lim in (('8x8', 0.8), ('64x1', 0.8), ('8x32', 0.7)):
        row('%s req/s vs raw' % pt, [f[0] for f in load.get(pt, [])], '>= %.1f' % lim, lambda m, lim=lim: m >= lim)
    for pt in ('8x8', '64x1'):
        row('%s p99 vs raw' % pt, [f[1] for f in load.get(pt, [])], '<= 2', lambda m: m <= 2)
    fair = [f[2] for pt in ('8x8', '64x1', '8x32') for f in load.get(pt, [])]
    row('fairness: least client / mean', fair, '>= 0.5', lambda m: m >= 0.5)
    fair = [f[3] for pt in ('8x8', '64x1', '8x32') for f in load.get(pt, [])]
    row('fairness: most client / mean', fair, '<= 2', lambda m: m <= 2)
    row('1x1 req/s vs raw', [f[0] for f in load.get('1x1', [])], '(none)', lambda m: True)
    col = lambda k: [v for r in rounds for v in r.get(k, [])]
    row('small round trip vs raw SEQPACKET', col('size64'), '<= 1.05', lambda m: m <= 1.05)
    row('small round trip, shared rings (XPC_SHARED_RING=1)', col('ring64'), '<= 1.05', lambda m: m <= 1.05)
    row('small round trip, rings without spin (=futex)', col('ringfutex64'), '<= 1.05', lambda m: m <= 1.05)
    row('1 KiB round trip, shared rings', col('ring1024'), '(none)', lambda m: True)
    row('64 KiB round trip, shared rings (by the socket)', col('ring65536'), '<= 1.2', lambda m: m <= 1.2)
    row('64 KiB round trip vs raw SEQPACKET', col('size65536'), '<= 1.2', lambda m: m <= 1.2)
    row('1 MiB round trip vs raw SOCK_STREAM', col('1mib'), '<= 1.2', lambda m: m <= 1.2)
    row('named connect + first reply vs raw', col('connect'), '<= 2', lambda m: m <= 2)
    row('idle client KiB', col('idle'), '<= 1536', lambda m: m <= 1536, '%.0f')
    row('idle raw client KiB (baseline)', col('idle_raw'), '-', lambda m: True, '%.0f')


if __name__ == '__main__':
    main()
