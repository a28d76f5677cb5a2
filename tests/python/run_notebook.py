#!/usr/bin/env python3
"""Executes a notebook from scratch and fails when a cell fails (ctest: python_notebook_...).

The notebook runs in a fresh python3 kernel (ipykernel, started by nbclient with this process's
environment, so PYTHONPATH, made absolute, reaches `import critmin`) from the notebook's own
directory; outputs
committed with it are ignored. A cell that raises, an assert included, fails the test with the
cell's source and traceback. It also fails when the notebook prints nothing at all, which would
mean its cells ran but showed no answer.

Usage: run_notebook.py NOTEBOOK [--timeout SECONDS_PER_CELL]
"""
import argparse
import os
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("notebook")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    args = parser.parse_args()
    path = pathlib.Path(args.notebook).resolve()
    # The kernel starts in the notebook's directory: a relative PYTHONPATH (build/python) would
    # no longer point at the package there.
    if os.environ.get("PYTHONPATH"):
        os.environ["PYTHONPATH"] = os.pathsep.join(
            os.path.abspath(p) for p in os.environ["PYTHONPATH"].split(os.pathsep) if p)
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    # ipykernel's debugger otherwise warns on stderr about frozen modules at every start.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    client = NotebookClient(notebook, timeout=args.timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    started = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as error:
        print(f"{path.name}: a cell failed:\n{error}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    shown = sum(1 for c in code_cells for o in c.outputs
                if o.get("output_type") in ("stream", "execute_result", "display_data"))
    if shown == 0:
        print(f"{path.name}: every cell ran but none showed anything", file=sys.stderr)
        return 1
    print(f"{path.name}: {len(code_cells)} code cells ran in {seconds:.1f} s, {shown} outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
