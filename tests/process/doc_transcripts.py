"""The command blocks and transcripts of a Markdown document, run and compared.

    doc_transcripts.py list DOC
        prints one line per ```sh or ```text block: ID LINE KIND FIRST-LINE,
        KIND being `transcript` (commands with the output they print),
        `commands` (a ```sh block of commands showing no output) or `text`
        (no command: a usage synopsis, an example of output)
    doc_transcripts.py commands DOC ID
        prints the commands of block ID, one a line (continuations joined)
    doc_transcripts.py run DOC ID --port P --cwd DIR --bin DIR [options]
        runs the commands of block ID: prints one ok/FAIL/skip line per
        command (with the difference on a failure); exits 1 when any failed.
        Options:
          --include RE, --exclude RE  run only the commands that match / do
              not match RE (the others are not this run's: no line)
          --skip FILE  commands equal to a line of FILE are printed as
              `skip - not runnable here: COMMAND`; a line of FILE that is
              not a command of the block fails
          --run-only RE  a command that matches neither RE nor --skip fails
              without running (a new command needs a decision)
          --replace OLD=NEW  replaces OLD in each command before it runs
          --background RE --ready TEXT  a command matching RE runs in the
              background until TEXT is in its output (60 s), the others
              then run, and it is stopped by SIGTERM at the end (must exit 0)
          --save DIR  writes each command's output to DIR/N.out and one line
              `N<TAB>EXIT<TAB>COMMAND` to DIR/index; DOC_SAVE=DIR/N is in
              the command's environment (a curl wrapper may dump headers)

A transcript is
  - a ```text block holding `$ COMMAND` lines: the lines up to the next
    `$ ` line are what COMMAND prints (stdout and stderr, as a terminal shows
    them); or
  - a ```sh block in which a command is followed at once by `# ` comment
    lines: those lines are lines of its output, in order (the doc may show
    only some of them, e.g. three headers of `curl -D -`). Every command of
    such a block runs, in order; one without comment lines must exit 0 and
    print no control-plane error (`{"error": ...}`).
A ```sh block whose commands show no output at all is a `commands` block:
each command must exit 0 and print no control-plane error.
A block's ID is the slug of the heading above it and its number among the
```sh and ```text blocks under that heading (`troupe-ctl.2`).

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
import signal
import subprocess
import sys
import time

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


class Block:
    def __init__(self, ident, line, kind, first):
        self.ident = ident
        self.line = line      # line number of the block's first line
        self.kind = kind      # transcript, commands or text
        self.first = first    # its first line that is not empty
        self.commands = []


def parse(doc):
    lines = open(doc, encoding="utf-8").read().split("\n")
    heading = "top"
    per_heading = {}
    blocks = []
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
            kind = "transcript" if cmds else "text"
        elif lang == "sh":
            cmds = parse_sh_block(body, start)
            if any(c.expected for c in cmds):
                kind = "transcript"
            else:
                kind = "commands" if cmds else "text"
        else:
            continue
        n = per_heading[heading] = per_heading.get(heading, 0) + 1
        first = next((b.strip() for b in body if b.strip()), "")
        b = Block(f"{heading}.{n}", start, kind, first)
        b.commands = cmds
        blocks.append(b)
    return blocks


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
    return cmds


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


def ok(ident, where, text):
    print(f"ok   - {ident} ({where}): $ {text}")


def run(doc, ident, port, cwd, bindir, opts):
    found = [b for b in parse(doc) if b.ident == ident]
    if not found or not found[0].commands:
        print(f"FAIL - {ident}: no block of commands with this ID in {doc}")
        return 1
    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    skip = []
    if opts.skip:
        skip = [x.strip() for x in open(opts.skip, encoding="utf-8")
                if x.strip()]
    skipped = set()
    if opts.save:
        os.makedirs(opts.save, exist_ok=True)
        index = open(os.path.join(opts.save, "index"), "w", encoding="utf-8")
    exports = []
    failed = 0
    background = None  # (Popen, its log, the command's text)
    n = 0
    for c in found[0].commands:
        if opts.include and not re.search(opts.include, c.text):
            continue
        if opts.exclude and re.search(opts.exclude, c.text):
            continue
        where = f"{os.path.basename(doc)}:{c.line}"
        if c.text.strip() in skip:
            skipped.add(c.text.strip())
            print(f"skip - not runnable here: {ident} ({where}): $ {c.text}")
            continue
        if opts.run_only and not re.search(opts.run_only, c.text):
            failed += 1
            print(f"FAIL - {ident} ({where}): $ {c.text}: this test neither "
                  "runs it nor lists it as not runnable here: decide which")
            continue
        cmd = c.text.replace(DOC_ADDR, f"127.0.0.1:{port}")
        for r in opts.replace:
            old, new = r.split("=", 1)
            cmd = cmd.replace(old, new)
        script = "\n".join(exports + [cmd])
        if re.match(r"^export\s", c.text):
            exports.append(cmd)
        n += 1
        if opts.save:
            env["DOC_SAVE"] = os.path.join(opts.save, str(n))
        if opts.background and re.search(opts.background, c.text):
            log_path = os.path.join(cwd, f"background.{n}.log")
            log = open(log_path, "wb")
            p = subprocess.Popen(["bash", "-c", script], cwd=cwd, env=env,
                                 stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT,
                                 start_new_session=True)
            deadline = time.monotonic() + 60
            ready = False
            while time.monotonic() < deadline and p.poll() is None:
                with open(log_path, "rb") as f:
                    if opts.ready.encode() in f.read():
                        ready = True
                        break
                time.sleep(0.05)
            background = (p, log_path, c.text, where)
            if ready:
                print(f"ok   - {ident} ({where}): $ {c.text} "
                      f"(in the background; it logged '{opts.ready}')")
                continue
            failed += 1
            print(f"FAIL - {ident} ({where}): $ {c.text}: started in the "
                  f"background, it did not log '{opts.ready}' (exit "
                  f"{p.poll()})")
            print(f"    | command run: {cmd}")
            for g in open(log_path, encoding="utf-8",
                          errors="replace").read().split("\n")[-40:]:
                print("    | app> " + clip(g))
            continue
        try:
            p = subprocess.run(["bash", "-c", script], cwd=cwd, env=env,
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=90)
            got_raw = p.stdout.decode("utf-8", "replace").split("\n")
            code = p.returncode
            if opts.save:
                with open(env["DOC_SAVE"] + ".out", "wb") as f:
                    f.write(p.stdout)
        except subprocess.TimeoutExpired:
            got_raw, code = ["(no answer within 90 s)"], None
        if opts.save:
            index.write(f"{n}\t{code}\t{c.text}\n")
            index.flush()
        want = normalise(x.replace(DOC_ADDR, f"127.0.0.1:{port}")
                         for x in c.expected)
        got = normalise(got_raw)
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
            ok(ident, where, c.text)
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
    if background is not None:
        p, log_path, text, where = background
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if p.returncode == 0:
            print(f"ok   - {ident} ({where}): SIGTERM stops $ {text} (exit 0)")
        else:
            failed += 1
            print(f"FAIL - {ident} ({where}): $ {text}: exit {p.returncode} "
                  "after SIGTERM, expected 0")
            for g in open(log_path, encoding="utf-8",
                          errors="replace").read().split("\n")[-40:]:
                print("    | app> " + clip(g))
    for x in skip:
        if x not in skipped:
            failed += 1
            print(f"FAIL - {ident}: '{x}' is listed as not runnable here but "
                  "is no command of the block: update the list")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["list", "commands", "run"])
    ap.add_argument("doc")
    ap.add_argument("ident", nargs="?")
    ap.add_argument("--port", default="8080")
    ap.add_argument("--cwd", default=".")
    ap.add_argument("--bin", default="")
    ap.add_argument("--include")
    ap.add_argument("--exclude")
    ap.add_argument("--skip")
    ap.add_argument("--run-only")
    ap.add_argument("--replace", action="append", default=[])
    ap.add_argument("--background")
    ap.add_argument("--ready", default="running; Ctrl-C stops")
    ap.add_argument("--save")
    a = ap.parse_args()
    if a.what == "list":
        for b in parse(a.doc):
            print(b.ident, b.line, b.kind, b.first)
        return 0
    if a.what == "commands":
        for b in parse(a.doc):
            if b.ident == a.ident:
                for c in b.commands:
                    print(c.text)
        return 0
    return run(a.doc, a.ident, a.port, a.cwd, a.bin, a)


if __name__ == "__main__":
    sys.exit(main())
