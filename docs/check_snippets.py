#!/usr/bin/env python3
"""Checks that documented code is the compiled code.

A fenced code block in docs/*.md whose first line is a comment naming a file
(`// docs/examples/greeter.cpp`, or `# docs/examples/client.py`; files in
tests/consumer/ too) must appear verbatim, line for line, in that
file. Prints one line per checked block; exits 1 on any mismatch.
"""
import pathlib
import re
import sys

docs = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
root = docs.parent
fence = re.compile(r"^```[a-z+]*\n(.*?)^```", re.S | re.M)
passed = failed = 0
for md in sorted(docs.glob("*.md")):
    for block in fence.findall(md.read_text()):
        lines = block.splitlines()
        m = (re.match(r"^(?://|#) ((?:docs/examples|tests/consumer)/\S+)$",
                      lines[0])
             if lines else None)
        if not m:
            continue
        source = (root / m.group(1)).read_text()
        body = "\n".join(lines[1:])
        if body in source:
            passed += 1
            print(f"ok   - {md.name}: {m.group(1)} ({len(lines) - 1} lines)")
        else:
            failed += 1
            print(f"FAIL - {md.name}: block naming {m.group(1)} differs "
                  f"from the file; first line: {lines[1] if len(lines) > 1 else ''}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or not passed else 0)
