"""The ``sid`` command group and what its commands share.

Every :class:`sid.errors.SidError` becomes one line on stderr and exit code 2,
never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from sid import __version__

# --- which parameters name files: every parameter of every command is in exactly one of
# these (tests/test_outputs.py walks the commands and checks it), so a new option cannot
# slip past the output guard.

#: Parameters that name files a command reads (``WAVE=PATH`` items included).
INPUT_PARAMS = frozenset({
    "wave_file", "spec_file", "gross_file", "margins_file", "codebook_file", "codebook",
    "design_file", "rscales_file", "data", "file", "wave", "files", "data_files",
    "weight_files", "rule",
})
#: Parameters that name what a command writes: ``file``, ``folder`` or ``any`` (a file or
#: a folder, e.g. ``sid tables --out`` by ``--format``).
OUTPUT_PARAMS: Mapping[str, str] = {"out_file": "file", "report_file": "file", "out": "any",
                                    "folder": "folder",
                                    "plots_dir": "folder"}
#: Files a command writes beside an output it is given, as ``(command, parameter) ->
#: patterns``: ``.md`` replaces the suffix (``--report r.xlsx``: ``r.md``), ``_x.png`` is added
#: to the stem (``r_x.png``), ``+.lineage.json`` to the whole name (``w.sav.lineage.json``).
DERIVED_OUTPUTS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("weight", "report_file"): (".md", "_gewichten.png"),
    ("weight", "out_file"): ("+.lineage.json",),
}


def derived_output(path: Path, pattern: str) -> Path:
    """The file ``pattern`` (see :data:`DERIVED_OUTPUTS`) names beside ``path``."""
    if pattern.startswith("+"):
        return path.with_name(path.name + pattern[1:])
    if pattern.startswith("."):
        return path.with_suffix(pattern)
    return path.with_name(path.stem + pattern)
#: Commands whose ``--out`` is a folder.
FOLDER_OUT_COMMANDS = frozenset({"synth", "demo"})
#: Pipelines that run other commands and read what earlier steps wrote: each step is
#: all-or-nothing on its own (docs/decisions.md), the command as a whole is not.
STEPWISE_COMMANDS = frozenset({"synth", "demo"})
#: Every other parameter: not a path.
NOT_PATHS = frozenset({
    "alpha_text", "as_json", "budget", "by_vars", "categoricals", "ci_method", "col",
    "conf_level", "conf_text", "deff", "deff_text", "delta_text", "eligible", "encoding",
    "family", "fields_text", "fmt", "formula", "fpc", "fpc2", "gross_group", "group",
    "id_col", "lang", "margins_group", "margins_var", "mean_var", "moe_text", "mse",
    "no_chart", "no_origin", "on_unknown", "p2_text", "p_text", "param_texts", "percent",
    "population_text", "power_text", "prop_var", "psu", "psu2", "q_values", "quantile_var",
    "ratio_var", "ref_date", "reference", "references", "repmethod", "repweights",
    "respondent", "rho", "row", "rr_text", "scale", "seed", "show_terms", "singleton",
    "skip_missing_waves", "strata", "suppress_below", "total_var", "wave_id", "weight",
    "weight_var", "what_ifs", "where_expr",
})


def _label(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return (param.name or "").upper()


def _input_paths(name: str, value: Any) -> list[Path]:
    """The file paths in an input parameter's value (``WAVE=PATH`` items split)."""
    values = value if isinstance(value, (tuple, list)) else [value]
    out = []
    for item in values:
        if item is None:
            continue
        text = str(item)
        if name == "rule" and not text.lower().endswith((".yaml", ".yml")):
            continue  # a rule-set name, not a file
        if "=" in text and not Path(text).exists():
            text = text.partition("=")[2].strip()
        out.append(Path(text))
    return out


def path_params(command: click.Command, kwargs: Mapping[str, Any]
                ) -> tuple[list[tuple[str, Path]], list[tuple[str, Path, str]]]:
    """The (role, path) inputs and (role, path, kind) outputs named by a command's arguments."""
    inputs: list[tuple[str, Path]] = []
    outputs: list[tuple[str, Path, str]] = []
    for param in command.params:
        name = param.name or ""
        value = kwargs.get(name)
        if value is None or value == ():
            continue
        if name in INPUT_PARAMS:
            inputs += [(_label(param), p) for p in _input_paths(name, value)]
        elif name in OUTPUT_PARAMS:
            kind = "folder" if command.name in FOLDER_OUT_COMMANDS and name == "out" \
                else OUTPUT_PARAMS[name]
            outputs.append((_label(param), Path(value), kind))
            outputs += [(f"{_label(param)} ({pattern.lstrip('+')})",
                         derived_output(Path(value), pattern), "file")
                        for pattern in DERIVED_OUTPUTS.get((command.name or "", name), ())]
    return inputs, outputs


