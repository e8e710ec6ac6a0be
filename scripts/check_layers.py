#!/usr/bin/env python3
"""Checks that the module graph of core/src has no import loop, and that no
`Drop` impl spawns on whatever runtime happens to be current.

An edge goes from a file to the file that defines what it names (`use`
paths and inline `crate::`/`super::` paths, outside `#[cfg(test)]` modules);
a re-export (`pub use`) is followed to the item's own file, so a module's
facade re-exporting its children is not a dependency of theirs. A module
file that names its child's items directly (`child::item`) depends on the
child. Prints every loop and exits 1 when there is one.
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "core/src"

ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:unsafe\s+)?"
    r"(?:struct|enum|fn|type|const|static|trait|mod|macro_rules!)\s+(\w+)",
    re.M,
)
USE = re.compile(r"^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M)
INLINE = re.compile(r"\b(crate|super)((?:::\w+)+)")


def strip_tests(src):
    return re.split(r"#\[cfg\(test\)\](?:\s*//[^\n]*|\s*#\[[^\]]*\])*\s*(?:pub\s+)?mod \w+", src)[0]


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (as segment lists)."""
    tree = tree.strip()
    if "{" not in tree:
        return [[s.strip() for s in tree.split(" as ")[0].split("::") if s.strip()]]
    head, inner = tree.split("{", 1)
    inner = inner.rsplit("}", 1)[0]
    parts, depth, buf = [], 0, ""
    for ch in inner:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    parts.append(buf)
    base = [s for s in head.split("::") if s.strip()]
    out = []
    for p in parts:
        if p.strip():
            for sub in expand(p):
                out.append(base + sub)
    return out


files = {}
for d, _, names in os.walk(ROOT):
    for n in names:
        if n.endswith(".rs"):
            p = os.path.join(d, n)
            files[module_of(p)] = (p, strip_tests(open(p, encoding="utf-8").read()))

defined = {m: set(ITEM.findall(src)) for m, (_, src) in files.items()}


def absolute(m, segs, is_dir):
    """Segments of a path written in module `m` made absolute."""
    here = list(m) if is_dir else list(m[:-1])
    if not segs:
        return None
    if segs[0] == "crate":
        return segs[1:]
    if segs[0] == "self":
        return list(m) + segs[1:]
    out = here if segs[0] == "super" else None
    if segs[0] == "super":
        # `super` from a file is its directory's parent module.
        out = list(m[:-1])
        segs = segs[1:]
        while segs and segs[0] == "super":
            out = out[:-1]
            segs = segs[1:]
        return out + segs
    # A relative path naming a child module of this one.
    child = tuple(list(m) + [segs[0]]) if is_dir else None
    if child and child in files:
        return list(m) + segs
    return None


reexports = {}
for m, (p, src) in files.items():
    is_dir = p.endswith(("mod.rs", "lib.rs"))
    for vis, tree in USE.findall(src):
        if not vis:
            continue
        for segs in expand(tree):
            target = absolute(m, segs, is_dir)
            if target:
                reexports.setdefault(m, {})[segs[-1]] = target


def owner(path, seen=0):
    """The file that defines the item an absolute path names."""
    for i in range(len(path), 0, -1):
        mod = tuple(path[:i])
        if mod in files:
            rest = path[i:]
            if not rest or rest[0] in defined[mod] or seen > 8:
                return mod
            target = reexports.get(mod, {}).get(rest[0])
            if target:
                return owner(target + rest[1:], seen + 1)
            return mod
    return None


edges = {m: set() for m in files}
for m, (p, src) in files.items():
    is_dir = p.endswith(("mod.rs", "lib.rs"))
    paths = []
    for vis, tree in USE.findall(src):
        # A re-export is an alias, followed by `owner`, not a dependency.
        if not vis:
            paths.extend(expand(tree))
    for kind, rest in INLINE.findall(src):
        paths.append([kind] + [s for s in rest.split("::") if s])
    if is_dir:
        code = USE.sub("", src)
        for child in re.findall(r"(?<![:\w])(\w+)::\w+", code):
            if tuple(list(m) + [child]) in files:
                paths.append(["self", child] + [])
    for segs in paths:
        target = absolute(m, segs, is_dir)
        t = owner(target) if target else None
        if t is not None and t != m and t != ():
            edges[m].add(t)

sys.setrecursionlimit(10000)
index, low, stack, on, loops, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            loops.append(sorted("::".join(c) or "crate" for c in comp))


for v in sorted(files):
    if v not in index:
        visit(v)
if os.environ.get("LAYERS_DEBUG"):
    for m in sorted(edges):
        print("::".join(m), "->", sorted("::".join(t) for t in edges[m]))
for comp in loops:
    print("import loop:", " <-> ".join(comp))

# A `Drop` that spawns with `tokio::spawn` or on `Handle::try_current()` does
# nothing when dropped outside a runtime (a host thread dropping a stream):
# what it meant to release leaks. A drop spawns on a handle it captured.
bad_drops = []
for m, (p, src) in files.items():
    for found in re.finditer(r"impl(?:<[^>]*>)?\s+Drop\s+for\s+\w+[^{]*\{", src):
        depth, i = 1, found.end()
        while i < len(src) and depth:
            depth += {"{": 1, "}": -1}.get(src[i], 0)
            i += 1
        body = src[found.end():i]
        if "tokio::spawn" in body or "Handle::try_current" in body:
            bad_drops.append(p)
for p in bad_drops:
    print(f"{p}: a Drop impl spawns with tokio::spawn or on Handle::try_current()")
if loops or bad_drops:
    sys.exit(1)
print(f"no import loop among the {len(files)} modules of {ROOT}")
