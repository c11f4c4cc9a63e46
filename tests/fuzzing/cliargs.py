"""Family ``cli``: ``sid estimate`` / ``sid crosstab`` argument combinations on a synthetic wave.

Statistics on every kind of variable (continuous, labelled categorical, one
level, the id, text, all missing, absent), domains and ``--where`` subsets that
select nobody, one person or everybody, CI methods and levels out of range,
and designs: plain weights, strata and PSUs, a design YAML, replicate weights
with one column, Fay's rho = 1, bootstrap with ``--rscales`` files with and
without a header, too short or too long. Besides the general oracle, an
estimate written as CSV with exit 0 must have finite estimates whose interval
holds them (``ci_low <= estimate <= ci_high``), and no output may print
``nan``.
"""

from __future__ import annotations

import io
import random
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fuzzing.core import Context, Family
from fuzzing.oracle import Finding, cli_findings, snapshot_dirs, snapshot_files
from fuzzing.runner import run_cli

KEEP = ["respid", "stratum", "psu", "base_wt", "herkomst_frame", "geslacht", "lft", "gewest",
        "werksituatie", "werkbeh", "vertrouwen", "religie", "opleiding", "nat_huidig",
        "reden_taal"]
VARS = ["lft", "vertrouwen", "werksituatie", "herkomst_frame", "een", "respid", "nat_huidig",
        "nope", "werkbeh", "reden_taal", "geslacht"]
BYS = ["herkomst_frame", "geslacht", "een", "respid", "nope", "geslacht,herkomst_frame",
       "werkbeh", "nat_huidig", "lft"]
WHERES = ["lft > 200", "lft >= 0", "werksituatie in [1, 2]",
          "herkomst_frame == 6 and geslacht == 2 and lft > 84", "nope == 1", "lft >",
          "een == 1", "isna(werkbeh)", "religie == 99", "respid == 220002", "nat_huidig == 'BE'",
          "lft ** 2 > 3", "respid < 0"]


def build_fixture(ctx: Context) -> dict[str, Path]:
    """est.sav / est.csv with replicate weights, a one-level variable; rscales and design files."""
    import pyreadstat

    d = ctx.work / "cli_fixture"
    files = {"sav": d / "est.sav", "csv": d / "est.csv"}
    if files["sav"].is_file():
        return {p.stem if p.suffix != ".sav" and p.suffix != ".csv" else p.suffix[1:]: p
                for p in d.iterdir()} | files
    d.mkdir(parents=True, exist_ok=True)
    df, meta = pyreadstat.read_sav(str(ctx.synth / "sid2022.sav"), usecols=KEEP)
    rng = np.random.default_rng(7)
    df["een"] = 1.0
    for k in range(1, 5):
        df[f"repw_{k}"] = df["base_wt"] * rng.poisson(1.0, len(df))
    df["solo"] = df["base_wt"] * rng.poisson(1.0, len(df))
    vvl = {k: v for k, v in meta.variable_value_labels.items() if k in df.columns}
    vvl["een"] = {1.0: "iedereen"}
    pyreadstat.write_sav(df, str(files["sav"]), variable_value_labels=vvl)
    df.to_csv(files["csv"], index=False)
    extra = {
        "rs_header": "rscale\n0.25\n0.25\n0.25\n0.25\n",
        "rs_plain": "0.25\n0.25\n0.25\n0.25\n",
        "rs_long": "0.25\n0.25\n0.25\n0.25\n0.25\n",
        "rs_short": "0.25\n0.25\n",
        "rs_text": "a\nb\nc\nd\n",
        "rs_empty": "",
        "rs_nan": "rscale\nNaN\n0.25\n-1\ninf\n",
        "design_ok": "weight: base_wt\nstrata: stratum\npsu: psu\n",
        "design_bad": "weight: [1, 2]\nstrata: {a: 1}\n",
        "design_list": "- weight\n- base_wt\n",
        "design_nested": "design:\n  weight: nope\n  psu: 7\n",
        "design_reps": "weight: base_wt\nrepweights: '^repw_'\nrepmethod: bootstrap\n"
                       "rscales: rs_plain.csv\n",
        "design_unknown": "weigth: base_wt\n",
        "design_empty": "",
        "design_bomb": "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                       "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nweight: base_wt\n",
    }
    for name, text in extra.items():
        suffix = ".csv" if name.startswith("rs_") else ".yaml"
        (d / f"{name}{suffix}").write_text(text, encoding="utf-8")
        files[name] = d / f"{name}{suffix}"
    return files


