"""The command transcripts of a Markdown document, run and compared.

    doc_transcripts.py list DOC
        prints one line per transcript: ID LINE FIRST-COMMAND
    doc_transcripts.py run DOC ID --port P --cwd DIR --bin DIR
        runs transcript ID: prints one ok/FAIL line per command (with the
        difference on a failure); exits 1 when any command failed.

A transcript is
  - a ```text block holding `$ COMMAND` lines: the lines up to the next
    `$ ` line are what COMMAND prints (stdout and stderr, as a terminal shows
    them); or
  - a ```sh block in which a command is followed at once by `# ` comment
    lines: those lines are lines of its output, in order (the doc may show
    only some of them, e.g. three headers of `curl -D -`). Every command of
    such a block runs, in order; one without comment lines must exit 0 and
    print no control-plane error (`{"error": ...}`).
A transcript's ID is the slug of the heading above it and its number under
that heading (`troupe-ctl.1`).

Each command runs in `bash -c` in DIR, with DIR `--bin` first on PATH (a
`troupe` there is the binary under test), stdin from /dev/null, the
`export` commands before it in the same block run first, and the doc's
control-plane address 127.0.0.1:8080 replaced by 127.0.0.1:P (in the
command and in the output it shows).

Output is compared line by line after normalising only what varies from run
to run: whitespace runs (table column widths), the UPTIME, IN, OUT and DROP
columns of a `troupe ctl status` table, `in=`, `out=`, `dropped=` message
counts of a status line, and the `X-Total-Count` header (the doc's app is
larger than the test's). Everything else -- words, names, states, errors,
restart and error counts, exit codes shown by `echo $?` -- must be equal.
"""
import argparse
import difflib
import os
import re
import subprocess
import sys

DOC_ADDR = "127.0.0.1:8080"
VARYING_COLUMNS = {"UPTIME", "IN", "OUT", "DROP"}


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("`", "")).strip("-")


class Command:
    def __init__(self, line, text):
        self.line = line      # line number of the command in the doc
        self.text = text      # the command (continuations joined)
        self.expected = []    # lines of output the doc shows
        self.excerpt = False  # from a ```sh block: `# ` lines, or none


class Transcript:
    def __init__(self, ident, line):
        self.ident = ident
        self.line = line
        self.commands = []


