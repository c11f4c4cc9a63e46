"""sid: a toolkit for the Flemish survey Samenleven in Diversiteit (SID).

Reading waves, codebooks and harmonisation, origin (herkomst) rules, survey
designs, weighting, design-based estimation and Excel table books. Heavy
modules are imported lazily so that ``sid --help`` starts fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "read_wave": "sid.io",
    "write_wave": "sid.io",
    "scan_wave": "sid.io",
    "make_wave": "sid.io",
    "Wave": "sid.io",
    "load": "sid.harmonise",
    "HarmonisedData": "sid.harmonise",
    "read_codebook": "sid.codebook",
    "Codebook": "sid.codebook",
    "evaluate": "sid.expr",
    "validate": "sid.validation",
    "classify": "sid.origin",
    "Design": "sid.design",
    "estimate": "sid.estimate",
    "compare": "sid.estimate",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sid' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
