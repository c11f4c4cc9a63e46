"""The ``sid`` command group and what its commands share.

Every :class:`sid.errors.SidError` becomes one line on stderr and exit code 2,
never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sid import __version__


class SidGroup(click.Group):
    """A click group that turns SidError into one clear line and exit code 2."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        from sid.errors import SidError

        try:
            return super().invoke(ctx)
        except SidError as exc:
            click.echo(f"error: {exc.line()}", err=True)
            sys.exit(2)


@click.group(cls=SidGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sid")
def main() -> None:
    """Samenleven in Diversiteit toolkit: waves, codebooks, weighting, estimates, tables."""



# --- survey design options shared by estimate and crosstab


_DESIGN_OPTIONS = (
    click.option("--codebook", "codebook_file", type=click.Path(path_type=Path), default=None,
                 help="Take the design variables from this codebook."),
    click.option("--wave", "wave_id", default=None, help="Codebook wave whose design to use."),
    click.option("--design", "design_file", type=click.Path(path_type=Path), default=None,
                 help="Design YAML with the keys of Design(...): weight, strata, psu, fpc, ..."),
    click.option("--weight", default=None, help="Weight column."),
    click.option("--strata", default=None, help="Strata column."),
    click.option("--psu", default=None, help="Primary sampling unit (cluster) column."),
    click.option("--fpc", default=None,
                 help="First-stage fpc column (population count or fraction)."),
    click.option("--psu2", default=None, help="Second-stage unit column."),
    click.option("--fpc2", default=None, help="Second-stage fpc column."),
    click.option("--repweights", default=None, help="Regular expression selecting replicate weights."),
    click.option("--repmethod", type=click.Choice(["brr", "fay", "jk1", "jkn", "bootstrap"]),
                 default=None, help="Replicate method."),
    click.option("--rho", type=float, default=None, help="Fay's rho."),
    click.option("--scale", type=float, default=None, help="Replicate variance scale."),
    click.option("--rscales", "rscales_file", type=click.Path(path_type=Path), default=None,
                 help="CSV with one column: the rscale of each replicate."),
    click.option("--mse", is_flag=True, default=None,
                 help="Centre replicates on the full estimate."),
    click.option("--singleton", type=click.Choice(["fail", "adjust", "average", "remove",
                                                   "certainty"]),
                 default=None, help="Strata with one PSU (R's survey.lonely.psu). Default fail."),
)


def design_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the survey design options (the keys of ``Design(...)``) to a command."""
    for option in reversed(_DESIGN_OPTIONS):
        command = option(command)
    return command


def design_from_options(wave: Any, command: str, *, codebook_file: Path | None,
                        wave_id: str | None, design_file: Path | None,
                        rscales_file: Path | None, **flags: Any) -> Any:
    """The Design that --codebook / --design FILE / --weight, --strata, ... describe.

    Flags override the design file; with --codebook the codebook's design
    variables are the base.
    """
    import pandas as pd
    import yaml

    from sid.design import Design
    from sid.errors import DesignError, InputError

    def read_rscales(path: Path) -> list[float]:
        if not path.exists():
            raise InputError("rscales file not found", where=str(path),
                             fix="give a CSV with one column of numbers")
        return pd.read_csv(path).iloc[:, 0].astype(float).tolist()

    spec: dict = {}
    if design_file is not None:
        design_file = Path(design_file)
        if not design_file.exists():
            raise InputError("design file not found", where=str(design_file),
                             fix="give a YAML file with weight:, strata:, psu:, ...")
        try:
            loaded = yaml.safe_load(design_file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise DesignError(f"design file is not valid YAML: {exc}".replace("\n", " "),
                              where=str(design_file), fix="fix the YAML syntax") from None
        if not isinstance(loaded, dict):
            raise DesignError("design file must be a mapping", where=str(design_file),
                              fix="write keys such as weight: base_wt")
        spec.update(loaded.get("design", loaded))
        if isinstance(spec.get("rscales"), str):
            spec["rscales"] = read_rscales(design_file.parent / spec["rscales"])
    flags["mse"] = flags.get("mse") or None
    spec.update({k: v for k, v in flags.items() if v is not None})
    if rscales_file is not None:
        spec["rscales"] = read_rscales(Path(rscales_file))
    if codebook_file is not None:
        from sid.codebook import load_codebook

        return Design.from_codebook(wave, load_codebook(codebook_file), wave=wave_id, **spec)
    if not spec:
        raise DesignError("no design given", where=command,
                          fix="give --weight (and --strata/--psu/...), --design FILE or "
                              "--codebook FILE")
    return Design.from_mapping(wave, spec)




def _atomic_text(path: Path, text: str) -> None:
    from sid.io import write_text_atomic

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
