"""Family ``outputs``: where a command is told to write, for every command with an output.

Each case copies the command's inputs into a fresh folder and points one
output option (``--out``, ``--report``, ``--plots``) at: an input itself, a
symlink or a hard link to it, a ``sub/../input`` spelling of it, an existing
folder, a file where a folder is expected, a read-only folder (the child drops
root to ``nobody`` so the permission holds), a missing parent, or the other
output of the same command. An output that is an input must be refused (exit
2) with the input byte-identical; after any failure no new file may remain.
"""

from __future__ import annotations

import os
import random
import shlex
import shutil
from pathlib import Path
from typing import Any

import yaml

from fuzzing.core import DATA, Context, Family
from fuzzing.oracle import Finding, cli_findings, snapshot_dirs, snapshot_files
from fuzzing.runner import run_cli, run_in_child

NOBODY = 65534
KINDS = ("input", "symlink", "hardlink", "dotdot", "dir", "file_for_dir", "readonly",
         "missing_parent", "other_output", "fresh")
SAME_AS_INPUT = ("input", "symlink", "hardlink", "dotdot")


def mini_spec(folder: Path) -> Path:
    """The shipped table spec cut to its first table (a table book in seconds)."""
    doc = yaml.safe_load((DATA / "tables" / "sid_kerntabellen.yaml").read_text(encoding="utf-8"))
    doc["tables"] = doc["tables"][:1]
    path = folder / "tabellen.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def commands(case: Path, ctx: Context, rng: random.Random) -> tuple[list[str], dict[str, str],
                                                                     list[Path], str]:
    """(argv with {OUT} placeholders, option -> suffix, inputs, name) of one command."""
    small = ctx.cache["outputs_small"]
    name = rng.choice(["weight_out", "weight_report", "weight_both", "estimate", "crosstab",
                       "origin", "codebook_export", "tables_out", "tables_plots", "synth"]
                      if rng.random() > 0.03 else ["synth"])
    if name.startswith("weight"):
        ins = [shutil.copy(ctx.synth / n, case / n) for n in
               ("sid2022.sav", "sid2022_gross.sav", "population_margins.csv")]
        spec = shutil.copy(DATA / "weighting" / "sid2022.yaml", case / "sid2022.yaml")
        wave, gross, margins = (Path(p) for p in ins)
        argv = ["weight", str(wave), "--spec", str(spec), "--gross", str(gross), "--margins",
                str(margins), "--out", "{OUT}"]
        outs = {"--out": ".sav"}
        if name == "weight_report":
            argv[-1] = str(case / "gewogen.sav")
            argv += ["--report", "{OUT}"]
            outs = {"--report": ".xlsx"}
        elif name == "weight_both":
            argv += ["--report", "{OUT2}"]
            outs = {"--out": ".sav", "--report": ".xlsx"}
        return argv, outs, [wave, gross, margins, Path(spec)], name
    data = Path(shutil.copy(small, case / "golf2022.sav"))
    if name == "estimate":
        return (["estimate", str(data), "--mean", "lft", "--weight", "base_wt", "--format",
                 rng.choice(["csv", "table"]), "--out", "{OUT}"], {"--out": ".csv"}, [data], name)
    if name == "crosstab":
        return (["crosstab", str(data), "geslacht", "werksituatie", "--weight", "base_wt",
                 "--out", "{OUT}"], {"--out": ".txt"}, [data], name)
    if name == "origin":
        return (["origin", str(data), "--id", "respid", "--out", "{OUT}"], {"--out": ".csv"},
                [data], name)
    codebook = Path(shutil.copy(DATA / "sid.yaml", case / "sid.yaml"))
    if name == "codebook_export":
        return (["codebook", "export", str(codebook), "--out", "{OUT}"],
                {"--out": rng.choice([".md", ".xlsx"])}, [codebook], name)
    if name.startswith("tables"):
        spec = mini_spec(case)
        argv = ["tables", str(spec), "--data", f"2022={data}", "--codebook", str(codebook),
                "--no-chart"]
        if name == "tables_out":
            return [*argv, "--out", "{OUT}"], {"--out": ".xlsx"}, [data, codebook, spec], name
        return ([*argv, "--out", str(case / "boek.xlsx"), "--plots", "{OUT}"],
                {"--plots": "/"}, [data, codebook, spec], name)
    return ["synth", "--out", "{OUT}", "--seed", "3"], {"--out": "/"}, [], name


