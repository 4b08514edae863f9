#!/bin/sh
# SPDX-License-Identifier: MIT
# test-man.sh - the manual as a user gets it: every page of man/ renders
# with man-db without a warning (man --warnings: groff -ww), every function
# declared in include/xpc/*.h and include/dispatch/dispatch.h is a name of
# some section 3 page (a .so link made by man/man3/links.py), the pages a
# page cites in SEE ALSO (or in the text, as name(3)) exist, and after a
# DESTDIR install `man NAME` opens the page of each function and mandb's
# index answers `apropos xpc` (man -k).
#
#   test-man.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-man: $*" >&2; exit 1; }
command -v man >/dev/null || fail "no man (scripts/install-deps.sh installs man-db)"

# 1. every page renders without a warning
n=0
for page in "$src"/man/*.[1578] "$src"/man/man3/*.3 "$src"/man/man3/*.3xpc; do
	err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null) ||
		fail "$page does not render"
	[ -z "$err" ] || fail "$page: warnings: $err"
	n=$((n + 1))
done

# 2. every declared function has a page
{ python3 "$src/man/man3/links.py" --names "$src/man/man3" | cut -d' ' -f1
  (cd "$src/man/man3" && ls *.3 *.3xpc | sed 's/\..*//'); } | sort -u >"$tmp/names"
python3 - "$src" >"$tmp/declared" <<'EOF_PY'
import glob, re, sys
for h in sorted(glob.glob(sys.argv[1] + '/include/xpc/*.h')) + sorted(glob.glob(sys.argv[1] + '/include/dispatch/*.h')):
    s = re.sub(r'/\*.*?\*/', '', open(h).read(), flags=re.S)
    s = re.sub(r'^\s*#.*$', '', s, flags=re.M)
    for stmt in s.split(';'):
        stmt = re.sub(r'\s+', ' ', stmt)
        if stmt.strip().startswith('typedef'):
            continue
        m = re.search(r'\b((?:xpc|dispatch)_[a-z0-9_]+)\s*\(', stmt)
        if m and not m.group(1).endswith('_s'):
            print(m.group(1))
EOF_PY
sort -u "$tmp/declared" -o "$tmp/declared"
missing=$(comm -23 "$tmp/declared" "$tmp/names")
[ -z "$missing" ] || fail "functions without a man page name: $(echo $missing)"
[ "$(wc -l <"$tmp/declared")" -gt 150 ] || fail "found only $(wc -l <"$tmp/declared") declared functions"

# 3. cited pages exist: NAME(3), NAME(3xpc), NAME(1|5|8) of this package
python3 "$src/man/man3/links.py" --list "$src/man/man3" >"$tmp/links"
(cd "$src/man" && ls *.[1578] man3/*.3 man3/*.3xpc | sed 's|.*/||') >>"$tmp/links"
grep -ho '^\.BR [a-z_.\\-]* ([0-9a-z]*)' "$src"/man/*.[1578] "$src"/man/man3/*.3* | sed 's/^\.BR //; s/\\-/-/g; s/ (\(.*\))/.\1/' | sort -u |
	while read -r cited; do
		case $cited in *xpc*.[0-9]*|*dispatch*.3xpc|libxpc*) ;; *) continue ;; esac
		grep -qxF "$cited" "$tmp/links" || fail "cited page $cited does not exist"
	done

# 4. installed: man NAME finds the family page, apropos finds them all
meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" >/dev/null 2>&1 || fail "meson install failed"
mandir=$(find "$tmp/root" -type d -name man -path '*/share/man' | head -1)
[ -n "$mandir" ] || fail "no man directory installed"
for name in xpc_dictionary_set_string xpc_connection_create_mach_service xpc_main dispatch_async libxpc; do
	out=$(MANPATH=$mandir LC_ALL=C.UTF-8 MANWIDTH=80 man "$name" 2>&1) || fail "man $name: $out"
	echo "$out" | grep -q "$name" || fail "man $name did not show it"
done
mandb -q "$mandir" >/dev/null 2>&1 || fail "mandb failed"
hits=$(MANPATH=$mandir apropos xpc 2>/dev/null | wc -l)
[ "$hits" -ge 150 ] || fail "apropos xpc found $hits entries"
echo "test-man: $n pages render cleanly, $(wc -l <"$tmp/declared") functions named, apropos xpc: $hits"
