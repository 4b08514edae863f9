#!/bin/sh
# SPDX-License-Identifier: MIT
# uninstall.sh - make uninstall: removes what the last `meson install` of
# BUILD_DIR installed, as listed in BUILD_DIR/meson-logs/install-log.txt
# (files, symlinks, and the directories that install created), then the
# directories of that list that are empty now, deepest first.  Directories
# that existed before (not in the list) and anything else are left alone.
#
#   scripts/uninstall.sh BUILD_DIR
set -eu
log=${1:?usage: uninstall.sh BUILD_DIR}/meson-logs/install-log.txt
[ -f "$log" ] || { echo "uninstall: no $log: nothing was installed" >&2; exit 1; }
n=0
while IFS= read -r p; do
	case $p in '#'*|'') continue ;; esac
	if [ -L "$p" ] || [ -f "$p" ]; then
		rm -f "$p" && n=$((n + 1))
	fi
done <"$log"
# directories: longest paths first, removed only when empty
grep -v '^#' "$log" | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2- | while IFS= read -r p; do
	[ -d "$p" ] && rmdir "$p" 2>/dev/null || true
done
echo "uninstall: removed $n files listed in $log"
