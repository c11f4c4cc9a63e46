"""Benchmark: load + harmonise + origin for a large synthetic wave, against plain pyreadstat.

Builds a ``sid2022.sav`` of N rows (default 1e6) with the synthetic schema
(``sid.synthetic.make_wave_frame``) in a temporary folder, then times in the
same run:

* ``pyreadstat.read_sav(path, user_missing=True)``: the plain read (baseline);
* ``sid.harmonise.load([path], codebooks/sid.yaml)``: read + rename + missing
  kinds + recodes + filters + derived variables;
* ``sid.origin.classification`` on the harmonised nationality fields.

Prints rows per second and the ratio (sid total / plain read); the aim is a
ratio under 3. Usage: ``python scripts/bench_codebook.py [N]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(n: int = 1_000_000) -> None:
    import pyreadstat

    from sid.harmonise import load
    from sid.io import write_wave
    from sid.synthetic import make_wave_frame

    codebook = ROOT / "sid" / "data" / "sid.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sid2022.sav"
        t0 = time.perf_counter()
        write_wave(make_wave_frame(n, wave=2022), path)
        print(f"built {n:,} rows in {time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")

        t0 = time.perf_counter()
        frame, _ = pyreadstat.read_sav(str(path), user_missing=True)
        plain = time.perf_counter() - t0
        del frame

        t0 = time.perf_counter()
        data = load([path], codebook)
        t_load = time.perf_counter() - t0

        t_origin = 0.0
        try:
            from sid.origin import classify
        except ImportError:
            print("sid.origin not available: origin not timed")
        else:
            spec = data.codebook.origin
            t0 = time.perf_counter()
            classify(data.data, rule=spec.rule, ref_date="2022-01-01", fields=dict(spec.fields))
            t_origin = time.perf_counter() - t0

    total = t_load + t_origin
    print(f"plain pyreadstat.read_sav : {plain:6.2f} s  {n / plain:12,.0f} rows/s")
    print(f"sid load + harmonise      : {t_load:6.2f} s  {n / t_load:12,.0f} rows/s")
    print(f"sid origin classify       : {t_origin:6.2f} s")
    print(f"sid total                 : {total:6.2f} s  {n / total:12,.0f} rows/s")
    print(f"ratio (sid total / plain) : {total / plain:6.2f}  (aim < 3)")


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000)