def guard_outputs(command: click.Command) -> click.Command:
    """Run ``command`` inside :func:`sid.io.files.output_transaction`: no output over an input
    (checked before the command starts, and again at every write), and all its files or none."""
    callback = command.callback
    if callback is None or getattr(callback, "__sid_guarded__", False):
        return command

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        from sid.io.files import check_outputs, output_transaction

        inputs, outputs = path_params(command, kwargs)
        if command.name in STEPWISE_COMMANDS:
            check_outputs(outputs, inputs)
            return callback(*args, **kwargs)
        with output_transaction(inputs=inputs, outputs=outputs):
            return callback(*args, **kwargs)

    run.__sid_guarded__ = True  # type: ignore[attr-defined]
    command.callback = run
    return command


class SidGroup(click.Group):
    """A click group that turns SidError into one clear line and exit code 2, and runs every
    command it registers through the output guard (:func:`guard_outputs`)."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not isinstance(cmd, click.Group):
            guard_outputs(cmd)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
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


def console(args: Sequence[str] | None = None) -> NoReturn:
    """The ``sid`` console script: :data:`main` in click's standalone mode (the same exit
    codes, error line and ``Aborted!``), then out without the interpreter's teardown.

    The teardown (freeing every module and object one by one) costs ~0.2 s after a
    ``sid tables``, ~10% of the command. Every file the command writes is complete when
    ``main`` returns (the atomic writers replace them before that), stdout and stderr are
    flushed here, and sid starts no threads or atexit work, so ``os._exit`` loses nothing.
    Only the console script leaves this way: ``main`` called in-process (tests, the
    fuzzer, other programs) returns or raises as any click command does. An exception
    that is not a ``SystemExit`` (a bug) takes the normal way out, with its traceback.
    """
    import os

    # BLAS on one thread unless the user chose otherwise: sid's products are small (a
    # table's covariance, a model's X'WX), where OpenBLAS's worker threads only wait for
    # cores (measured: sid tables 1.65 -> 1.31 s CPU, sid demo 6.8 -> 6.4 s; the numbers
    # are the same). Set before numpy loads: importing sid.cli does not load it (tested).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        main.main(args=args, standalone_mode=True)
        code: int = 0  # standalone mode always ends in SystemExit; this is a fallback
    except SystemExit as exc:
        code = _exit_status(exc.code)
    # what multiprocessing's exit handler, skipped by os._exit, does: end daemonic children
    # (reader children still running; a command ends those it started, this is the net)
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is not None:
        for child in multiprocessing.active_children():
            if child.daemon:
                child.terminate()
                child.join()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # e.g. a closed pipe: let Python report it as it always does
        sys.exit(code)
    os._exit(code)


def _exit_status(code: object) -> int:
    """The process exit status Python makes of ``SystemExit(code)``: ``None`` is 0, an
    int is itself, anything else is printed on stderr and becomes 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1



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
                 help="Text/CSV file: one rscale per replicate, one per line (a header line of text is optional) or all on one line."),
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


def read_rscales(path: Path) -> list[float]:
    """The replicate scales in ``path``: one number per line (an optional header line of
    text is skipped), or one line of numbers separated by commas, semicolons or spaces.

    A first line that is a number is data, never a header; any other text is an error
    naming its line. Whether the count matches the replicates is :class:`Design`'s check.
    """
    import math
    import re

    from sid.errors import InputError

    where = f"{path} (--rscales)"
    if not path.is_file():
        raise InputError("rscales file not found" if not path.exists() else "rscales path is a folder",
                         where=where, fix="give a text/CSV file with one number per line")
    raw = path.read_bytes()
    if len(raw) > 10_000_000:
        raise InputError("rscales file too large", where=where, got=f"{len(raw):,} bytes",
                         fix="give one number per replicate")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("rscales file is not UTF-8 text", where=where,
                         fix="save it as UTF-8 (or plain ASCII) text") from None
    lines = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines()) if line.strip()]
    if not lines:
        raise InputError("rscales file is empty", where=where, fix="give one number per line")

    def number(token: str) -> float | None:
        try:
            value = float(token.strip().strip('"').strip("'"))
        except ValueError:
            return None
        return value

    if number(lines[0][1]) is None and number(re.split(r"[,;\s]+", lines[0][1])[0]) is None:
        lines = lines[1:]  # a header line (text)
    if len(lines) == 1:
        tokens = [t for t in re.split(r"[,;\s]+", lines[0][1]) if t]
        cells = [(lines[0][0], t) for t in tokens]
    else:
        cells = []
        for lineno, line in lines:
            if len([t for t in re.split(r"[,;\t]+", line) if t.strip()]) > 1:
                raise InputError("rscales file has more than one value on a line", where=f"{path}:{lineno}",
                                 got=repr(line[:40]),
                                 fix="one number per line, with a decimal point (0.5, not 0,5)")
            cells.append((lineno, line))
    values = []
    for lineno, token in cells:
        value = number(token)
        if value is None or not math.isfinite(value):
            raise InputError("rscales file holds something that is not a finite number",
                             where=f"{path}:{lineno}", got=repr(token[:40]),
                             fix="one number per replicate (a header may only be the first line)")
        values.append(value)
    if not values:
        raise InputError("rscales file has a header but no numbers", where=where,
                         fix="give one number per replicate")
    return values