def parse(doc):
    lines = open(doc, encoding="utf-8").read().split("\n")
    heading = "top"
    per_heading = {}
    transcripts = []
    i = 0
    while i < len(lines):
        m = re.match(r"^#+\s+(.*)", lines[i])
        if m:
            heading = slug(m.group(1))
            i += 1
            continue
        fence = re.match(r"^```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        lang, start = fence.group(1), i + 1
        end = start
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        body = lines[start:end]
        i = end + 1
        if lang == "text":
            cmds = parse_text_block(body, start)
        elif lang == "sh":
            cmds = parse_sh_block(body, start)
        else:
            cmds = []
        if not cmds:
            continue
        n = per_heading[heading] = per_heading.get(heading, 0) + 1
        t = Transcript(f"{heading}.{n}", start)
        t.commands = cmds
        transcripts.append(t)
    return transcripts


def parse_text_block(body, first):
    if not any(b.startswith("$ ") for b in body):
        return []
    cmds = []
    for k, b in enumerate(body):
        if b.startswith("$ "):
            cmds.append(Command(first + k + 1, b[2:]))
        elif cmds:
            cmds[-1].expected.append(b)
        else:
            raise SystemExit(f"line {first + k + 1}: output before any $ command")
    return cmds


def parse_sh_block(body, first):
    cmds = []
    k = 0
    last = None  # the command the next `# ` lines belong to
    while k < len(body):
        b = body[k]
        if b.strip() == "":
            last = None
            k += 1
            continue
        if b.lstrip().startswith("#"):
            if last is not None:
                last.expected.append(re.sub(r"^\s*# ?", "", b))
            k += 1
            continue
        lineno, text = first + k + 1, b
        while text.endswith("\\") and k + 1 < len(body):
            k += 1
            text = text[:-1] + " " + body[k].strip()
        last = Command(lineno, text)
        last.excerpt = True
        cmds.append(last)
        k += 1
    # A plain block of commands is not a transcript: it shows no output.
    return cmds if any(c.expected for c in cmds) else []


def normalise(lines):
    out = []
    columns = None  # indices of varying columns of a status table
    for raw in lines:
        line = re.sub(r"\s+", " ", raw.replace("\r", "")).strip()
        tokens = line.split(" ")
        if tokens[:1] == ["SERVICE"] and "UPTIME" in tokens:
            columns = {i for i, t in enumerate(tokens) if t in VARYING_COLUMNS}
        elif columns is not None and len(tokens) > max(columns, default=0):
            tokens = [re.sub(r"\d+(\.\d+)?", "#", t) if i in columns else t
                      for i, t in enumerate(tokens)]
            line = " ".join(tokens)
        else:
            columns = None
        line = re.sub(r"\b(in|out|dropped)=\d+", r"\1=#", line)
        line = re.sub(r"^(X-Total-Count:) \d+$", r"\1 #", line, flags=re.I)
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return out


def clip(line, n=300):
    return line if len(line) <= n else line[:n] + f"... ({len(line)} chars)"


def is_subsequence(want, got):
    it = iter(got)
    return all(any(w == g for g in it) for w in want)


def run(doc, ident, port, cwd, bindir):
    found = [t for t in parse(doc) if t.ident == ident]
    if not found:
        print(f"FAIL - {ident}: no such transcript in {doc}")
        return 1
    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    exports = []
    failed = 0
    for c in found[0].commands:
        cmd = c.text.replace(DOC_ADDR, f"127.0.0.1:{port}")
        script = "\n".join(exports + [cmd])
        if re.match(r"^export\s", c.text):
            exports.append(cmd)
        try:
            p = subprocess.run(["bash", "-c", script], cwd=cwd, env=env,
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=90)
            got_raw = p.stdout.decode("utf-8", "replace").split("\n")
            code = p.returncode
        except subprocess.TimeoutExpired:
            got_raw, code = ["(no answer within 90 s)"], None
        want = normalise(x.replace(DOC_ADDR, f"127.0.0.1:{port}")
                         for x in c.expected)
        got = normalise(got_raw)
        where = f"{os.path.basename(doc)}:{c.line}"
        if c.excerpt and not c.expected:
            # Shown without output, as a command that works: exit 0 and no
            # error body from the control plane.
            good = code == 0 and not (got and got[0].startswith('{"error"'))
            detail = (f"exit {code}, expected 0 and no error (the doc shows "
                      "no output)")
        elif c.excerpt:
            good = is_subsequence(want, got)
            detail = "the doc's lines are not in the output, in order"
        else:
            good = want == got
            detail = "the output differs from the doc"
        if good:
            print(f"ok   - {ident} ({where}): $ {c.text}")
            continue
        failed += 1
        print(f"FAIL - {ident} ({where}): $ {c.text}: {detail}")
        print(f"    | command run: {cmd}")
        diff = difflib.unified_diff(want, got, "doc (normalised)",
                                    "app (normalised)", lineterm="", n=10)
        for d in diff:
            print("    | " + clip(d))
        if c.excerpt or not want:
            for g in got_raw[:40]:
                print("    | app> " + clip(g))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["list", "run"])
    ap.add_argument("doc")
    ap.add_argument("ident", nargs="?")
    ap.add_argument("--port", default="8080")
    ap.add_argument("--cwd", default=".")
    ap.add_argument("--bin", default="")
    a = ap.parse_args()
    if a.what == "list":
        for t in parse(a.doc):
            print(t.ident, t.line, t.commands[0].text)
        return 0
    return run(a.doc, a.ident, a.port, a.cwd, a.bin)


if __name__ == "__main__":
    sys.exit(main())
