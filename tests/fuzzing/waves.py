"""Family ``waves``: byte-level mutation of SPSS/Stata files through ``sid info`` / ``validate``.

Sources: the pyreadstat corpus (read in place, never copied into the
repository) and synthetic waves (``sid synth`` plus small .sav/.zsav/.dta/.por
cuts of them). Mutants are written to a scratch folder and read by the CLI in
a forked child, so a segfault in ReadStat is seen as a crash (signal 11).
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

from fuzzing.core import CORPUS, DATA, Context, Family, save_bytes
from fuzzing.oracle import Finding, cli_findings, snapshot_dirs, snapshot_files
from fuzzing.runner import run_cli

INTERESTING = (0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE, 0x20, 0x3F, 0x40)
BIG32 = (10**9, 2**31 - 1, -1, -(2**31), 0, 2**30, 65536)


def _small_synthetic(ctx: Context) -> list[Path]:
    """300-row cuts of the synthetic 2022 wave in every format the reader knows."""
    import pyreadstat

    out = ctx.work / "wave_sources"
    out.mkdir(parents=True, exist_ok=True)
    files = [out / n for n in ("small.sav", "small.zsav", "small.dta", "small.por")]
    if all(f.is_file() for f in files):
        return files
    df, meta = pyreadstat.read_sav(str(ctx.synth / "sid2022.sav"), row_limit=300,
                                   user_missing=True)
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    vvl = {k: v for k, v in meta.variable_value_labels.items()}
    pyreadstat.write_sav(df, str(files[0]), column_labels=labels, variable_value_labels=vvl,
                         missing_ranges=meta.missing_ranges or None)
    pyreadstat.write_sav(df, str(files[1]), column_labels=labels, variable_value_labels=vvl,
                         compress=True)
    pyreadstat.write_dta(df, str(files[2]), column_labels=labels, version=15)
    short = {c: f"v{k}" for k, c in enumerate(df.columns)}  # .por names: at most 8 characters
    pyreadstat.write_por(df.rename(columns=short), str(files[3]),
                         column_labels={short[c]: lab for c, lab in labels.items()})
    return files


def sources(ctx: Context) -> list[Path]:
    corpus = sorted(p for p in CORPUS.glob("*") if p.suffix in (".sav", ".zsav", ".dta", ".por"))
    synth = [ctx.synth / "sid2022.sav", ctx.synth / "sid2022.dta"]
    return [*corpus, *_small_synthetic(ctx), *synth]


def _header_field(data: bytearray, suffix: str, rng: random.Random) -> str:
    """Overwrite a header field that declares a size: rows, case size, compression, ..."""
    if suffix in (".sav", ".zsav") and len(data) >= 92:
        little = data[64:68] in (b"\x02\x00\x00\x00", b"\x03\x00\x00\x00")
        fmt = "<i" if little else ">i"
        offset, what = rng.choice([(80, "ncases"), (68, "nominal_case_size"),
                                   (72, "compression"), (76, "weight_index")])
        value = rng.choice(BIG32) if what != "compression" else rng.choice((0, 1, 2, 3, 255))
        data[offset:offset + 4] = struct.pack(fmt, value)
        return f"{what}={value}"
    if suffix == ".dta":
        pos = data.find(b"<N>")
        if pos >= 0:
            release = data[data.find(b"<release>") + 9:data.find(b"<release>") + 12]
            width = 8 if release in (b"118", b"119", b"121") else 4
            order = "<" if b"LSF" in data[:80] else ">"
            value = rng.choice((10**9, 2**31 - 1, 2**40, 0))
            value = min(value, 2**32 - 1) if width == 4 else value
            data[pos + 3:pos + 3 + width] = struct.pack(order + ("Q" if width == 8 else "I"), value)
            return f"N={value}"
        pos = data.find(b"<K>")
        if len(data) > 10:  # old format: nobs at byte 6
            data[6:10] = struct.pack("<I", 10**9)
            return "old-nobs=1e9"
    return _flip(data, rng, header=True)


def _flip(data: bytearray, rng: random.Random, header: bool = False) -> str:
    span = min(len(data), 4096) if header else len(data)
    done = []
    for _ in range(rng.randint(1, 4)):
        if not span:
            break
        pos = rng.randrange(span)
        if rng.random() < 0.5:
            bit = rng.randrange(8)
            data[pos] ^= 1 << bit
            done.append(f"flip@{pos}.{bit}")
        else:
            val = rng.choice(INTERESTING)
            data[pos] = val
            done.append(f"set@{pos}={val:#x}")
    return ",".join(done)


def mutate(raw: bytes, suffix: str, rng: random.Random) -> tuple[bytes, str]:
    """One mutant of ``raw`` and a short description of what was done."""
    data = bytearray(raw)
    op = rng.choice(["flip", "flip", "header_flip", "header_flip", "header_field", "header_field",
                     "truncate", "insert", "delete", "duplicate", "zero_block"])
    if op == "flip":
        what = _flip(data, rng)
    elif op == "header_flip":
        what = _flip(data, rng, header=True)
    elif op == "header_field":
        what = _header_field(data, suffix, rng)
    elif op == "truncate":
        cut = rng.randrange(len(data)) if rng.random() < 0.5 else rng.randrange(min(len(data), 2048))
        del data[cut:]
        what = f"truncate@{cut}"
    elif op == "insert":
        pos = rng.randrange(len(data) + 1)
        blob = bytes(rng.randrange(256) for _ in range(rng.choice((1, 4, 8, 100))))
        data[pos:pos] = blob
        what = f"insert@{pos}+{len(blob)}"
    elif op == "delete":
        pos = rng.randrange(len(data))
        n = rng.choice((1, 4, 8, 64))
        del data[pos:pos + n]
        what = f"delete@{pos}-{n}"
    elif op == "duplicate":
        pos = rng.randrange(len(data))
        n = rng.choice((8, 64, 512))
        data[pos:pos] = data[pos:pos + n]
        what = f"duplicate@{pos}+{n}"
    else:
        pos = rng.randrange(len(data))
        n = rng.choice((4, 16, 256))
        data[pos:pos + n] = bytes(min(n, len(data) - pos))
        what = f"zero@{pos}+{n}"
    return bytes(data), f"{op}:{what}"


class WaveFamily(Family):
    name = "waves"
    cost = 0.4

    def setup(self, ctx: Context) -> None:
        ctx.cache["wave_sources"] = sources(ctx)
        ctx.cache["wave_raw"] = {}

    def one(self, rng: random.Random, i: int, ctx: Context) -> list[Finding]:
        src: Path = rng.choice(ctx.cache["wave_sources"])
        raw_cache = ctx.cache["wave_raw"]
        if src not in raw_cache:
            raw_cache[src] = src.read_bytes()
        raw = raw_cache[src]
        mutant, what = mutate(raw, src.suffix, rng)
        case = ctx.case_dir(self.name, i)
        target = case / f"mutant{src.suffix}"
        target.write_bytes(mutant)
        roll = rng.random()
        if roll < 0.5:
            args = ["info", str(target)] + (["--json"] if rng.random() < 0.3 else [])
            if src.suffix == ".por" and rng.random() < 0.5 or rng.random() < 0.1:
                args += ["--encoding", rng.choice(["windows-1252", "utf-8", "latin1", "bogus"])]
            allowed = (0, 2)
        elif roll < 0.85:
            args = ["validate", f"2022={target}", "--codebook", str(DATA / "sid.yaml")]
            if rng.random() < 0.7:
                args.append("--no-origin")
            allowed = (0, 1, 2)
        else:
            args = ["codebook", "init", str(target), "--wave", "2022"]
            allowed = (0, 2)
        inputs = snapshot_files([target, src])
        dirs = snapshot_dirs([case])
        recipe = {"source": str(src), "mutation": what, "args": args}
        res = run_cli(args, timeout=ctx.timeout, memory=ctx.memory, cwd=case)
        found = cli_findings(self.name, recipe, "sid " + " ".join(args), res,
                             inputs_before=inputs, dirs_before=dirs, allowed_exit=allowed)
        if found:
            saved = save_bytes(ctx.findings, f"waves-{i}{src.suffix}", mutant)
            for f in found:
                f.saved = [saved] if saved else []
        ctx.done(case)
        return found