def design_args(rng: random.Random, f: dict[str, Path]) -> list[str]:
    choice = rng.choice(["weight", "weight", "strata_psu", "bad_weight", "design", "reps",
                         "reps_one", "fay", "reps_rscales", "reps_bad", "none", "fpc",
                         "singleton"])
    if choice == "weight":
        return ["--weight", "base_wt"]
    if choice == "strata_psu":
        return ["--weight", "base_wt", "--strata", "stratum", "--psu", "psu"]
    if choice == "bad_weight":
        return ["--weight", rng.choice(["nope", "lft", "een", "nat_huidig", "werkbeh", "respid"])]
    if choice == "design":
        name = rng.choice(["design_ok", "design_bad", "design_list", "design_nested", "design_reps",
                           "design_unknown", "design_empty", "design_bomb"])
        return ["--design", str(f[name])]
    if choice == "reps":
        return ["--weight", "base_wt", "--repweights", "^repw_",
                "--repmethod", rng.choice(["bootstrap", "jk1", "brr", "jkn"])]
    if choice == "reps_one":
        return ["--weight", "base_wt", "--repweights", rng.choice(["^solo$", "^repw_1$"]),
                "--repmethod", rng.choice(["bootstrap", "jk1", "jkn", "fay", "brr"])]
    if choice == "fay":
        return ["--weight", "base_wt", "--repweights", "^repw_", "--repmethod", "fay", "--rho",
                rng.choice(["1", "0.5", "0", "-1", "2", "nan"])]
    if choice == "reps_rscales":
        rs = rng.choice(["rs_header", "rs_plain", "rs_long", "rs_short", "rs_text", "rs_empty",
                         "rs_nan"])
        return ["--weight", "base_wt", "--repweights", "^repw_", "--repmethod",
                rng.choice(["bootstrap", "jkn"]), "--rscales", str(f[rs])]
    if choice == "reps_bad":
        return ["--weight", "base_wt", "--repweights", rng.choice(["[", "nomatch", ".*", "^lft$"]),
                "--repmethod", "bootstrap"]
    if choice == "fpc":
        return ["--weight", "base_wt", "--strata", "stratum", "--fpc", rng.choice(["lft", "een",
                                                                                  "base_wt"])]
    if choice == "singleton":
        return ["--weight", "base_wt", "--strata", rng.choice(["respid", "stratum"]), "--psu",
                "respid", "--singleton", rng.choice(["fail", "adjust", "average", "remove",
                                                     "certainty"])]
    return []


def estimate_args(rng: random.Random, f: dict[str, Path]) -> list[str]:
    args = ["estimate", str(f[rng.choice(["sav", "sav", "csv"])])]
    stats = rng.choice([1, 1, 1, 1, 0, 2])
    for _ in range(stats):
        stat = rng.choice(["--mean", "--total", "--prop", "--ratio", "--quantile"])
        if stat == "--ratio":
            var = rng.choice(["lft/vertrouwen", "lft/een", "lft", "a/b/c", "lft/nope",
                              "lft/werkbeh", "vertrouwen/lft"])
        else:
            var = rng.choice(VARS)
        args += [stat, var]
        if stat == "--quantile" or rng.random() < 0.1:
            for _ in range(rng.choice([0, 1, 1, 2])):
                args += ["--q", rng.choice(["0.5", "0", "1", "-0.1", "1.5", "nan", "0.25"])]
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        args += ["--by", rng.choice(BYS)]
    if rng.random() < 0.5:
        args += ["--where", rng.choice(WHERES)]
    if rng.random() < 0.5:
        args += ["--ci", rng.choice(["wald", "t", "logit", "xlogit", "asin", "beta"])]
    if rng.random() < 0.2:
        args += ["--conf-level", rng.choice(["0", "1", "0.5", "1.5", "-1", "nan", "0.999999"])]
    if rng.random() < 0.2:
        args.append("--deff")
    args += ["--format", rng.choice(["table", "csv", "csv", "json"])]
    if args[1].endswith(".csv") and rng.random() < 0.2:
        args += ["--encoding", rng.choice(["latin-1", "utf-16", "bogus"])]
    return args + design_args(rng, f)


