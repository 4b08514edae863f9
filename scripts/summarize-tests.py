#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Sums the results of several meson test runs (their testlog.json files)
and prints per-run counts and the closing line 'N passed, N failed'."""
import json, sys

passed = failed = skipped = 0
for path in sys.argv[1:]:
    p = f = s = 0
    try:
        with open(path) as fh:
            for line in fh:
                r = json.loads(line)
                res = r.get("result")
                if res in ("OK", "EXPECTEDFAIL"):
                    p += 1
                elif res == "SKIP":
                    s += 1
                else:
                    f += 1
                    print(f"FAILED: {path}: {r.get('name')} ({res})")
    except FileNotFoundError:
        print(f"missing test log {path}: counted as one failure")
        f += 1
    print(f"{path}: {p} passed, {f} failed, {s} skipped")
    passed += p; failed += f; skipped += s
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
