"""How the benchmark scripts start `sid` as a process (shared by bench_synth and bench_tables).

:func:`sid_command` is the installed console script; :func:`tree_command` runs the ``sid``
package that ``import sid`` finds, so with ``PYTHONPATH=TREE`` a ``--baseline`` source
tree's, by that tree's own entry point (``console``, which leaves by ``os._exit``, where the
tree has it, else ``main``). ``-P`` keeps the current folder off ``sys.path``: run from a
checkout, ``python -c`` would otherwise import the checkout's sid instead of the tree's.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

LAUNCH = "import sid.cli as c; getattr(c, 'console', c.main)()"


def tree_command() -> list[str]:
    """``sid`` from the package ``import sid`` finds (set ``PYTHONPATH`` for a tree)."""
    return [sys.executable, "-P", "-c", LAUNCH]


def sid_command() -> list[str]:
    """The installed ``sid`` script (this interpreter's, else on PATH), else :func:`tree_command`."""
    exe = Path(sys.executable).parent / "sid"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("sid")
    if found:
        return [found]
    return tree_command()