def crosstab_args(rng: random.Random, f: dict[str, Path]) -> list[str]:
    names = ["herkomst_frame", "geslacht", "een", "werksituatie", "respid", "nope", "lft",
             "nat_huidig", "werkbeh"]
    row = rng.choice(names)
    col = row if rng.random() < 0.1 else rng.choice(names)
    args = ["crosstab", str(f[rng.choice(["sav", "sav", "csv"])]), row, col]
    if rng.random() < 0.4:
        args += ["--where", rng.choice(WHERES)]
    if rng.random() < 0.4:
        args += ["--percent", rng.choice(["row", "col", "cell"])]
    if rng.random() < 0.3:
        args += ["--ci", rng.choice(["logit", "t", "wald"])]
    if rng.random() < 0.2:
        args += ["--conf-level", rng.choice(["0", "1", "1.5", "nan"])]
    if rng.random() < 0.3:
        args += ["--suppress-below", rng.choice(["1", "30", "-5", "1000000000"])]
    args += ["--format", rng.choice(["table", "csv", "json"])]
    return args + design_args(rng, f)


def one_twist(rng: random.Random, f: dict[str, Path]) -> list[str]:
    """A valid estimate or crosstab with exactly one option drawn from the wild."""
    twist = rng.choice(["stat", "by", "where", "ci", "conf", "design", "design", "q", "deff"])
    if rng.random() < 0.75:
        args = ["estimate", str(f["sav"]), "--mean", "lft"]
        if twist == "stat":
            stat = rng.choice(["--mean", "--total", "--prop", "--ratio", "--quantile"])
            var = (rng.choice(["lft/vertrouwen", "lft/een", "lft/werkbeh"]) if stat == "--ratio"
                   else rng.choice(VARS))
            args = ["estimate", str(f["sav"]), stat, var]
            if stat == "--quantile":
                args += ["--q", "0.5"]
        elif twist == "q":
            args = ["estimate", str(f["sav"]), "--quantile", "lft", "--q",
                    rng.choice(["0", "1", "-0.1", "1.5", "nan", "0.25"])]
        elif twist == "by":
            args += ["--by", rng.choice(BYS)]
        elif twist == "where":
            args[2:4] = [rng.choice(["--mean", "--prop", "--total"]),
                         rng.choice(["lft", "werksituatie"])]
            args += ["--where", rng.choice(WHERES)]
        elif twist == "ci":
            args[2:4] = ["--prop", rng.choice(["geslacht", "werksituatie", "een", "werkbeh"])]
            args += ["--ci", rng.choice(["wald", "t", "logit", "xlogit", "asin", "beta"])]
            if rng.random() < 0.5:
                args += ["--by", rng.choice(["herkomst_frame", "geslacht"])]
        elif twist == "conf":
            args += ["--conf-level", rng.choice(["0", "1", "0.5", "1.5", "-1", "nan", "0.999999"])]
        elif twist == "deff":
            args += ["--deff", "--by", "herkomst_frame"]
        args += ["--format", rng.choice(["csv", "csv", "table", "json"])]
    else:
        args = ["crosstab", str(f["sav"]), "geslacht", "werksituatie"]
        if twist in ("stat", "by", "q"):
            names = ["herkomst_frame", "een", "respid", "nope", "lft", "nat_huidig", "werkbeh",
                     "geslacht"]
            args[rng.choice([2, 3])] = rng.choice(names)
        elif twist == "where":
            args += ["--where", rng.choice(WHERES)]
        elif twist in ("ci", "deff"):
            args += ["--ci", rng.choice(["logit", "t", "wald"]), "--percent",
                     rng.choice(["row", "col", "cell"])]
        elif twist == "conf":
            args += ["--conf-level", rng.choice(["0", "1", "1.5", "nan"])]
        args += ["--format", rng.choice(["table", "csv", "json"])]
    design = design_args(rng, f) if twist == "design" else ["--weight", "base_wt"]
    return args + (design or ["--weight", "base_wt"])


