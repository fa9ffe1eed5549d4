#!/usr/bin/python3
"""synopsis.py -- does a binary's usage text list the options of its man
page's SYNOPSIS?

    synopsis.py USAGE-FILE MAN-PAGE

USAGE-FILE holds what "BINARY -h" printed.  The man page is rendered with
mandoc, its SYNOPSIS section cut out, and the options of both compared as
sets: "-nsv" counts as -n, -s and -v; long options as they are.  Exit 0 if
the sets agree, else 1 with the differences.
"""

import re
import subprocess
import sys

OPT = re.compile(r"(?<![\w-])(--[A-Za-z][-A-Za-z0-9]*|-[A-Za-z0-9]+)")


def options(text):
    out = set()
    for tok in OPT.findall(text):
        if tok.startswith("--"):
            out.add(tok)
        else:
            out.update("-" + ch for ch in tok[1:])
    return out


def synopsis(man):
    r = subprocess.run(["mandoc", "-Tascii", man], capture_output=True,
                       timeout=20)
    if r.returncode > 1:
        raise SystemExit("mandoc failed on %s: %s" % (man, r.stderr))
    text = re.sub(r".\x08", "", r.stdout.decode("utf-8", "replace"))
    m = re.search(r"^SYNOPSIS\n(.*?)(?=^[A-Z][A-Z ]+\n)", text,
                  re.M | re.S)
    if not m:
        raise SystemExit("no SYNOPSIS section in %s" % man)
    return m.group(1)


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: synopsis.py USAGE-FILE MAN-PAGE")
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        usage = f.read()
    syn = synopsis(sys.argv[2])
    u, s = options(usage), options(syn)
    if not u:
        print("no options found in the usage text:\n%s" % usage)
        return 1
    if u != s:
        print("usage text and SYNOPSIS differ")
        print("  only in usage:    %s" % " ".join(sorted(u - s)))
        print("  only in SYNOPSIS: %s" % " ".join(sorted(s - u)))
        print("usage:\n%s\nSYNOPSIS:\n%s" % (usage, syn))
        return 1
    print("both list: %s" % " ".join(sorted(u)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