def place(kind: str, case: Path, inputs: list[Path], suffix: str, rng: random.Random
          ) -> tuple[str, Path | None]:
    """The output path for ``kind`` (creating what it needs) and the input it aliases."""
    if kind in SAME_AS_INPUT and inputs:
        target = rng.choice(inputs)
        if kind == "input":
            return str(target), target
        if kind == "symlink":
            link = case / f"link{target.suffix}"
            link.symlink_to(target)
            return str(link), target
        if kind == "hardlink":
            link = case / f"hard{target.suffix}"
            os.link(target, link)
            return str(link), target
        (case / "sub").mkdir(exist_ok=True)
        return str(case / "sub" / ".." / target.name), target
    folder_out = suffix == "/"
    ext = "" if folder_out else suffix
    if kind == "dir":
        d = case / f"map{ext}"
        d.mkdir()
        (d / "bestaand.txt").write_text("blijf\n")
        return str(d), None
    if kind == "file_for_dir":
        f = case / "gewoon_bestand"
        f.write_text("geen map\n")
        return str(f) if folder_out else str(f / f"uit{ext}"), None
    if kind == "readonly":
        d = case / "alleen_lezen"
        d.mkdir()
        os.chmod(d, 0o555)
        return str(d / ("uit" if folder_out else f"uit{ext}")), None
    if kind == "missing_parent":
        return str(case / "bestaat_niet" / "dieper" / ("uit" if folder_out else f"uit{ext}")), None
    return str(case / ("uit" if folder_out else f"uit{ext}")), None


def _as_nobody(args: list[str]) -> Any:
    from fuzzing.runner import _cli_main

    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    os.environ["MPLCONFIGDIR"] = "/tmp"
    return _cli_main(args)


class OutputsFamily(Family):
    name = "outputs"
    cost = 2.5

    def setup(self, ctx: Context) -> None:
        if "outputs_small" not in ctx.cache:
            from fuzzing.waves import _small_synthetic

            ctx.cache["outputs_small"] = _small_synthetic(ctx)[0]
        os.chmod(ctx.work, 0o755)  # the read-only case runs as nobody
        for p in (ctx.work / "cases", ctx.synth):
            p.mkdir(parents=True, exist_ok=True)
            os.chmod(p, 0o755)

    def one(self, rng: random.Random, i: int, ctx: Context) -> list[Finding]:
        case = ctx.case_dir(self.name, i)
        os.chmod(case, 0o777)
        argv, outs, inputs, name = commands(case, ctx, rng)
        option = rng.choice(sorted(outs))
        kind = rng.choice(KINDS)
        if kind == "other_output" and len(outs) < 2:
            kind = "input"
        if kind in SAME_AS_INPUT and not inputs:
            kind = "fresh"
        aliased = None
        placeholder = "{OUT}" if argv[argv.index(option) + 1] == "{OUT}" else "{OUT2}"
        if kind == "other_output":
            path = str(case / "zelfde.sav")
            argv = [path if a in ("{OUT}", "{OUT2}") else a for a in argv]
        else:
            path, aliased = place(kind, case, inputs, outs[option], rng)
            argv = [path if a == placeholder else a for a in argv]
            other = {"{OUT}": "{OUT2}", "{OUT2}": "{OUT}"}[placeholder]
            other_option = next((o for o in outs if o != option), None)
            if other in argv and other_option:
                argv = [str(case / f"ander{outs[other_option]}") if a == other else a for a in argv]
        for p in case.rglob("*"):
            if p.is_file() and not p.is_symlink():
                os.chmod(p, 0o666)
            elif p.is_dir() and p.name != "alleen_lezen":
                os.chmod(p, 0o777)
        # the inputs themselves (a link given as output is not an input: replacing the link
        # instead of writing through it keeps the data, but still writes "onto an input")
        before = snapshot_files(inputs)
        dirs = snapshot_dirs([case])
        recipe = {"command": name, "option": option, "kind": kind, "path": path,
                  "aliases": str(aliased) if aliased else None}
        command = "sid " + shlex.join(argv)
        if kind == "readonly":
            res = run_in_child(_as_nobody, argv, timeout=ctx.timeout, memory=ctx.memory)
        else:
            res = run_cli(argv, timeout=ctx.timeout, memory=ctx.memory, cwd=case)
        found = cli_findings(self.name, recipe, command, res, inputs_before=before,
                             dirs_before=dirs)
        ok = res.status == "exit" and res.exit_code == 0
        modified = any(f.kind == "modified-input" for f in found)
        if ok and not modified and (kind in SAME_AS_INPUT or kind == "other_output"):
            found.append(Finding(self.name, "output-over-input",
                                 f"exit 0 writing {option} onto {'the other output' if kind == 'other_output' else 'an input'} "
                                 f"({kind}); must be refused", recipe, command,
                                 cause=f"{name} {option} {kind}"))
        if ok and kind in ("dir", "readonly", "file_for_dir") and outs[option] != "/":
            found.append(Finding(self.name, "bad-output-accepted",
                                 f"exit 0 with {option} at a {kind} path", recipe, command,
                                 cause=f"{name} {option} {kind}"))
        for f in found:
            f.cause = f.cause or f"{name} {option} {kind}"
        ctx.done(case)
        return found