def interval_problems(stdout: str) -> list[str]:
    """For an estimate printed as CSV: non-finite estimates, intervals that miss them."""
    try:
        table = pd.read_csv(io.StringIO(stdout))
    except Exception:  # noqa: BLE001 - not CSV: nothing to check here
        return []
    if not {"estimate", "ci_low", "ci_high"} <= set(table.columns):
        return []
    out = []
    for _, r in table.iterrows():
        est, lo, hi = (pd.to_numeric(r[c], errors="coerce") for c in ("estimate", "ci_low",
                                                                      "ci_high"))
        if not np.isfinite(est):
            out.append(f"estimate {est} ({r.get('category', '')})")
        elif np.isfinite(lo) and np.isfinite(hi) and not (
                lo - 1e-12 * max(1, abs(est)) <= est <= hi + 1e-12 * max(1, abs(est))):
            out.append(f"interval [{lo:.6g}, {hi:.6g}] does not hold estimate {est:.6g} "
                       f"({r.get('ci_method', '')})")
    return out


class CliArgsFamily(Family):
    name = "cli"
    cost = 0.5

    def setup(self, ctx: Context) -> None:
        ctx.cache.setdefault("cli_files", build_fixture(ctx))

    def one(self, rng: random.Random, i: int, ctx: Context) -> list[Finding]:
        f = ctx.cache["cli_files"]
        if rng.random() < 0.6:  # a valid command with one thing changed: reaches deeper
            args = one_twist(rng, f)
        else:
            args = estimate_args(rng, f) if rng.random() < 0.7 else crosstab_args(rng, f)
        inputs = snapshot_files(list(f.values()))
        case = ctx.case_dir(self.name, i)
        dirs = snapshot_dirs([case, f["sav"].parent])
        command = "sid " + shlex.join(args)
        recipe: dict[str, Any] = {"args": args}
        res = run_cli(args, timeout=ctx.timeout, memory=ctx.memory, cwd=case)
        found = cli_findings(self.name, recipe, command, res, inputs_before=inputs,
                             dirs_before=dirs)
        rscales = args[args.index("--rscales") + 1] if "--rscales" in args else ""
        if res.status == "exit" and rscales.endswith("rs_long.csv") and res.exit_code == 0:
            found.append(Finding(self.name, "rscales-misread", "exit 0 with one rscale more than "
                                 "there are replicates (the first number was taken as a header)",
                                 recipe, command, cause="rscales header"))
        if (res.status == "exit" and rscales.endswith("rs_plain.csv") and res.exit_code == 2
                and "rscales has length" in res.stderr):
            found.append(Finding(self.name, "rscales-misread", "a plain list of one rscale per "
                                 "replicate refused: " + res.stderr.strip()[:160], recipe, command,
                                 cause="rscales header"))
        if res.status == "exit" and res.exit_code == 0:
            fmt = args[args.index("--format") + 1]
            if fmt == "csv" and args[0] == "estimate":
                bad = interval_problems(res.stdout)
                if bad:
                    kind = "nan-output" if bad[0].startswith("estimate") else "bad-interval"
                    found.append(Finding(self.name, kind, "; ".join(bad[:3]), recipe, command,
                                         cause=kind + ":" + _shape(args)))
            elif fmt == "table" and (" nan" in res.stdout or "nan%" in res.stdout):
                found.append(Finding(self.name, "nan-output", "exit 0 with nan in the output: "
                                     + res.stdout.strip()[:200], recipe, command,
                                     cause="nan:" + _shape(args)))
        ctx.done(case)
        return found


def _shape(args: list[str]) -> str:
    """The flags of a command line (no values), to group findings."""
    return " ".join([args[0], *sorted({a for a in args if a.startswith("--")} - {"--format"})])
