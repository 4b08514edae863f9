#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""layer-graph.py - the call graph between the files of one layer.

Usage: scripts/layer-graph.py BUILD_DIR LAYER [LAYER...]
   e.g. scripts/layer-graph.py build connection transport
        scripts/layer-graph.py build transport/remote   (a folder's own library)

Reads the object files of the layers' static libraries (meson puts them
in BUILD/src/LAYER/libxpc-LAYER.a.p/) with nm: a file uses another when it
refers to a function or variable the other defines (static functions and
blocks are not symbols, so only the files' faces count).  Prints one line
per file with the files it uses, then the cycles (strongly connected
components of more than one file), or "no cycle".  Exit status 1 when
there is a cycle.
"""
import glob
import os
import subprocess
import sys


def symbols(objs):
    """{obj: (defined, used)} from one nm run over all @objs (-A names the
    file on each line, -P gives "FILE: NAME TYPE ...")."""
    out = subprocess.run(["nm", "-A", "-P", *objs], capture_output=True, text=True, check=True).stdout
    syms = {obj: (set(), set()) for obj in objs}
    for line in out.splitlines():
        obj, _, rest = line.rpartition(": ")
        fields = rest.split()
        if obj not in syms or len(fields) < 2:
            continue
        if fields[1] == "U":
            syms[obj][1].add(fields[0])
        elif fields[1] in "TDBRC":
            syms[obj][0].add(fields[0])
    return syms


def graph(build, layers):
    objs = {}
    for layer in layers:
        for obj in sorted(glob.glob(os.path.join(build, "src", layer, "*.a.p", "*.o"))):
            objs[obj] = layer + "/" + os.path.basename(obj)[:-2]
    files = {objs[obj]: syms for obj, syms in symbols(list(objs)).items()} if objs else {}
    owner = {}
    for name, (defined, _) in files.items():
        for s in defined:
            owner[s] = name
    edges = {name: sorted({owner[s] for s in used if s in owner and owner[s] != name})
             for name, (_, used) in files.items()}
    return edges


def cycles(edges):
    """Tarjan's strongly connected components of more than one node."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    edges = graph(sys.argv[1], sys.argv[2:])
    for name in sorted(edges):
        print(f"{name:28} -> {', '.join(edges[name]) or '-'}")
    found = cycles(edges)
    for comp in found:
        print("cycle: " + " <-> ".join(comp))
    if not found:
        print("no cycle")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
