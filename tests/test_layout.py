#!/usr/bin/env python3
"""The code's layout rules (issue 19), checked on the source tree:
- the exporters (tools/export*.c) name no built-in component: every layer
  and activation exports through its own capabilities;
- each file of the runner (tools/*.c) stays under 500 lines;
- no function in core/, data/, experiment/ or tools/ passes 80 lines;
- no two files of one library call each other, directly or round a cycle
  (core, data, experiment, tools; tensorboard, mpi);
- core/internal.h declares only nnk__* functions.
Usage: test_layout.py SRC NNKIT (NNKIT lists the built-in components)."""
import glob, os, re, subprocess, sys

src, nnkit = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what)


def code_of(path):
    """The file's text without comments and string literals."""
    s = open(path, encoding="utf-8").read()
    s = re.sub(r"/\*.*?\*/", "", s, flags=re.S)
    s = re.sub(r"//[^\n]*", "", s)
    return re.sub(r'"(\\.|[^"\\\n])*"', '""', s)


# 1. exporters name no built-in component
listing = subprocess.run([nnkit, "plugins"], capture_output=True, text=True, check=True).stdout
builtin, kind = set(), None
for line in listing.splitlines():
    if line.endswith(":") and not line.startswith(" "):
        kind = line[:-1]
    elif kind in ("layers", "activations") and line.startswith("  ") and not line.startswith("    "):
        builtin.add(line.split()[0])
check(len(builtin) >= 15, "nnkit plugins lists %d built-in layers and activations" % len(builtin))
for path in sorted(glob.glob(os.path.join(src, "tools", "export*.c"))):
    text = open(path, encoding="utf-8").read()
    named = sorted(n for n in builtin if re.search(r'"%s"' % re.escape(n), text))
    check(not named, "%s names built-in components %s" % (os.path.relpath(path, src), named))

# 2. the runner's files
for path in sorted(glob.glob(os.path.join(src, "tools", "*.c"))):
    n = sum(1 for _ in open(path, encoding="utf-8"))
    check(n < 500, "%s has %d lines (each file of the runner stays under 500)" % (os.path.relpath(path, src), n))

# 3. functions of at most about 80 lines
dirs = ["core", "data", "experiment", "tools"]
for d in dirs:
    for path in sorted(glob.glob(os.path.join(src, d, "*.c"))):
        lines = open(path, encoding="utf-8").read().split("\n")
        name, start = None, None
        for i, line in enumerate(lines):
            if re.match(r"^[A-Za-z].*\(", line) and not line.rstrip().endswith(";"):
                name = re.sub(r"\(.*", "", line).split()[-1].lstrip("*")
            if line.startswith("{") and name:
                start = i
            if line.startswith("}") and start is not None:
                n = i - start + 1
                check(n <= 80, "%s: function %s has %d lines (at most 80)" % (os.path.relpath(path, src), name, n))
                name, start = None, None

# 4. no file cycles within a library
def cycles(files):
    defs, code = {}, {}
    for f in files:
        code[f] = code_of(f)
        for m in re.finditer(r"^(?!static)[A-Za-z_][A-Za-z0-9_ \*]*?\b([a-z_][a-z0-9_]*)\s*\([^;{]*\)\s*\{", code[f], re.M):
            defs.setdefault(m.group(1), f)
    edges = {f: {defs[n] for n in set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", code[f])) if n in defs and defs[n] != f}
             for f in files}
    found, state = [], {}

    def visit(f, stack):
        state[f] = 1
        stack.append(f)
        for g in edges[f]:
            if state.get(g) == 1:
                found.append(stack[stack.index(g):] + [g])
            elif g not in state:
                visit(g, stack)
        stack.pop()
        state[f] = 2

    for f in files:
        if f not in state:
            visit(f, [])
    return found


for d in dirs + ["tensorboard", "mpi"]:
    files = sorted(glob.glob(os.path.join(src, d, "*.c")))
    for cyc in cycles(files):
        check(False, "files call each other: " + " -> ".join(os.path.relpath(f, src) for f in cyc))
    check(True, "%s: no file cycles" % d)

# 5. internal names
internal = code_of(os.path.join(src, "core", "internal.h"))
bad = sorted(set(n for n in re.findall(r"\b(nnk_[a-z0-9_]+)\s*\(", internal) if not n.startswith("nnk__")))
public = code_of(os.path.join(src, "core", "include", "nnkit", "nnkit.h"))
bad = [n for n in bad if not re.search(r"\b%s\s*\(" % n, public)]
check(not bad, "core/internal.h declares functions named like the API: %s" % bad)

print("layout: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
