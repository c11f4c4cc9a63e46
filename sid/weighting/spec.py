"""The weighting spec (YAML): pydantic models, one per level, and its loader.

A spec says how to weight a wave: starting weights (``design``), the
nonresponse adjustment on the gross sample, the margins (a long population table,
the wave's columns or age bands it maps to, ``within`` groups), the method
(``rake`` or a ``calibrate`` calfun with ``bounds``), trimming, the output name and
optional replicate weights (docs/weighting.md). Every level forbids unknown keys;
:func:`load_spec` reads the file with :mod:`sid.yamlio` and reports every problem
at once, each as ``file:line: path: message`` with a did-you-mean.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from sid.yamlio import parse_yaml, read_yaml, validate_model

__all__ = [
    "BandSpec",
    "CollapseSpec",
    "DesignSpec",
    "FrameCountsSpec",
    "MarginsSpec",
    "NonresponseSpec",
    "OutputSpec",
    "ReplicatesSpec",
    "TrimSpec",
    "WeightingSpec",
    "load_spec",
    "spec_from_mapping",
]

_FIX = "see docs/weighting.md"


def _names_in(value: object) -> object:
    """One name or a list of names -> a list (a wrong shape is one clear problem)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    raise ValueError("give a name or a list of names")


def _distinct(value: tuple[str, ...]) -> tuple[str, ...]:
    """A list of names names each once (a repeated name is a typo, and pandas refuses it)."""
    twice = sorted({n for n in value if value.count(n) > 1})
    if twice:
        raise ValueError(f"{', '.join(map(repr, twice))} given twice")
    return value


def _text(value: object) -> object:
    """A single value (text, number, date) as text, as a filter compares it."""
    if isinstance(value, bool | int | float | str | dt.date):
        return str(value)
    raise ValueError("give a single value (text, number or date)")


def _cell(value: object) -> object:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return value
    raise ValueError("give a single number or text")


Name = Annotated[str, Field(min_length=1)]
# a name or a list of names, always held as a tuple (one name: a tuple of one)
Names = Annotated[tuple[Name, ...], BeforeValidator(_names_in), Field(min_length=1),
                  AfterValidator(_distinct)]
Text = Annotated[str, BeforeValidator(_text)]
Cell = Annotated[str | int | float, BeforeValidator(_cell)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, value: object) -> object:
        """A section must be a mapping: one clear problem otherwise."""
        if isinstance(value, dict | BaseModel):
            return value
        keys = ", ".join(f.alias or k for k, f in cls.model_fields.items())
        raise ValueError(f"give a mapping with keys {keys}")


class FrameCountsSpec(_Model):
    """Frame sizes N_h per stratum: a CSV file or an inline table, strata and count column."""

    file: Name | None = None
    table: list[dict[str, Cell]] | None = None
    strata: Names
    count: Name = "count"

    @model_validator(mode="after")
    def _one_source(self) -> FrameCountsSpec:
        if (self.file is None) == (self.table is None):
            raise ValueError("give exactly one of file (a CSV) and table (a list of rows)")
        return self


