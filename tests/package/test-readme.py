#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test-readme.py - the README cannot rot: every fenced code block carries a
# marker comment on the line before it, and is used according to it:
#
#   <!-- readme-test: file NAME -->  written to NAME in a scratch directory
#   <!-- readme-test: sh -->         run, in order, in one bash session there
#   <!-- readme-test: output -->     the exact stdout of the sh block before it
#   <!-- readme-test: systemd -->    run where a systemd user session exists;
#                                    elsewhere each unit it names must be
#                                    installed
#   <!-- readme-test: make -->       each `make TARGET` is a Makefile target
#   <!-- readme-test: text -->       prose in a box (a diagram), not code
#
# A fence without a marker, or an indented code block, fails the test.
# The sh blocks run with a private HOME and XDG_RUNTIME_DIR (so their
# `xpcd --user` is a private broker) against either the build tree,
# installed into a scratch DESTDIR (pkg-config through
# PKG_CONFIG_SYSROOT_DIR, programs through PATH and LD_LIBRARY_PATH, the
# Python package through PYTHONPATH), or,
# with --installed, the files installed on the machine (test-deb.sh).
#
#   test-readme.py SOURCE_DIR BUILD_DIR | --installed
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

MARK = re.compile(r'^<!-- readme-test: (\w+)(?: (\S+))? -->$')


def fail(msg):
    print('test-readme: ' + msg, file=sys.stderr)
    sys.exit(1)


def blocks(readme):
    """[(kind, arg, text, line)] for every fenced block; checks the markers."""
    lines = open(readme, encoding='utf-8').read().split('\n')
    out, i, fenced = [], 0, False
    while i < len(lines):
        line = lines[i]
        if line.startswith('```'):
            m = MARK.match(lines[i - 1]) if i > 0 else None
            if not m:
                fail('README.md:%d: a code block without a readme-test marker on the line before' % (i + 1))
            j = i + 1
            while j < len(lines) and not lines[j].startswith('```'):
                j += 1
            if j == len(lines):
                fail('README.md:%d: unterminated code block' % (i + 1))
            out.append((m.group(1), m.group(2), '\n'.join(lines[i + 1:j]) + '\n', i + 1))
            i = j + 1
            continue
        if (line.startswith('    ') or line.startswith('\t')) and line.strip():
            fail('README.md:%d: an indented code block (use a fenced block with a marker)' % (i + 1))
        i += 1
    return out


