#!/usr/bin/env python3
"""Clang's thread-safety analysis (-Wthread-safety -Werror) over every src/ file.

`make lint` runs it after `cmake --preset tsa`, which writes BUILD_DIR (build-tsa) with
clang++ and the flags: each src/ translation unit of BUILD_DIR/compile_commands.json is
checked with -fsyntax-only (nothing is compiled to objects or linked), JOBS at a time.
Exits 1 when any file has an error (a GUARDED_BY field used without its lock, a
REQUIRES function called without it, ...), printing clang's messages.

Skipped: src/backends/torchscript/torchscript_backend.cc (LibTorch's full headers, the
slowest file by far for clang; it has no locks of its own). cpu_engine.cc, which has
annotated locks, is checked.

usage: thread-safety-check.py BUILD_DIR [JOBS [FILE...]]
  FILE: check only the src/ files whose path ends with one of these (e.g. task_pool.cc).
"""
import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

SKIP = ("src/backends/torchscript/torchscript_backend.cc",)


def syntax_only(entry):
    args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
    out = []
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
        elif arg == "-o":
            skip_next = True
        elif arg != "-c":
            out.append(arg)
    return out[:-1] + ["-fsyntax-only", out[-1]]


def check(entry):
    started = time.monotonic()
    result = subprocess.run(syntax_only(entry), cwd=entry["directory"], capture_output=True,
                            text=True)
    return entry["file"], result.returncode, result.stderr, time.monotonic() - started


def main():
    build_dir = sys.argv[1]
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count() or 1
    only = sys.argv[3:]
    source_dir = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
    src = os.path.join(source_dir, "src") + os.sep
    with open(os.path.join(build_dir, "compile_commands.json")) as f:
        entries = [e for e in json.load(f)
                   if os.path.realpath(e["file"]).startswith(src)
                   and not any(os.path.realpath(e["file"]).endswith(s) for s in SKIP)
                   and (not only or any(e["file"].endswith(s) for s in only))]
    started = time.monotonic()
    failed = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for file, rc, stderr, _ in pool.map(check, entries):
            if rc != 0:
                failed += 1
                sys.stderr.write(stderr)
    print(f"thread-safety check: {len(entries)} files, {failed} failed, "
          f"{time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
