"""Compare two folders written by `sid synth`: the same synthetic data, value by value.

For every ``.sav``/``.dta`` file: the data frames read back by pyreadstat (user-missing
codes kept) must be equal exactly, and so must the metadata (variable labels, value
labels, missing codes, measures, formats, file label, row count).
``population_margins.csv`` must be byte-identical; ``truth.json`` too, except the
floats under ``models`` (census regression fits), which may differ within 1e-12
relative: they are sums of products whose last bits depend on how they are summed.
Used to check that a speed-up of `sid synth` left the data of a seed unchanged:

    git archive <before> | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before .venv/bin/sid synth --out /tmp/a --seed 7
    .venv/bin/sid synth --out /tmp/b --seed 7
    .venv/bin/python scripts/compare_synth.py /tmp/a /tmp/b

Exit status 0 when the folders agree, 1 otherwise (each difference printed).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

META = ("column_names", "column_labels", "variable_value_labels", "missing_ranges",
        "missing_user_values", "variable_measure", "original_variable_types",
        "readstat_variable_types", "file_label", "number_rows", "variable_display_width")


def wave_differences(a: Path, b: Path) -> list[str]:
    import pandas as pd
    import pyreadstat

    read = pyreadstat.read_sav if a.suffix == ".sav" else pyreadstat.read_dta
    data_a, meta_a = read(str(a), user_missing=True)
    data_b, meta_b = read(str(b), user_missing=True)
    out = []
    try:
        pd.testing.assert_frame_equal(data_a, data_b, check_exact=True)
    except AssertionError as exc:
        out.append(f"{a.name}: data differ: {str(exc).strip().splitlines()[0]}")
    out += [f"{a.name}: {attr} differs" for attr in META
            if getattr(meta_a, attr, None) != getattr(meta_b, attr, None)]
    return out


def truth_differences(a: Any, b: Any, path: str = "") -> Iterator[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            yield f"truth.json{path}: keys differ"
            return
        for key in a:
            yield from truth_differences(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, float) and isinstance(b, float) and "/models/" in path:
        if not math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15):
            yield f"truth.json{path}: {a!r} vs {b!r}"
    elif a != b or type(a) is not type(b):
        yield f"truth.json{path}: {a!r} vs {b!r}"


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    first, second = Path(sys.argv[1]), Path(sys.argv[2])
    names = sorted({p.name for p in first.iterdir()} | {p.name for p in second.iterdir()})
    problems: list[str] = []
    for name in names:
        a, b = first / name, second / name
        if not (a.is_file() and b.is_file()):
            problems.append(f"{name}: only in one folder")
        elif a.suffix in (".sav", ".dta"):
            problems += wave_differences(a, b)
        elif name == "truth.json":
            problems += truth_differences(json.loads(a.read_text(encoding="utf-8")),
                                          json.loads(b.read_text(encoding="utf-8")))
        elif a.read_bytes() != b.read_bytes():
            problems.append(f"{name}: bytes differ")
    for line in problems:
        print(line)
    print(f"{'SAME' if not problems else 'DIFFERENT'}: {first} {second} ({len(names)} files)")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