class DesignSpec(_Model):
    """The starting weights: exactly one of a weight column, inclusion probabilities or
    frame counts."""

    base_weight: Name | None = None
    incl_prob: Name | None = None
    frame_counts: FrameCountsSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> DesignSpec:
        given = [k for k in ("base_weight", "incl_prob", "frame_counts") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of base_weight, incl_prob and frame_counts"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self


class NonresponseSpec(_Model):
    """Weighting-class nonresponse adjustment: the 0/1 response column and the classes."""

    respondent: Name = "respons"
    classes: Names


class BandSpec(_Model):
    """A margin variable derived from a numeric wave column: band k+1 holds values at or
    above ``breaks[k-1]`` and below ``breaks[k]`` (no breaks: the column itself)."""

    source: Name = Field(alias="from")
    breaks: list[float] | None = None

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, value: object) -> object:
        """A wave column name is the column itself; a mapping gives bands."""
        if isinstance(value, str):
            return {"from": value}
        if isinstance(value, dict | BaseModel):
            return value
        raise ValueError("give a wave column, or {from: column, breaks: [...]} for bands")

    @model_serializer(mode="wrap")
    def _as_written(self, handler: SerializerFunctionWrapHandler) -> object:
        return self.source if self.breaks is None else handler(self)

    @field_validator("breaks")
    @classmethod
    def _increasing(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and not all(math.isfinite(b) for b in v):
            raise ValueError("breaks must be finite numbers")
        if v is not None and any(b >= a for a, b in zip(v[1:], v, strict=False)):
            raise ValueError("breaks must increase")
        return v


class CollapseSpec(_Model):
    """Collapsing sparse margin cells: along which ordered margin variables adjacent
    categories merge, and below how many respondents a cell merges (sid.weighting.collapse)."""

    variables: Names
    min_n: StrictInt = Field(ge=1)


class MarginsSpec(_Model):
    """The margins: a long population table, the margin variables (table column -> wave
    column or band), the crosses to rake on, and optional ``within`` groups."""

    source: Name | None = None
    filter: dict[str, Text] | None = None
    count: Name = "count"
    variables: dict[str, BandSpec] = Field(min_length=1)
    within: Names | None = None
    margins: list[Names] = Field(min_length=1)
    collapse: CollapseSpec | None = None

    @field_validator("collapse")
    @classmethod
    def _collapse_variables(cls, v: CollapseSpec | None, info: ValidationInfo
                            ) -> CollapseSpec | None:
        """Collapse along margin variables that are not within groups."""
        variables = info.data.get("variables")
        if v is None or variables is None:
            return v
        unknown = [n for n in v.variables if n not in variables]
        if unknown:
            raise ValueError(f"collapse.variables {', '.join(map(repr, unknown))} not among "
                             f"margins.variables ({', '.join(variables)})")
        within = info.data.get("within") or ()
        grouped = [n for n in v.variables if n in within]
        if grouped:
            raise ValueError(f"collapse.variables {', '.join(map(repr, grouped))} is a within "
                             "group: groups are weighted separately and do not merge")
        return v

    @field_validator("within", "margins")
    @classmethod
    def _known_variables(cls, v: Any, info: ValidationInfo) -> Any:
        """Every within and margin name must be a margin variable (a column of the table)."""
        variables = info.data.get("variables")
        if variables is None or v is None:
            return v
        names = list(v) if info.field_name == "within" else [n for cross in v for n in cross]
        unknown = [n for n in dict.fromkeys(names) if n not in variables]
        if unknown:
            import difflib

            hints = []
            for n in unknown:
                close = difflib.get_close_matches(n, list(variables), n=1)
                hints.append(f"{n!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ValueError(f"{', '.join(hints)} not among margins.variables "
                             f"({', '.join(variables)})")
        if info.field_name == "within" and len(set(v)) != len(v):
            raise ValueError("a within variable is given twice")
        return v

    @property
    def within_arg(self) -> str | tuple[str, ...] | None:
        """``within`` as the weighting methods take it (one name as a plain string)."""
        if self.within is None:
            return None
        return self.within[0] if len(self.within) == 1 else self.within

    @property
    def crosses(self) -> list[tuple[str, ...]]:
        """The margins as :func:`~sid.weighting.margins.margins_from_long` takes them."""
        return list(self.margins)


class TrimSpec(_Model):
    """Trimming bounds, absolute or relative to the median or mean weight of the group
    (applied by bounded calibration: :func:`~sid.weighting.bounded.bounded_rake`)."""

    upper: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    lower: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    relative_to: Literal["absolute", "median", "mean"] = "absolute"

    @model_validator(mode="before")
    @classmethod
    def _no_redistribute(cls, value: object) -> object:
        if isinstance(value, dict) and "redistribute" in value:
            raise ValueError("trim.redistribute no longer applies: trimming is bounded "
                             "calibration, which keeps the margins without redistributing; "
                             "remove the key")
        return value

    @model_validator(mode="after")
    def _a_bound(self) -> TrimSpec:
        if self.upper is None and self.lower is None:
            raise ValueError("give upper and/or lower")
        if self.upper is not None and self.lower is not None and self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower:g}) must be below upper ({self.upper:g})")
        return self


class OutputSpec(_Model):
    """Name of the final weight column."""

    weight: Name = "final_wt"


class ReplicatesSpec(_Model):
    """Replicate weights made from the design, with the whole chain re-run on each."""

    method: Literal["jk1", "jkn", "bootstrap"] = "bootstrap"
    replicates: StrictInt = Field(default=200, ge=2, le=10_000)
    seed: StrictInt | None = None
    strata: Name | None = None
    psu: Name | None = None
    mse: StrictBool = False
    prefix: Name = "repw_"


class WeightingSpec(_Model):
    """A weighting spec (docs/weighting.md)."""

    name: str | None = None
    wave: Text | None = None
    id: Name | None = None
    design: DesignSpec
    nonresponse: NonresponseSpec | None = None
    margins: MarginsSpec
    bounds: tuple[float, float] | None = None
    method: Literal["rake", "linear", "raking", "logit"] = Field(default="rake",
                                                                 validate_default=True)
    trim: TrimSpec | None = None
    output: OutputSpec = OutputSpec()
    replicates: ReplicatesSpec | None = None
    _source: str = PrivateAttr(default="")

    @property
    def source(self) -> str:
        """The file the spec was read from ("" when built in code)."""
        return self._source

    @field_validator("bounds")
    @classmethod
    def _bounds_around_one(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not v[0] <= 1.0 <= v[1]:
            raise ValueError(f"bounds [{v[0]:g}, {v[1]:g}] must satisfy lower <= 1 <= upper")
        return v

    @field_validator("method")
    @classmethod
    def _bounds_fit_method(cls, v: str, info: ValidationInfo) -> str:
        if "bounds" not in info.data:  # bounds itself is wrong: reported there
            return v
        bounds = info.data["bounds"]
        if v == "logit" and bounds is None:
            raise ValueError("logit calibration needs bounds: [L, U] with L < 1 < U")
        if v == "rake" and bounds is not None:
            raise ValueError("bounds apply to calibration (method linear, raking or logit), "
                             "not to rake")
        return v

    def as_dict(self) -> dict[str, Any]:
        """The spec as plain data (what the user set), e.g. for the report."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


def load_spec(path: str | os.PathLike[str]) -> WeightingSpec:
    """Read and check a YAML weighting spec; every problem at once, with file:line."""
    doc = read_yaml(path, what="weighting spec")
    spec = validate_model(doc, WeightingSpec, what="weighting spec", fix=_FIX)
    spec._source = doc.source  # set once, right after validation
    return spec


def spec_from_mapping(spec: WeightingSpec | Mapping[str, Any],
                      source: str = "weighting spec") -> WeightingSpec:
    """A :class:`WeightingSpec` from a model or a plain mapping (checked as a file would be)."""
    if isinstance(spec, WeightingSpec):
        return spec
    doc = parse_yaml("{}", source=source, what="weighting spec")
    return validate_model(doc, WeightingSpec, what="weighting spec", fix=_FIX, data=dict(spec))
