"""The ``sid`` command line: one module per command family, registered on :data:`main`.

Each command imports what it needs inside its body, so ``sid --help`` starts
fast. Every :class:`sid.errors.SidError` becomes one line on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

from sid.cli import (  # noqa: F401  (importing registers the commands)
    codebook_cmd,
    estimate_cmd,
    info_cmd,
    init_cmd,
    model_cmd,
    origin_cmd,
    plan_cmd,
    synth_cmd,
    tables_cmd,
    weight_cmd,
)
from sid.cli.app import SidGroup, console, design_from_options, design_options, main

__all__ = ["SidGroup", "console", "design_from_options", "design_options", "main"]