def _read_design_file(design_file: Path) -> dict[str, Any]:
    """The design mapping of a design YAML file (read through sid.yamlio's limits)."""
    from sid.design import DESIGN_KEYS
    from sid.errors import DesignError
    from sid.yamlio import read_yaml

    doc = read_yaml(design_file, what="design file")
    data = doc.data if doc.data is not None else {}
    path: tuple[str, ...] = ()
    if isinstance(data, dict) and "design" in data:
        data, path = data["design"], ("design",)
    if not isinstance(data, dict):
        raise DesignError("a design file is a mapping", where=doc.where(*path),
                          got=type(data).__name__, fix="write keys such as weight: base_wt")
    problems = []
    for key in data:
        if key not in DESIGN_KEYS:
            import difflib

            close = difflib.get_close_matches(str(key), DESIGN_KEYS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{doc.where(*path, key)}: unknown key {key!r}{hint}")
    problems += [f"{doc.where(*p)}: key given twice" for p, _ in doc.duplicates]
    if problems:
        from sid.errors import CodebookError

        raise CodebookError(f"{len(problems)} problem(s) in the design file", where=str(design_file),
                            problems=tuple(problems), fix=f"use only {', '.join(DESIGN_KEYS)}")
    return {str(k): v for k, v in data.items()}


def design_from_options(wave: Any, command: str, *, codebook_file: Path | None,
                        wave_id: str | None, design_file: Path | None,
                        rscales_file: Path | None, **flags: Any) -> Any:
    """The Design that --codebook / --design FILE / --weight, --strata, ... describe.

    Flags override the design file; with --codebook the codebook's design
    variables are the base.
    """
    from sid.design import Design
    from sid.errors import DesignError

    spec: dict = {}
    rscales_from: Path | None = None
    if design_file is not None:
        design_file = Path(design_file)
        spec.update(_read_design_file(design_file))
        if isinstance(spec.get("rscales"), str):
            from sid.io.files import note_input

            rscales_from = design_file.parent / spec["rscales"]
            note_input(rscales_from, "rscales")
            spec["rscales"] = read_rscales(rscales_from)
    flags["mse"] = flags.get("mse") or None
    spec.update({k: v for k, v in flags.items() if v is not None})
    if rscales_file is not None:
        rscales_from = Path(rscales_file)
        spec["rscales"] = read_rscales(rscales_from)
    try:
        if codebook_file is not None:
            from sid.codebook import load_codebook

            return Design.from_codebook(wave, load_codebook(codebook_file), wave=wave_id, **spec)
        if not spec:
            raise DesignError("no design given", where=command,
                              fix="give --weight (and --strata/--psu/...), --design FILE or "
                                  "--codebook FILE")
        return Design.from_mapping(wave, spec)
    except DesignError as exc:
        if rscales_from is None or exc.where != "design rscales":
            raise
        raise DesignError(exc.what, where=f"{rscales_from} (rscales)", got=exc.got,
                          fix=exc.fix) from None


def _atomic_text(path: Path, text: str) -> None:
    from sid.io import write_text_atomic

    write_text_atomic(path, text)


def progress_printer() -> Callable[[str], None]:
    """A printer of progress lines with the time since it was made ("(na 1.2 s)"), on stdout:
    stderr holds only the one error line (or notes)."""
    import time

    start = time.perf_counter()

    def say(text: str) -> None:
        click.echo(f"{text} (na {time.perf_counter() - start:.1f} s)")

    return say
