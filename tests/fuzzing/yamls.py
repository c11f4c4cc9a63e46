"""Family ``yaml``: structure-aware mutation of every shipped YAML, through the public loaders.

Each mutant changes one to three places of a parsed shipped file (wrong type
at any nesting level, renamed/dropped/unknown keys, lists for scalars, empty
containers) or splices hostile text into it (alias bombs, 1,000-deep nesting,
5,000-digit integers, a Python tag, non-UTF-8 bytes, truncation). The loader
runs in a forked child: it must return or raise a SidError. Loaders that pass
are followed by the step that uses the file (run the weighting chain on a
synthetic wave, classify a frame, check a table spec against the codebook,
validate a wave against the codebook), where a wrong type one level down
would otherwise surface as a pandas traceback.
"""

from __future__ import annotations

import copy
import random
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from fuzzing.core import DATA, Context, Family, save_bytes
from fuzzing.oracle import Finding, api_findings
from fuzzing.runner import run_in_child

MARK = "FUZZMARK"

WRONG: tuple[Any, ...] = (7, -1, 0, 1.5, float("nan"), float("inf"), "medain", "", True, False,
                          None, [], {}, [1, "a"], {"x": 1}, 10**30, "2022-13-45", "1e400",
                          [[1, 2], [3]], "respid", -0.0, "ééé", 2**63)


