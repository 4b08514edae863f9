#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Lays out an application with one bundled XPC service
# (docs/bundled-services.md):
#   make-bundle.py apple OUT.app APP SERVICE INFO_PLIST
#       OUT.app/Contents/MacOS/APP, OUT.app/Contents/XPCServices/ID.xpc/...
#   make-bundle.py linux PREFIX APP SERVICE INFO_PLIST
#       PREFIX/bin/APP, PREFIX/lib/APP/XPCServices/ID.xpc/...
# ID is the Info.plist's CFBundleIdentifier.  Copies keep their modes;
# every directory is made 0755 (the bundle must not be writable by group
# or others, or libxpc refuses it).
import os, plistlib, shutil, sys

def main():
    kind, out, app, service, info = sys.argv[1:6]
    with open(info, 'rb') as f:
        ident = plistlib.load(f)['CFBundleIdentifier']
    if os.path.isdir(out):
        shutil.rmtree(out)
    if kind == 'apple':
        bindir = os.path.join(out, 'Contents', 'MacOS')
        services = os.path.join(out, 'Contents', 'XPCServices')
    else:
        bindir = os.path.join(out, 'bin')
        services = os.path.join(out, 'lib', os.path.basename(app), 'XPCServices')
    contents = os.path.join(services, ident + '.xpc', 'Contents')
    for d in (bindir, os.path.join(contents, 'MacOS')):
        os.makedirs(d, mode=0o755, exist_ok=True)
    shutil.copy2(app, bindir)
    shutil.copy2(service, os.path.join(contents, 'MacOS'))
    shutil.copy2(info, os.path.join(contents, 'Info.plist'))
    for root, dirs, _ in os.walk(out):
        os.chmod(root, 0o755)

main()
