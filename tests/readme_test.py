#!/usr/bin/env python3
"""Runs the commands a Markdown file shows and checks the output it shows (ctest: readme...).

The convention, also written in README.md ("About the examples"):
  * In a fenced code block, a line starting with "$ " is a command; a line ending in "\\" goes on
    with the next line. The lines after it, up to the next command or the end of the block, are
    its output (stdout and stderr together).
  * A line "..." stands for any number of output lines, none included.
  * A shown line ending in " ..." stands for a real line that starts with the text before it.
  * Every other shown line must equal a real line (trailing blanks aside), in order.
  * A command shown without output must succeed (exit 0); one with output must print it, and may
    fail only when the output it shows is an error ("critmin: error").
  * The commands of one block run in one shell, in a fresh directory holding links to the build's
    binary and Python package (build/python), scenarios/ and data/; `python3` is the interpreter
    the package was built for (--python, CMake's CRITMIN_PYTHON_EXECUTABLE); so `$TOKEN` set by one command is there for the next, and a
    server started with `&` is stopped when the block ends.
  * A block whose first line is "<!-- not run -->" in the Markdown before it is shown, not run
    (kept for commands that need another machine, e.g. a cluster).
  * A block that uses build/python is skipped (exit 77, ctest's "skipped") in a build without the
    Python package.

Usage: readme_test.py MARKDOWN --source-dir DIR --build-dir DIR [--python FILE] [--block N]
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

MARKER = "@@critmin-readme-command@@"
# The exit code of a block that this build cannot run (ctest's SKIP_RETURN_CODE).
SKIPPED = 77


def blocks_of(markdown):
    """The fenced code blocks that hold commands: (first line number, lines)."""
    lines = markdown.split("\n")
    blocks, inside, start, body, skip_next = [], False, 0, [], False
    for number, line in enumerate(lines, 1):
        if not inside and line.strip() == "<!-- not run -->":
            skip_next = True
            continue
        if line.startswith("```"):
            if inside:
                if any(l.startswith("$ ") for l in body) and not skip_next:
                    blocks.append((start, body))
                skip_next = False
                inside, body = False, []
            else:
                inside, start = True, number + 1
            continue
        if inside:
            body.append(line)
    return blocks


def commands_of(body):
    """[(command text, [shown output lines])] of one block."""
    out, i = [], 0
    while i < len(body):
        line = body[i]
        if not line.startswith("$ "):
            i += 1
            continue
        command = line[2:]
        while command.endswith("\\") and i + 1 < len(body):
            i += 1
            command = command[:-1] + " " + body[i].strip()
        i += 1
        shown = []
        while i < len(body) and not body[i].startswith("$ "):
            shown.append(body[i])
            i += 1
        while shown and not shown[-1].strip():
            shown.pop()
        out.append((command, shown))
    return out


def matches(shown, real):
    """Whether the real lines show the shown ones, with the elisions; the first mismatch else."""
    real = [l.rstrip() for l in real]

    def match_from(s, r):
        if s == len(shown):
            return None if r == len(real) else f"extra output from line {r + 1}: {real[r]!r}"
        want = shown[s].rstrip()
        if want == "...":
            best = None
            for skip in range(r, len(real) + 1):
                problem = match_from(s + 1, skip)
                if problem is None:
                    return None
                best = best or problem
            return best
        if r == len(real):
            return f"output ends before {want!r}"
        if want.endswith(" ...") and real[r].startswith(want[:-4]):
            return match_from(s + 1, r + 1)
        if want == real[r]:
            return match_from(s + 1, r + 1)
        return f"line {r + 1}: shown {want!r}, printed {real[r]!r}"

    return match_from(0, 0)


def run_block(start, body, source_dir, build_dir, name, python=None):
    commands = commands_of(body)
    work = pathlib.Path(tempfile.mkdtemp(prefix="critmin_readme_"))
    try:
        (work / "build").mkdir()
        os.symlink(build_dir / "critmin", work / "build" / "critmin")
        if (build_dir / "python").is_dir():
            os.symlink(build_dir / "python", work / "build" / "python")
        environment = dict(os.environ)
        if python:
            # The README's `python3` is the interpreter the package was built for, even where
            # another python3 (pyenv, a venv) comes first on the PATH.
            (work / ".bin").mkdir()
            os.symlink(python, work / ".bin" / "python3")
            environment["PATH"] = f"{work / '.bin'}{os.pathsep}{environment.get('PATH', '')}"
        for linked in ("scenarios", "data", "docs"):
            os.symlink(source_dir / linked, work / linked)
        script = ["set +e", "trap 'kill $(jobs -p) 2>/dev/null' EXIT"]
        for command, _ in commands:
            script.append(f"echo '{MARKER}'")
            script.append(f"{command} 2>&1")
            script.append(f"echo \"{MARKER} $?\"")
        result = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=environment,
                                capture_output=True, text=True, timeout=1200)
        parts = result.stdout.split(MARKER + "\n")[1:]
        failures = []
        for index, (command, shown) in enumerate(commands):
            if index >= len(parts):
                failures.append(f"{name}:{start}: `{command}` did not run")
                continue
            text, _, tail = parts[index].rpartition(MARKER + " ")
            code = int(tail.split()[0]) if tail.split() else -1
            real = text.split("\n")
            if real and real[-1] == "":
                real.pop()
            shows_error = any("critmin: error" in l for l in shown)
            if not shown:
                if code != 0:
                    failures.append(f"{name}:{start}: `{command}` exited {code}:\n" +
                                    "\n".join(real[-20:]))
                continue
            if code != 0 and not shows_error:
                failures.append(f"{name}:{start}: `{command}` exited {code}:\n" +
                                "\n".join(real[-20:]))
                continue
            problem = matches(shown, real)
            if problem:
                failures.append(f"{name}:{start}: `{command}`: {problem}\nprinted:\n" +
                                "\n".join(real))
        return failures
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("markdown")
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--python", help="the interpreter `python3` runs in the blocks")
    parser.add_argument("--block", type=int, help="run only the block starting at this line")
    parser.add_argument("--list", action="store_true", help="print the blocks' first lines")
    args = parser.parse_args()
    markdown_path = pathlib.Path(args.markdown)
    blocks = blocks_of(markdown_path.read_text())
    if args.list:
        for start, _ in blocks:
            print(start)
        return 0
    failures = []
    if args.block is not None and all(start != args.block for start, _ in blocks):
        failures.append(f"{markdown_path.name}: no code block with commands starts at line "
                        f"{args.block}; the file changed: configure again (cmake) to list them")
    build_dir = pathlib.Path(args.build_dir).resolve()
    skipped = 0
    for start, body in blocks:
        if args.block is not None and start != args.block:
            continue
        if any("build/python" in command for command, _ in commands_of(body)) and \
                not (build_dir / "python").is_dir():
            # Builds without the Python package (no pybind11, sanitizer builds) cannot run it.
            print(f"{markdown_path.name}:{start}: skipped: this build has no Python package "
                  f"(build/python)")
            skipped += 1
            continue
        failures += run_block(start, body, pathlib.Path(args.source_dir).resolve(),
                              pathlib.Path(args.build_dir).resolve(), markdown_path.name,
                              args.python)
    for failure in failures:
        print(failure, file=sys.stderr)
    if failures:
        return 1
    return SKIPPED if skipped and args.block is not None else 0


if __name__ == "__main__":
    sys.exit(main())
