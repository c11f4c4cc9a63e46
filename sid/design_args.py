"""The arguments of :class:`sid.design.Design` checked before anything is built from them.

A design file, a codebook or a command-line flag can give any type: a list where
a column name belongs, ``rho: half``, ``rho: 1`` (Fay's scale divides by
``1 - rho``), a negative scale, text among the rscales. Each is one
:class:`~sid.errors.DesignError` line here, never a traceback further on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sid.errors import DesignError, show_values

SINGLETON_RULES = ("fail", "adjust", "average", "remove", "certainty")

_EXAMPLE = {"weight": "gewicht", "strata": "stratum", "psu": "gemeente", "fpc": "fpc",
            "psu2": "adres", "fpc2": "fpc2", "repweights": "'^repw[0-9]+$'",
            "repmethod": "bootstrap", "rho": "give Fay's rho in [0, 1), e.g. 0.5",
            "scale": "give a positive number, e.g. 0.02, or leave it out for the method's default"}


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def rscales_array(value: Any, k: int) -> np.ndarray | None:
    """``rscales`` as k finite numbers >= 0 (one number is repeated), or None."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)):
        raise DesignError("rscales must be a number or a list of numbers", where="design rscales",
                          got=_short(value), fix="give one rscale per replicate, e.g. [0.5, 0.5]")
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError):
        raise DesignError("rscales must be numbers", where="design rscales", got=_short(value),
                          fix="give one rscale per replicate, e.g. [0.5, 0.5]") from None
    if arr.ndim != 1:
        raise DesignError("rscales must be a flat list of numbers", where="design rscales",
                          got=f"shape {arr.shape}", fix="give one rscale per replicate")
    if len(arr) not in (1, k):
        raise DesignError(f"rscales has length {len(arr)}, should be {k}",
                          where="design rscales", got=f"{len(arr)} rscales for {k} replicates",
                          fix="give one rscale per replicate (a file with a header line: check it "
                              "was not read as data, or the other way round)")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise DesignError("rscales must be finite and >= 0", where="design rscales",
                          got=show_values(arr[bad].tolist()), fix="give one rscale per replicate")
    return np.broadcast_to(arr, (k,)).copy()


def check_arguments(self: Any) -> None:
    """Types and ranges of a Design's scalar arguments (a YAML file or a flag can give
    anything): one :class:`DesignError` line each."""
    for role in ("weight", "strata", "psu", "fpc", "psu2", "fpc2", "repweights", "repmethod"):
        value = getattr(self, role)
        kinds = (str,) if role in ("repweights", "repmethod") else (str, int)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            what = {"repweights": "a regular expression (text)",
                    "repmethod": "a method name"}.get(role, "a column name")
            raise DesignError(f"{role} must be {what}", where=f"design {role}",
                              got=f"{type(value).__name__} {_short(value)}",
                              fix=f"write e.g. {role}: {_EXAMPLE.get(role, 'name')}")
    if not isinstance(self.singleton, str):
        raise DesignError(f"unknown singleton rule {_short(self.singleton)}",
                          where="design singleton", fix=f"use one of {', '.join(SINGLETON_RULES)}")
    if self.mse is not None and not isinstance(self.mse, (bool, np.bool_)):
        raise DesignError("mse must be true or false", where="design mse",
                          got=_short(self.mse), fix="write mse: true (or leave it out)")
    for role in ("rho", "scale"):
        value = getattr(self, role)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise DesignError(f"{role} must be a number", where=f"design {role}",
                              got=_short(value), fix=_EXAMPLE[role])
        if not np.isfinite(float(value)):
            raise DesignError(f"{role} must be finite", where=f"design {role}",
                              got=_short(value), fix=_EXAMPLE[role])
    if self.rho is not None and not 0 <= float(self.rho) < 1:
        raise DesignError("Fay's rho must lie in [0, 1): rho = 1 leaves no variance to "
                          "measure", where="design rho", got=_short(self.rho),
                          fix=_EXAMPLE["rho"])
    if self.scale is not None and not float(self.scale) > 0:
        raise DesignError("the replicate scale must be positive", where="design scale",
                          got=_short(self.scale), fix=_EXAMPLE["scale"])


def check_spec(spec: Any, keys: tuple[str, ...]) -> None:
    """A design mapping: a mapping whose keys are all among ``keys``."""
    if not isinstance(spec, Mapping):
        raise DesignError("a design is a mapping of keys such as weight:", where="design",
                          got=type(spec).__name__, fix="write weight: NAME, strata: NAME, ...")
    unknown = sorted(str(k) for k in set(spec) - set(keys))
    if unknown:
        raise DesignError("unknown design keys", where="design", got=show_values(unknown),
                          fix=f"use only {', '.join(keys)}")
