"""Weights onto waves: the weighted wave that ``sid weight`` writes, and the merge of such
files into harmonised data for ``sid tables`` (by wave and respondent id).

The CLI only parses options, calls these and prints: building the output wave and its
variable metadata, resolving the margins file, and merging weight files (duplicate ids,
respondents without a weight, which column is the weight) happen here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sid.codebook import Codebook
from sid.errors import InputError, WeightingError, show_values
from sid.harmonise import HarmonisedData
from sid.io import VariableMeta, Wave, read_wave, scan_wave
from sid.io.files import note_input
from sid.weighting.population import read_population_csv

if TYPE_CHECKING:  # annotations only: `sid tables` merges weights without the spec models
    from sid.weighting.chain import ChainResult
    from sid.weighting.spec import WeightingSpec

__all__ = [
    "WeightFile",
    "margins_path",
    "read_margins",
    "merge_weight_files",
    "merge_weights",
    "missing_masks",
    "read_weight_files",
    "replicate_prefix",
    "report_labels",
    "weighted_wave",
]


# --------------------------------------------------------------------------- sid weight


def missing_masks(wave: Wave) -> dict[str, np.ndarray]:
    """User-missing codes per variable that has them (they become NaN before weighting)."""
    return {v.name: wave.user_missing_mask(v.name) for v in wave.meta.variables if v.missing}


def margins_path(spec: WeightingSpec, spec_file: str | os.PathLike[str],
                 given: str | os.PathLike[str] | None) -> Path:
    """The margins CSV: ``given`` (``--margins``), else ``margins.source`` beside the spec."""
    path = Path(given) if given is not None else (
        Path(spec_file).parent / spec.margins.source if spec.margins.source else None)
    if path is None or not path.exists():
        raise InputError("population margins file not found", where=str(path),
                         fix="pass --margins population_margins.csv")
    note_input(path, "margins")  # no output of the running command may replace it
    return path


def read_margins(spec: WeightingSpec, spec_file: str | os.PathLike[str],
                 given: str | os.PathLike[str] | None) -> pd.DataFrame:
    """The population margins CSV of :func:`margins_path`, read as text cells (checked as data
    when the chain uses it: :func:`sid.weighting.population.check_population_table`)."""
    return read_population_csv(margins_path(spec, spec_file, given))


def weighted_wave(wave: Wave, chain: ChainResult, *, where: str = "") -> Wave:
    """``wave`` with the final weight, and the replicate weights when there are any, added
    as new numeric variables with Dutch labels; refuses to overwrite existing columns."""
    spec = chain.spec
    name = str(chain.weights.name)
    new_cols: dict[str, np.ndarray] = {name: chain.weights.to_numpy()}
    new_meta = [VariableMeta(name=name, label=f"Eindgewicht ({spec.name or 'weging'})",
                             kind="numeric", format="F12.4", measure="scale")]
    reps = chain.replicates
    if reps is not None:
        for k, col in enumerate(reps.names(replicate_prefix(spec))):
            new_cols[col] = reps.weights[:, k]
            new_meta.append(VariableMeta(
                name=col, label=f"Replicaatgewicht {k + 1} ({reps.method}, scale {reps.scale:.6g})",
                kind="numeric", format="F12.4", measure="scale"))
    clash = [c for c in new_cols if c in wave.data.columns]
    if clash:
        raise InputError(f"the wave already has column(s) {', '.join(map(repr, clash))}",
                         where=where,
                         fix="set output.weight (or replicates.prefix) in the spec to a new name")
    data = wave.data.assign(**new_cols)
    # the source path stays, so write_wave refuses to write the result over the raw wave
    meta = replace(wave.meta, n_rows=len(data), sha256=None,
                   variables=wave.meta.variables + tuple(new_meta))
    return replace(wave, data=data, meta=meta)


def replicate_prefix(spec: WeightingSpec) -> str:
    """Column prefix of the replicate weights (``repw_`` unless the spec says otherwise)."""
    return spec.replicates.prefix if spec.replicates is not None else "repw_"


def report_labels(wave: Wave, spec: WeightingSpec) -> dict[Any, str] | None:
    """Value labels of the (single) within-group variable, to name groups in the report."""
    within = spec.margins.within
    if within is None or len(within) != 1:
        return None
    band = spec.margins.variables.get(within[0])
    column = within[0] if band is None else band.source
    if (band is not None and band.breaks is not None) or column not in wave.meta.columns:
        return None
    return dict(wave.meta.variable(column).value_labels)


# --------------------------------------------------------------------------- sid tables


@dataclass(frozen=True)
class WeightFile:
    """One ``sid weight`` output for one wave, with the columns its source wave had."""

    wave: str
    path: Path
    data: pd.DataFrame
    base_columns: frozenset[str]


def read_weight_files(codebook: Codebook, loaded: Sequence[str],
                      data_pairs: Sequence[tuple[str | None, Path]],
                      weight_pairs: Sequence[tuple[str | None, Path]],
                      read: Callable[[Path], Wave] | None = None) -> list[WeightFile]:
    """Read the ``--weights [WAVE=]PATH`` files; ``loaded`` are the waves in the data and
    ``data_pairs`` the ``--data`` files (to tell which columns a weights file added).
    ``read``: a command's reader that reads each file once (``sid tables``); without it
    the weights files are read here and the source waves only scanned."""
    out = []
    for w, p in weight_pairs:
        if not p.is_file():
            raise InputError("weights file not found", where=str(p), fix="give the output of sid weight")
        wave_id = w or (loaded[0] if len(loaded) == 1 else None)
        if wave_id is None:
            raise InputError("several waves loaded: say which wave the weights belong to",
                             where=str(p), fix=f"write --weights WAVE={p}")
        source_file = next((dp for dw, dp in data_pairs
                            if (dw or codebook.wave_for_file(dp)) == wave_id), None)
        if source_file is None:
            base_cols: frozenset[str] = frozenset()
        elif read is not None:
            base_cols = frozenset(read(source_file).meta.columns)
        else:
            base_cols = frozenset(scan_wave(source_file).columns)
        out.append(WeightFile(wave_id, p, (read or read_wave)(p).data, base_cols))
    return out


def merge_weights(data: HarmonisedData, codebook: Codebook, files: Sequence[WeightFile],
                  weight_var: str | None) -> tuple[HarmonisedData, str]:
    """Add the weight of each file to the rows of its wave (by respondent id) as ``_w_NAME``.

    The weight column is ``weight_var``, or the one numeric column a file has that
    its source wave does not. Every loaded wave needs a file; ids must be unique in
    a file and every respondent needs a weight.
    """
    col = pd.Series(np.nan, index=data.data.index)
    name = None
    for f in files:
        id_source = codebook.source(codebook.wave(f.wave).id, f.wave)
        if id_source not in f.data.columns:
            raise InputError(f"the weights file has no column {id_source!r}, the respondent id "
                             f"of wave {f.wave}: is it the weights file of another wave?",
                             where=str(f.path),
                             got=f"columns {show_values(list(f.data.columns), 6)}",
                             fix=f"give the sid weight output of wave {f.wave} as "
                                 f"--weights {f.wave}=PATH")
        if weight_var is None:
            new = [c for c in f.data.columns if c not in f.base_columns
                   and pd.api.types.is_numeric_dtype(f.data[c])]
            if len(new) != 1:
                raise InputError("cannot tell which column of the weights file is the weight",
                                 where=str(f.path), got=", ".join(new) or "no new column",
                                 fix="give --weight-var NAME")
            wname = new[0]
        else:
            wname = weight_var
        if wname not in f.data.columns:
            raise InputError(f"weight column {wname!r} is not in the weights file",
                             where=str(f.path), fix="check --weight-var")
        id_var = codebook.wave(f.wave).id
        id_source = codebook.source(id_var, f.wave)
        dupes = f.data[id_source][f.data[id_source].duplicated()]
        if len(dupes):
            raise WeightingError(f"respondent id {id_source!r} is not unique in the weights file",
                                 where=str(f.path), got=show_values(pd.unique(dupes).tolist()),
                                 fix="give the output of sid weight for this wave (one row each)")
        ids = f.data.set_index(id_source)[wname]
        rows = data.data["wave"].astype(str) == f.wave
        mapped = data.data.loc[rows, id_var].map(ids)
        if mapped.isna().any():
            raise WeightingError(f"{int(mapped.isna().sum())} respondent(s) of wave {f.wave} have "
                                 "no weight in the weights file", where=str(f.path),
                                 fix="use the weights file made from the same wave")
        col[rows] = mapped.to_numpy()
        name = wname
    if col.isna().any():
        raise InputError("not every loaded wave has a --weights file",
                         fix="give one --weights WAVE=PATH per --data wave")
    frame = data.data.assign(**{f"_w_{name}": col.to_numpy()})
    return replace(data, data=frame), f"_w_{name}"


def merge_weight_files(data: HarmonisedData, codebook: Codebook,
                       data_pairs: Sequence[tuple[str | None, Path]],
                       weight_pairs: Sequence[tuple[str | None, Path]],
                       weight_var: str | None,
                       read: Callable[[Path], Wave] | None = None) -> tuple[HarmonisedData, str]:
    """:func:`read_weight_files` then :func:`merge_weights` (what ``sid tables --weights`` does;
    ``read`` as in :func:`read_weight_files`)."""
    loaded = [str(w) for w in data.data["wave"].cat.categories]
    files = read_weight_files(codebook, loaded, data_pairs, weight_pairs, read)
    return merge_weights(data, codebook, files, weight_var)
