"""`%%provision`: marks a cell that talks to the AWS control plane.

In local and aws mode the cell runs as written (against the emulator or your account). In byo
mode there is no control plane (the instructor provisioned the servers), so the cell prints
that and skips: the notebook reads the same in every mode, with no `if mode ==` to read around.

    %load_ext helpers.provision
"""
from __future__ import annotations

import itertools
import linecache

from helpers.config import resolve_mode

SKIPPED = "byo mode: skipped. This cell talks to AWS; your instructor's cache and database are used instead."
_cells = itertools.count(1)


def run_cell(cell: str, namespace: dict, transform=lambda source: source, echo=print) -> None:
    """Run the cell's code in the notebook's namespace, or say why it is skipped (byo mode)."""
    if resolve_mode() == "byo":
        echo(SKIPPED)
        return
    source = transform(cell)
    filename = f"<provision cell {next(_cells)}>"
    # Registered so a traceback shows the cell's own lines, as it does for a plain cell.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - the learner's own cell


def load_ipython_extension(ipython) -> None:
    def provision(line, cell):
        run_cell(cell, ipython.user_ns, transform=ipython.transform_cell)

    ipython.register_magic_function(provision, magic_kind="cell", magic_name="provision")
