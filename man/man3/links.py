#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# links.py - the .so link pages of man/man3: one per name in the NAME
# section of each page (so `man xpc_dictionary_set_string` opens
# xpc_dictionary(3)), named with the page's own section suffix (3 or 3xpc).
#
#   links.py --list MAN3_DIR           the link file names, one a line
#   links.py --write OUT_DIR MAN3_DIR  writes them (".so man3/PAGE")
#   links.py --names MAN3_DIR          "NAME PAGE" for every name
import os
import re
import sys

PAGES = ('.3', '.3xpc')


def names(man3):
    """(link file, page file) for every NAME entry but the page's own."""
    out = []
    for page in sorted(os.listdir(man3)):
        if not page.endswith(PAGES):
            continue
        text = open(os.path.join(man3, page), encoding='utf-8').read()
        m = re.search(r'^\.SH NAME\n(.*?)\\- ', text, re.S | re.M)
        if not m:
            sys.exit('links.py: %s has no NAME section' % page)
        sect = page[page.index('.'):]
        own = page[:page.index('.')]
        for n in re.split(r'[,\s]+', m.group(1).replace('\\-', '-')):
            if n and n != own:
                out.append((n + sect, page))
    return out


def main():
    mode = sys.argv[1]
    if mode == '--list':
        print('\n'.join(link for link, _ in names(sys.argv[2])))
    elif mode == '--names':
        print('\n'.join('%s %s' % (link.split('.')[0], page) for link, page in names(sys.argv[2])))
    elif mode == '--write':
        for link, page in names(sys.argv[3]):
            with open(os.path.join(sys.argv[2], link), 'w') as f:
                f.write('.so man3/%s\n' % page)
    else:
        sys.exit('usage: links.py --list|--names MAN3_DIR | --write OUT_DIR MAN3_DIR')


main()