def install_build(build, root):
    subprocess.run(['meson', 'install', '-C', build, '--no-rebuild', '--quiet', '--destdir', root],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    opts = {o['name']: o['value'] for o in json.loads(subprocess.run(
        ['meson', 'introspect', build, '--buildoptions'], check=True, capture_output=True, text=True).stdout)}
    prefix = root + opts['prefix']
    libdir = os.path.join(prefix, opts['libdir'])
    env = dict(os.environ)
    env['PKG_CONFIG_SYSROOT_DIR'] = root
    env['PKG_CONFIG_PATH'] = os.path.join(libdir, 'pkgconfig')
    env['LD_LIBRARY_PATH'] = libdir
    # programs the README builds find the scratch libxpc.so through an
    # rpath (xpcd does not pass LD_LIBRARY_PATH on to the jobs it starts)
    shim = os.path.join(root, 'shim')
    os.makedirs(shim)
    with open(os.path.join(shim, 'clang'), 'w') as f:
        f.write('#!/bin/sh\nexec %s "$@" -Wl,-rpath,%s\n' % (shutil.which('clang'), libdir))
    os.chmod(os.path.join(shim, 'clang'), 0o755)
    env['PATH'] = '%s:%s:%s:%s' % (shim, os.path.join(prefix, opts['bindir']), os.path.join(prefix, opts['sbindir']),
                                   env['PATH'])
    units = [root + d for d in ('/lib/systemd', '/usr/lib/systemd', opts['prefix'] + '/lib/systemd')]
    # the Python package, wherever meson put it under the prefix
    for dirpath, dirnames, _ in os.walk(prefix):
        if 'xpc' in dirnames and os.path.exists(os.path.join(dirpath, 'xpc', '__init__.py')):
            env['PYTHONPATH'] = dirpath
            break
    return env, units


def make_targets(src, text):
    makefile = open(os.path.join(src, 'Makefile')).read()
    for line in text.split('\n'):
        m = re.match(r'\s*make ([\w-]+)', line)
        if m and not re.search(r'^%s:' % re.escape(m.group(1)), makefile, re.M):
            fail('README names make %s, which the Makefile lacks' % m.group(1))


def systemd_units(text, unit_dirs):
    user_session = subprocess.run(['systemctl', '--user', 'is-system-running'], capture_output=True).returncode == 0
    if user_session:
        return text  # run it like any sh block
    for unit in re.findall(r'systemctl (?:--user )?\w+ (?:--now )?([\w@.-]+)', text):
        unit = unit if unit.endswith('.service') else unit + '.service'
        if not any(os.path.exists(os.path.join(d, sub, unit)) for d in unit_dirs for sub in ('system', 'user')):
            fail('README names the unit %s, which is not installed (looked in %s)' % (unit, unit_dirs))
    return None


def run_script(script, env, cwd):
    """Runs the sh blocks in one bash; returns the stdout of each block."""
    sep = '@@readme-test block end@@'
    body = 'set -e\n' + ''.join('%s\necho "%s"\n' % (b, sep) for b in script)
    # stdout to a file, not a pipe: a service the session started keeps its
    # copy open, and a pipe would then never end
    with tempfile.TemporaryFile('w+') as fout, tempfile.TemporaryFile('w+') as ferr:
        p = subprocess.Popen(['bash', '-c', body], cwd=cwd, env=env, stdout=fout, stderr=ferr, text=True,
                             start_new_session=True)
        try:
            p.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        fout.seek(0)
        ferr.seek(0)
        out, err = fout.read(), ferr.read()
    if p.returncode != 0:
        fail('the README session failed (exit %d):\n%s%s' % (p.returncode, out, err))
    return out.split(sep + '\n')[:len(script)]


def kill_leftovers(tmp, run):
    """Processes still running a program of the scratch directory or with
    its XDG_RUNTIME_DIR (the broker, the service, if a block failed), by pid."""
    mark = ('XDG_RUNTIME_DIR=' + run).encode() + b'\0'
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            exe = os.readlink('/proc/%s/exe' % pid)
            environ = open('/proc/%s/environ' % pid, 'rb').read()
        except OSError:
            continue
        if exe.startswith(tmp + '/') or mark in environ:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


def main():
    src = sys.argv[1]
    mode = sys.argv[2]
    found = blocks(os.path.join(src, 'README.md'))
    tmp = tempfile.mkdtemp(prefix='readme-test.')
    os.chmod(tmp, 0o755)
    work, home, run = (os.path.join(tmp, d) for d in ('work', 'home', 'run'))
    try:
        for d in (work, home, run):
            os.makedirs(d, mode=0o700)
        if mode == '--installed':
            env, units = dict(os.environ), ['/lib/systemd', '/usr/lib/systemd', '/usr/local/lib/systemd']
            # the system's programs first (python3 = Debian's, which has python3-xpc)
            env['PATH'] = '/usr/bin:/usr/sbin:/bin:/sbin:' + env['PATH']
        else:
            env, units = install_build(mode, os.path.join(tmp, 'root'))
        env.update(HOME=home, XDG_RUNTIME_DIR=run)
        env.pop('XPCD_SOCKET', None)
        script, expected = [], {}
        for kind, arg, text, line in found:
            if kind == 'file':
                open(os.path.join(work, arg), 'w').write(text)
            elif kind == 'sh':
                script.append(text)
            elif kind == 'output':
                if not script:
                    fail('README.md:%d: an output block before any sh block' % line)
                expected[len(script) - 1] = (text, line)
            elif kind == 'systemd':
                run_it = systemd_units(text, units)
                if run_it:
                    script.append(run_it)
            elif kind == 'make':
                make_targets(src, text)
            elif kind != 'text':
                fail('README.md:%d: unknown marker kind %s' % (line, kind))
        if not script:
            fail('no sh block in the README')
        outs = run_script(script, env, work)
        for i, (text, line) in expected.items():
            if outs[i] != text:
                fail('README.md:%d: the block printed\n%s\ninstead of\n%s' % (line, outs[i], text))
        print('test-readme: %d blocks (%d run, %d outputs compared) ok' % (len(found), len(script), len(expected)))
    finally:
        kill_leftovers(tmp, run)
        time.sleep(0.1)
        shutil.rmtree(tmp, ignore_errors=True)


main()