def hostile(rng: random.Random, marker_file: Path) -> tuple[str, str]:
    """(description, YAML text) of a hostile value to splice in as flow text."""
    kind = rng.choice(["alias_bomb", "deep", "deep_map", "huge_int", "huge_neg", "huge_float",
                       "python_tag", "long_string", "self_alias", "wide_alias"])
    if kind == "alias_bomb":
        parts = ["&a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
        parts += [f"&a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, 9)]
        return kind, "[" + ", ".join(parts) + "]"
    if kind == "wide_alias":
        return kind, "[&x " + "[" + ", ".join(["1"] * 1000) + "], " + ", ".join(["*x"] * 1000) + "]"
    if kind == "deep":
        n = rng.choice((100, 1000, 10000))
        return f"deep{n}", "[" * n + "1" + "]" * n
    if kind == "deep_map":
        n = rng.choice((100, 1000))
        return f"deep_map{n}", "{a: " * n + "1" + "}" * n
    if kind == "huge_int":
        n = rng.choice((400, 4301, 5000, 100_000))
        return f"huge_int{n}", "9" * n
    if kind == "huge_neg":
        return kind, "-" + "1" * 5000
    if kind == "huge_float":
        return kind, rng.choice(("1e999", "-1e999", ".inf", ".nan", "1" * 400 + ".5"))
    if kind == "python_tag":
        return kind, f"!!python/object/apply:os.system [\"touch {marker_file}\"]"
    if kind == "self_alias":
        return kind, "&s [1, *s]"
    return kind, '"' + "x" * rng.choice((10_000, 1_000_000)) + '"'


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.append((*prefix, i))
            out += _paths(v, (*prefix, i))
    return out


def _parent(obj: Any, path: tuple[Any, ...]) -> Any:
    for p in path[:-1]:
        obj = obj[p]
    return obj


def _typo(key: Any, rng: random.Random) -> Any:
    text = str(key)
    if not text:
        return "x"
    op = rng.randrange(4)
    i = rng.randrange(len(text))
    if op == 0:
        return text[:i] + text[i + 1:] or "y"
    if op == 1:
        return text[:i] + rng.choice("aeiouxz_") + text[i:]
    if op == 2:
        return text.upper()
    return text + "s"


def mutate_tree(obj: Any, rng: random.Random, marker_file: Path) -> tuple[Any, list[str], dict[str, str]]:
    """Mutate a parsed document in place; returns (doc, recipe steps, marker -> hostile text)."""
    steps: list[str] = []
    splices: dict[str, str] = {}
    for n in range(rng.choice((1, 1, 1, 2, 3))):
        paths = _paths(obj)
        if not paths:
            break
        path = rng.choice(paths)
        parent = _parent(obj, path)
        key = path[-1]
        op = rng.choice(["wrong_type", "wrong_type", "wrong_type", "list_scalar", "rename",
                         "drop", "unknown_key", "dup_item", "empty", "hostile"])
        where = ".".join(map(str, path))
        if op == "wrong_type":
            value = rng.choice(WRONG)
            parent[key] = copy.deepcopy(value)
            steps.append(f"{where} = {value!r}"[:120])
        elif op == "list_scalar":
            value = parent[key]
            if isinstance(value, list):
                parent[key] = value[0] if value else "x"
            elif isinstance(value, dict):
                parent[key] = list(value)
            else:
                parent[key] = [value]
            steps.append(f"{where}: list<->scalar")
        elif op == "rename" and isinstance(parent, dict):
            new = _typo(key, rng)
            items = [(new if k == key else k, v) for k, v in parent.items()]
            parent.clear()
            parent.update(items)
            steps.append(f"{where}: renamed to {new!r}")
        elif op == "drop":
            del parent[key]
            steps.append(f"{where}: dropped")
        elif op == "unknown_key":
            target = parent[key] if isinstance(parent[key], dict) else parent
            if isinstance(target, dict):
                target["onbekende_sleutel"] = 1
                steps.append(f"{where}: unknown key added")
        elif op == "dup_item" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
            steps.append(f"{where}: item duplicated")
        elif op == "empty":
            parent[key] = rng.choice(([], {}, "", None))
            steps.append(f"{where}: emptied to {parent[key]!r}")
        else:
            desc, text = hostile(rng, marker_file)
            marker = f"{MARK}{n}"
            parent[key] = marker
            splices[marker] = text
            steps.append(f"{where} = <{desc}>")
    return obj, steps, splices


def text_mutation(raw: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Raw-text damage: non-UTF-8 bytes, truncation, tabs, BOM, CRLF, lost or doubled lines."""
    op = rng.choice(["latin1", "bad_byte", "truncate", "tab", "bom", "crlf", "dup_line",
                     "del_line", "nul"])
    lines = raw.split(b"\n")
    if op == "latin1":
        return raw.decode("utf-8").encode("latin-1", "replace") + "\n# é".encode("latin-1"), op
    if op == "bad_byte":
        pos = rng.randrange(len(raw))
        return raw[:pos] + bytes([rng.choice((0xFF, 0xC3, 0x80, 0xE9))]) + raw[pos:], f"{op}@{pos}"
    if op == "truncate":
        pos = rng.randrange(len(raw))
        return raw[:pos], f"{op}@{pos}"
    if op == "tab":
        i = rng.randrange(len(lines))
        lines[i] = b"\t" + lines[i]
        return b"\n".join(lines), f"{op}@line{i + 1}"
    if op == "bom":
        return b"\xef\xbb\xbf" + raw, op
    if op == "crlf":
        return raw.replace(b"\n", b"\r\n"), op
    if op == "nul":
        pos = rng.randrange(len(raw))
        return raw[:pos] + b"\x00" + raw[pos:], f"{op}@{pos}"
    i = rng.randrange(len(lines))
    if op == "dup_line":
        lines.insert(i, lines[i])
    else:
        del lines[i]
    return b"\n".join(lines), f"{op}@line{i + 1}"


def render(doc: Any, splices: dict[str, str]) -> bytes:
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000)
    for marker, payload in splices.items():
        text = re.sub(rf"(['\"]?){marker}\1", lambda _m, p=payload: p, text)
    return text.encode("utf-8")


# ------------------------------------------------------------------ what each file goes through

def load_codebook_and_validate(path: str, wave_file: str, deep: bool) -> str:
    from sid.codebook import read_codebook

    cb = read_codebook(path)
    if deep:
        from sid.validation import validate

        result = validate([f"2022={wave_file}"], path, origin=False)
        return f"codebook ok, validate ok={result.ok}"
    return f"codebook ok: {len(cb.names)} names"


def load_rules_and_classify(path: str, frame: Any) -> str:
    from sid.origin import classify, load_rules

    rules = load_rules(path)
    out = classify(frame, rule=path, ref_date="2022-01-01", on_unknown="fallback")
    return f"{rules.name}: {len(out)} rows"


def load_weighting_and_run(path: str, data: dict[str, Any]) -> str:
    from sid.weighting import load_spec, run_spec

    spec = load_spec(path)
    chain = run_spec(spec, data["wave"], gross=data["gross"], margins_table=data["margins"],
                     missing=data["missing"])
    return f"weights sum {float(chain.weights.sum()):.6g}"


def load_table_spec(path: str, codebook_path: str) -> str:
    from sid.codebook import read_codebook
    from sid.tables import check_spec, read_spec

    book = read_spec(path)
    problems = check_spec(book, read_codebook(codebook_path))
    return f"{len(book.tables)} tables, {len(problems)} problems"


TARGETS = {
    "codebook": [DATA / "sid.yaml"],
    "rules": sorted(p for p in (DATA / "origin").glob("*.yaml") if p.stem != "groupings"),
    "groupings": [DATA / "origin" / "groupings.yaml"],
    "weighting": sorted((DATA / "weighting").glob("*.yaml")),
    "tables": sorted((DATA / "tables").glob("*.yaml")),
}


class YamlFamily(Family):
    name = "yaml"
    cost = 0.5

    def setup(self, ctx: Context) -> None:
        if "yaml_data" in ctx.cache:
            return
        import pandas as pd

        from sid.io import read_wave

        data = {}
        for year in ("2017", "2022"):
            wave = read_wave(ctx.synth / f"sid{year}.sav")
            data[year] = {
                "wave": wave.data,
                "gross": read_wave(ctx.synth / f"sid{year}_gross.sav").data,
                "margins": pd.read_csv(ctx.synth / "population_margins.csv"),
                "missing": {v.name: wave.user_missing_mask(v.name)
                            for v in wave.meta.variables if v.missing},
            }
        ctx.cache["yaml_data"] = data
        ctx.cache["yaml_frame"] = data["2022"]["wave"].head(300).copy()
        from fuzzing.waves import _small_synthetic

        ctx.cache["yaml_small_wave"] = str(_small_synthetic(ctx)[0])

    def one(self, rng: random.Random, i: int, ctx: Context) -> list[Finding]:
        kind = rng.choice(["codebook", "codebook", "rules", "groupings", "weighting",
                           "weighting", "tables"])
        src = rng.choice(TARGETS[kind])
        raw = src.read_bytes()
        case = ctx.case_dir(self.name, i)
        marker_file = case / "tag_executed"
        recipe: dict[str, Any] = {"kind": kind, "source": str(src)}
        if rng.random() < 0.8:
            doc = yaml.safe_load(raw)
            doc, steps, splices = mutate_tree(doc, rng, marker_file)
            mutant = render(doc, splices)
            recipe["mutations"] = steps
            if rng.random() < 0.15:
                mutant, what = text_mutation(mutant, rng)
                steps.append(what)
        else:
            mutant, what = text_mutation(raw, rng)
            recipe["mutations"] = [what]
        target = case / src.name
        target.write_bytes(mutant)
        if kind == "codebook":
            deep = rng.random() < 0.3
            func, args = load_codebook_and_validate, (str(target), ctx.cache["yaml_small_wave"], deep)
            command = f"read_codebook({target})" + (" + validate(small wave)" if deep else "")
        elif kind == "rules":
            func, args = load_rules_and_classify, (str(target), ctx.cache["yaml_frame"])
            command = f"load_rules({target}) + classify"
        elif kind == "groupings":
            rules = rng.choice(TARGETS["rules"])
            shutil.copy(rules, case / rules.name)
            func, args = load_rules_and_classify, (str(case / rules.name), ctx.cache["yaml_frame"])
            command = f"load_rules({case / rules.name}) with mutated groupings.yaml + classify"
        elif kind == "weighting":
            year = "2017" if "2017" in src.name else "2022"
            func, args = load_weighting_and_run, (str(target), ctx.cache["yaml_data"][year])
            command = f"load_spec({target}) + run_spec(synthetic {year})"
        else:
            func, args = load_table_spec, (str(target), str(DATA / "sid.yaml"))
            command = f"read_spec({target}) + check_spec"
        res = run_in_child(func, *args, timeout=ctx.timeout, memory=ctx.memory, cwd=case)
        found = api_findings(self.name, recipe, command, res)
        if marker_file.exists():
            found.append(Finding(self.name, "code-executed", "a YAML tag ran a command", recipe,
                                 command))
        if found:
            saved = save_bytes(ctx.findings, f"yaml-{i}-{src.name}", mutant)
            for f in found:
                f.saved = [saved] if saved else []
        ctx.done(case)
        return found
