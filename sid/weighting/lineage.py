"""The lineage of a weighted wave: what made its weight, in a sidecar file beside it.

``sid weight`` writes ``<out>.lineage.json`` after the weighted wave: the weight
variable and a description of it in words, the weighting spec, the margins, the
gross sample and the input wave, each with its sha256 and path relative to the
weighted file, and the sha256 of the weighted file itself. A reader
(:func:`read_lineage`) trusts the sidecar only when that hash matches the file it
sits beside, so a weighted file and its lineage are used together or not at all
(a sidecar left from an earlier run, or a file replaced later, is ignored).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sid.io import file_sha256, write_text_atomic

if TYPE_CHECKING:  # annotations only: reading a lineage needs no spec models
    from sid.weighting.spec import WeightingSpec

SUFFIX = ".lineage.json"
ROLES = ("wave", "weighting_spec", "margins", "gross")


def lineage_path(weighted: str | os.PathLike[str]) -> Path:
    """The sidecar of a weighted file: ``sid2022_gewogen.sav.lineage.json``."""
    p = Path(weighted)
    return p.with_name(p.name + SUFFIX)


def describe_weight(spec: WeightingSpec, lang: str = "nl") -> str:
    """The weight in words, from the steps of the spec (for footnotes and provenance),
    e.g. "ontwerpgewicht, non-respons per klasse (stratum x geslacht), raking binnen
    herkomst op geslacht x leeftijdsgroep en gewest, getrimd (0,2-5 x mediaan)"."""
    nl = lang != "en"
    parts = ["ontwerpgewicht" if nl else "design weight"]
    if spec.nonresponse is not None:
        classes = " x ".join(spec.nonresponse.classes)
        parts.append(f"non-respons per klasse ({classes})" if nl
                     else f"nonresponse by class ({classes})")
    m = spec.margins
    margins = (" en " if nl else " and ").join(" x ".join(names) for names in m.margins)
    method = {"rake": "raking", "raking": "raking", "linear": "lineaire kalibratie" if nl
              else "linear calibration", "logit": "logit-kalibratie" if nl
              else "logit calibration"}[spec.method]
    within = f" {'binnen' if nl else 'within'} {' x '.join(m.within)}" if m.within else ""
    parts.append(f"{method}{within} {'op' if nl else 'on'} {margins}")
    if spec.trim is not None:
        t = spec.trim
        rel = {"median": "mediaan" if nl else "median", "mean": "gemiddelde" if nl else "mean",
               "absolute": ""}[t.relative_to]
        lo = "" if t.lower is None else f"{t.lower:g}"
        hi = "" if t.upper is None else f"{t.upper:g}"
        bounds = f"{lo}-{hi} x {rel}".strip() if rel else f"{lo}-{hi}"
        if nl:
            bounds = bounds.replace(".", ",")
        parts.append(f"{'getrimd' if nl else 'trimmed'} ({bounds})")
    return ", ".join(parts)


def lineage_record(weighted: str | os.PathLike[str], spec: WeightingSpec,
                   inputs: Sequence[tuple[str, str | os.PathLike[str]]]) -> dict[str, Any]:
    """The sidecar's content: the weighted file's sha256, the weight, and each input
    (role, path relative to the weighted file, sha256)."""
    out = Path(weighted)
    folder = out.resolve().parent
    rows = []
    for role, p in inputs:
        try:
            rel = Path(os.path.relpath(Path(p).resolve(), folder)).as_posix()
        except ValueError:
            rel = Path(p).name
        rows.append({"role": role, "path": rel, "sha256": file_sha256(p)})
    return {
        "file": out.name,
        "sha256": file_sha256(out),
        "weight": spec.output.weight,
        "description": {"nl": describe_weight(spec, "nl"), "en": describe_weight(spec, "en")},
        "inputs": rows,
    }


def write_lineage(weighted: str | os.PathLike[str], spec: WeightingSpec,
                  inputs: Sequence[tuple[str, str | os.PathLike[str]]]) -> Path:
    """Write the sidecar of a weighted file that has just been written (atomically)."""
    record = lineage_record(weighted, spec, inputs)
    target = lineage_path(weighted)
    write_text_atomic(target, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    return target


def read_lineage(weighted: str | os.PathLike[str]) -> Mapping[str, Any] | None:
    """The lineage of a weighted file, or None when it has no sidecar or the sidecar
    belongs to other bytes (its sha256 does not match the file). Input paths come back
    resolved against the weighted file's folder."""
    side = lineage_path(weighted)
    if not side.is_file():
        return None
    try:
        record = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    try:
        digest = file_sha256(weighted)
    except OSError:  # no readable file beside it (a folder, no permission): nothing to confirm
        return None
    if record.get("sha256") != digest:
        return None
    folder = Path(weighted).parent
    inputs = [{**row, "path": str(folder / row["path"])} for row in record.get("inputs", [])
              if isinstance(row, dict) and "path" in row]
    return {**record, "inputs": inputs}
