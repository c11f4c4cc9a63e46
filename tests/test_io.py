"""Tests for sid.io: reading real files in place, faithful round trips, clear errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import corpus_names
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sid.cli import main
from sid.errors import InputError, LossError
from sid.io import (
    MissingSpec,
    Wave,
    compare_waves,
    make_wave,
    read_table,
    read_wave,
    scan_wave,
    start_wave_read,
    to_stata_missing,
    write_wave,
)

# The corpus (real files written by other tools, ../shared/corpus) comes from the `corpus`
# and `corpus_file` fixtures of conftest.py: skipped with a reason when absent, a failure
# under SID_REQUIRE_CORPUS=1 (CI).


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corpus_is_there(corpus: Path) -> None:
    assert len(corpus_names()) >= 12, f"expected the 12 files of the shared corpus at {corpus}"


# --------------------------------------------------------------------------- corpus


def test_every_corpus_file_reads_and_is_not_modified(corpus_file: Path) -> None:
    path = corpus_file
    before = sha(path), path.stat().st_mtime_ns
    wave = read_wave(path)
    meta = scan_wave(path)
    assert wave.meta.sha256 == before[0] == meta.sha256
    assert wave.meta.n_rows == len(wave.data) > 0
    assert wave.meta.columns == tuple(wave.data.columns) == meta.columns
    assert (sha(path), path.stat().st_mtime_ns) == before


@pytest.mark.parametrize("ext", ["sav", "zsav", "dta"])
def test_corpus_round_trip_or_named_loss(corpus_file: Path, ext: str, tmp_path: Path) -> None:
    """Each file either round-trips exactly or the writer names what would be lost."""
    path = corpus_file
    wave = read_wave(path)
    if ext == "dta":
        wave = to_stata_missing(wave)
    out = tmp_path / f"copy.{ext}"
    try:
        write_wave(wave, out, allow_loss=("mr_sets",))
    except LossError as exc:
        assert not out.exists()
        assert list(tmp_path.iterdir()) == []  # no temporary file left behind
        assert str(out) in exc.line()
        return
    back = read_wave(out)
    expected = wave
    diffs = compare_waves(expected, back)
    # mr_sets were explicitly allowed to go; everything else must be equal
    diffs = [d for d in diffs if not d.startswith("multiple-response")]
    assert diffs == []


def test_spss_discrete_user_missing_values_stay_codes(corpus: Path) -> None:
    wave = read_wave(corpus / "simple_alltypes.sav")
    x = wave.meta.variable("x")
    assert x.missing.values == (7.0, 8.0, 99.0)
    assert x.missing.ranges == ()
    assert dict(x.value_labels) == {1.0: "red", 2.0: "green", 3.0: "blue"}


def test_spss_missing_range_plus_value(corpus: Path) -> None:
    wave = read_wave(corpus / "simple_alltypes.sav")
    z = wave.meta.variable("z")
    assert z.missing.ranges == ((-999.0, 0.0),)
    assert z.missing.values == (999.0,)
    mask = wave.user_missing_mask("z")
    data = wave.data["z"]
    assert mask.tolist() == [(-999 <= v <= 0) or v == 999 for v in data.fillna(1e9)]
    # a user-missing code is kept as its code, not turned into NaN
    assert data[mask].notna().all()


def test_sample_missing_codes_are_kept_and_marked(corpus: Path) -> None:
    wave = read_wave(corpus / "sample_missing.sav")
    myord = wave.data["myord"]
    assert -1.0 in myord.tolist() and -3.0 in myord.tolist()
    assert wave.meta.variable("myord").missing.values == (-1.0, -2.0, -3.0)
    mask = wave.user_missing_mask("myord")
    assert mask.tolist() == [False] * 5 + [True, True]
    assert not wave.system_missing_mask("myord").any()
    mynum = wave.meta.variable("mynum").missing
    assert mynum.ranges == ((2000.0, 3000.0),) and mynum.values == (-1.0,)
    assert wave.user_missing_mask("mynum").tolist() == [False] * 5 + [True, True]


def test_string_user_missing(corpus: Path) -> None:
    wave = read_wave(corpus / "missing_char.sav")
    assert wave.meta.variable("mychar").missing.values == ("Z",)
    assert wave.user_missing_mask("mychar").tolist() == [True, False]


def test_stata_extended_missing_kept_as_letters(corpus: Path) -> None:
    wave = read_wave(corpus / "missing_test.dta")
    for var, letter in zip(["var1", "var2", "var3", "var4", "var5", "var6"], "abcxyz", strict=True):
        assert wave.extended_missing[var].tolist() == [letter]
        assert wave.meta.variable(var).missing.extended == (letter,)
        assert wave.data[var].isna().all()
        assert wave.user_missing_mask(var).all()
        assert wave.meta.variable(var).kind == "numeric"
    assert dict(wave.meta.variable("var1").value_labels) == {"a": "missing"}
    # var7 and var8 are system-missing, var9 is valid
    assert wave.system_missing_mask("var7").all()
    assert wave.data["var9"].tolist() == [1.0]


def test_multiple_response_sets_are_read(corpus: Path) -> None:
    meta = scan_wave(corpus / "simple_alltypes.sav")
    assert meta.mr_sets["mymrset"]["variable_list"] == ["bool1", "bool2", "bool3"]
    assert meta.mr_sets["mymrset"]["counted_value"] == 1


def test_writing_mr_sets_needs_explicit_consent(corpus: Path, tmp_path: Path) -> None:
    wave = read_wave(corpus / "simple_alltypes.sav")
    with pytest.raises(LossError, match="multiple-response sets"):
        write_wave(wave, tmp_path / "x.sav")
    assert list(tmp_path.iterdir()) == []


def test_encodings_and_non_ascii_names(corpus: Path) -> None:
    hebrew = read_wave(corpus / "hebrews.sav")
    assert hebrew.meta.encoding == "UTF-8"
    assert hebrew.columns == ("ותק_ב",)
    windows = read_wave(corpus / "sample.sav")
    assert windows.meta.encoding == "windows-1252"


def test_dates_are_dates(corpus: Path) -> None:
    wave = read_wave(corpus / "sample.sav")
    assert wave.meta.variable("mydate").kind == "date"
    assert wave.data["mydate"].iloc[0] == dt.date(2018, 5, 6)
    assert wave.meta.variable("mytime").kind == "time"
    assert wave.meta.variable("dtime").kind == "datetime"


def test_columns_subset(corpus: Path) -> None:
    wave = read_wave(corpus / "sample.sav", columns=["mynum", "mylabl"])
    assert wave.columns == ("mynum", "mylabl")
    assert wave.meta.columns == ("mynum", "mylabl")
    with pytest.raises(InputError, match="nope"):
        read_wave(corpus / "sample.sav", columns=["mynum", "nope"])


# --------------------------------------------------------------------------- our own waves


def dutch_wave() -> object:
    data = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "land": ["België", "één", "café", "", "Marokko", "België"],
            "werkbeh": [1, 2, 3, 7, 8, 9],
            "score": [0.5, 7.25, np.nan, 97, 98, -1],
            "leeg": [np.nan] * 6,
            "datum": [dt.date(2022, 1, d) for d in range(1, 7)],
            "code": ["a", "b", "a", "x", "b", "a"],
        }
    )
    long_label = "Werd u in de afgelopen twaalf maanden op het werk niet correct behandeld? " * 3
    return make_wave(
        data,
        labels={"werkbeh": long_label.strip(), "land": "Geboorteland (één keuze)", "leeg": "Altijd leeg"},
        value_labels={
            "werkbeh": {1: "nooit", 2: "soms", 3: "vaak", 7: "niet van toepassing", 8: "weet niet",
                        9: "geen antwoord"},
            "score": {0: "helemaal geen", 97: "weet niet"},
            "code": {"a": "één", "b": "café"},
        },
        missing={
            "werkbeh": [7, 8, 9],
            "score": MissingSpec(values=(-1.0,), ranges=((97.0, 99.0),)),
            "code": ["x"],
        },
        measure={"werkbeh": "ordinal"},
        file_label="SID test (België)",
    )


@pytest.mark.parametrize("ext", ["sav", "zsav"])
def test_spss_round_trip_keeps_everything(ext: str, tmp_path: Path) -> None:
    wave = dutch_wave()
    written = write_wave(wave, tmp_path / f"w.{ext}")
    back = read_wave(tmp_path / f"w.{ext}")
    assert compare_waves(wave, back) == []
    assert written.sha256 == sha(tmp_path / f"w.{ext}")
    assert back.meta.variable("werkbeh").missing.values == (7.0, 8.0, 9.0)
    assert back.meta.variable("score").missing == MissingSpec(values=(-1.0,), ranges=((97.0, 99.0),))
    assert back.meta.variable("werkbeh").label.startswith("Werd u in de afgelopen")
    assert len(back.meta.variable("werkbeh").label) > 200
    assert back.meta.variable("werkbeh").measure == "ordinal"
    assert back.meta.file_label == "SID test (België)"
    assert back.data["land"].tolist()[:3] == ["België", "één", "café"]
    assert back.user_missing_mask("werkbeh").tolist() == [False, False, False, True, True, True]
    assert back.user_missing_mask("code").tolist() == [False, False, False, True, False, False]
    assert back.data["leeg"].isna().all()


def test_stata_round_trip_maps_missing_codes_to_letters(tmp_path: Path) -> None:
    wave = dutch_wave()
    data = wave.data.drop(columns=["code"])  # Stata cannot label string values
    wave = make_wave(
        data,
        labels={"werkbeh": "Niet correct behandeld op het werk"},
        value_labels={"werkbeh": {1: "nooit", 2: "soms", 3: "vaak", 7: "niet van toepassing",
                                  8: "weet niet", 9: "geen antwoord"}},
        missing={"werkbeh": [7, 8, 9], "score": MissingSpec(values=(-1.0,), ranges=((97.0, 99.0),))},
    )
    with pytest.raises(LossError, match="to_stata_missing"):
        write_wave(wave, tmp_path / "w.dta")
    stata = to_stata_missing(wave)
    write_wave(stata, tmp_path / "w.dta")
    back = read_wave(tmp_path / "w.dta")
    assert compare_waves(stata, back) == []
    assert back.extended_missing["werkbeh"].tolist() == ["a", "b", "c"]
    assert dict(back.meta.variable("werkbeh").value_labels)["b"] == "weet niet"
    # score: rows 3, 4, 5 hold 97, 98, -1; codes in ascending order get .a, .b, .c
    assert back.extended_missing["score"].sort_index().tolist() == ["b", "c", "a"]
    assert back.user_missing_mask("werkbeh").tolist() == [False, False, False, True, True, True]
    assert np.isnan(back.data["score"].iloc[2]) and not back.user_missing_mask("score")[2]


def test_stata_refuses_labels_on_non_integers(tmp_path: Path) -> None:
    wave = make_wave(pd.DataFrame({"x": [0.5, 1.0]}), value_labels={"x": {0.5: "half", 1: "one"}})
    with pytest.raises(LossError, match=r"x: Stata labels integer codes only, not 0.5"):
        write_wave(wave, tmp_path / "x.dta")
    assert not (tmp_path / "x.dta").exists()
    write_wave(wave, tmp_path / "x.sav")  # SPSS can
    assert dict(read_wave(tmp_path / "x.sav").meta.variable("x").value_labels) == {0.5: "half", 1.0: "one"}


def test_spss_refuses_too_many_missing_codes(tmp_path: Path) -> None:
    wave = make_wave(pd.DataFrame({"x": [1.0, 2.0]}), missing={"x": [7, 8, 9, 99]})
    with pytest.raises(LossError, match="x: SPSS allows 3 discrete missing codes"):
        write_wave(wave, tmp_path / "x.sav")
    assert list(tmp_path.iterdir()) == []


def test_write_never_overwrites_its_input(corpus: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.sav"
    shutil.copy(corpus / "sample.sav", src)
    wave = read_wave(src)
    before = sha(src)
    with pytest.raises(InputError, match="never modified"):
        write_wave(wave, src)
    assert sha(src) == before


def test_failed_write_leaves_existing_output_untouched(tmp_path: Path) -> None:
    target = tmp_path / "out.dta"
    target.write_bytes(b"previous content")
    wave = make_wave(pd.DataFrame({"x": [0.5]}), value_labels={"x": {0.5: "half"}})
    with pytest.raises(LossError):
        write_wave(wave, target)
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.dta"]


def test_make_wave_rejects_metadata_for_unknown_columns() -> None:
    with pytest.raises(InputError, match="'nope'"):
        make_wave(pd.DataFrame({"x": [1]}), labels={"nope": "x"})


# --------------------------------------------------------------------------- bad input


def test_missing_file() -> None:
    with pytest.raises(InputError, match="file not found"):
        read_wave("does/not/exist.sav")


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(InputError, match=r"unknown file type '.xlsx'.*\.sav"):
        read_wave(path)


@pytest.mark.parametrize("name", ["sample.sav", "sample.dta", "sample.zsav"])
def test_truncated_file(corpus: Path, name: str, tmp_path: Path) -> None:
    raw = (corpus / name).read_bytes()
    path = tmp_path / name
    path.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(InputError) as info:
        read_wave(path)
    assert str(path) in info.value.line()
    assert "re-export" in info.value.line() or "damaged" in info.value.line()


def test_not_a_sav_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.sav"
    path.write_text("id,x\n1,2\n")
    with pytest.raises(InputError, match="cannot read the file"):
        read_wave(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.dta"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="file is empty"):
        read_wave(path)


def test_wrong_encoding_name(corpus: Path) -> None:
    with pytest.raises(InputError, match="encoding"):
        read_wave(corpus / "sample.sav", encoding="no-such-encoding")


def test_read_table_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("x,y\n1,a\n2,b\n", encoding="utf-8")
    wave = read_table(path)
    assert wave.data["x"].dtype == np.float64
    assert wave.meta.file_format == "csv"


# --------------------------------------------------------------------------- property-based


labels_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
).map(str.strip).filter(bool)


@st.composite
def labelled_frames(draw: st.DrawFn) -> object:
    n = draw(st.integers(min_value=1, max_value=25))
    n_vars = draw(st.integers(min_value=1, max_value=4))
    columns, value_labels, missing, labels = {}, {}, {}, {}
    for i in range(n_vars):
        name = f"v{i}"
        codes = draw(st.lists(st.integers(-9, 12), min_size=1, max_size=6, unique=True))
        values = draw(st.lists(st.sampled_from(codes + [None]), min_size=n, max_size=n))
        columns[name] = [np.nan if v is None else float(v) for v in values]
        value_labels[name] = {float(c): draw(labels_text) for c in codes}
        miss = draw(st.lists(st.sampled_from(codes), max_size=3, unique=True))
        if miss:
            missing[name] = miss
        labels[name] = draw(labels_text)
    columns["s"] = draw(st.lists(st.text(alphabet="abcéëü ", max_size=8), min_size=n, max_size=n))
    return make_wave(pd.DataFrame(columns), labels=labels, value_labels=value_labels, missing=missing)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wave=labelled_frames(), ext=st.sampled_from(["sav", "zsav", "dta"]))
def test_random_labelled_frames_round_trip(wave: object, ext: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("prop")
    if ext == "dta":
        wave = to_stata_missing(wave)
    out = folder / f"w.{ext}"
    write_wave(wave, out)
    back = read_wave(out)
    assert compare_waves(wave, back, trailing_blanks=ext == "dta") == []
    for name in wave.meta.columns:
        assert back.user_missing_mask(name).tolist() == wave.user_missing_mask(name).tolist()


# --------------------------------------------------------------------------- CLI


def test_sid_info_table_and_json(corpus: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["info", str(corpus / "sample_missing.sav")])
    assert result.exit_code == 0, result.output
    assert "7 rows, 7 columns" in result.output
    assert "-1, -2, -3" in result.output
    result = runner.invoke(main, ["info", "--json", str(corpus / "simple_alltypes.sav")])
    payload = json.loads(result.output)
    assert payload["rows"] == 6 and payload["columns"] == 12
    x = next(v for v in payload["variables"] if v["name"] == "x")
    assert x["missing_codes"] == "7, 8, 99" and x["n_value_labels"] == 3
    assert payload["mr_sets"]["mymrset"]["variable_list"] == ["bool1", "bool2", "bool3"]


def test_sid_info_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["info", str(tmp_path / "nope.sav")])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "file not found" in result.output and "Traceback" not in result.output


def test_sid_help_does_not_import_heavy_modules() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from click.testing import CliRunner; from sid.cli import main; "
        "CliRunner().invoke(main, ['--help']); "
        "print(sorted(m for m in ('pandas', 'numpy', 'pyreadstat', 'scipy', 'openpyxl') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- atomic output


def _no_umask_change(*_args: object) -> int:
    raise AssertionError("atomic_output must not change the process umask")


def test_atomic_output_permissions_follow_umask_without_changing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sid.io import atomic_output

    old = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", _no_umask_change)
        target = tmp_path / "out.txt"
        with atomic_output(target) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".txt" and tmp.name.startswith(".out.txt.")
            tmp.write_text("x", encoding="utf-8")
        assert target.read_text(encoding="utf-8") == "x"
        assert target.stat().st_mode & 0o777 == 0o640
    finally:
        monkeypatch.undo()
        os.umask(old)


def test_atomic_output_refuses_a_missing_parent_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    from sid.io import atomic_output, write_text_atomic

    target = tmp_path / "a" / "b" / "out.txt"
    with pytest.raises(InputError, match=r"does not exist\. Fix: create it first \(mkdir -p"):
        write_text_atomic(target, "first\r\n")
    assert not (tmp_path / "a").exists()  # the rule: sid never creates the folders above an output
    target.parent.mkdir(parents=True)
    write_text_atomic(target, "first\r\n")
    assert target.read_bytes() == b"first\r\n"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("second", encoding="utf-8")
        raise RuntimeError("boom")
    assert target.read_bytes() == b"first\r\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_atomic_output_parent_that_is_a_file_is_an_input_error(tmp_path: Path) -> None:
    from sid.io import write_text_atomic

    (tmp_path / "f").write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="is a file, not a folder"):
        write_text_atomic(tmp_path / "f" / "out.txt", "x")


def test_atomic_outputs_is_all_or_nothing(tmp_path: Path) -> None:
    from sid.io import atomic_outputs

    a, b = tmp_path / "a.csv", tmp_path / "sub" / "b.md"
    b.parent.mkdir()
    a.write_text("old a", encoding="utf-8")
    with pytest.raises(ValueError), atomic_outputs([a, b]) as (ta, tb):
        ta.write_text("new a", encoding="utf-8")
        raise ValueError("second file failed")
    assert a.read_text(encoding="utf-8") == "old a" and not b.exists()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.csv"]
    with atomic_outputs([a, b]) as (ta, tb):
        ta.write_text("new a", encoding="utf-8")
        tb.write_text("new b", encoding="utf-8")
        assert a.read_text(encoding="utf-8") == "old a"  # nothing renamed before the end
    assert (a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")) == ("new a", "new b")
    with pytest.raises(InputError, match="named twice"), atomic_outputs([a, tmp_path / "." / "a.csv"]):
        pass


def test_write_wave_into_a_new_folder(tmp_path: Path) -> None:
    wave = make_wave(pd.DataFrame({"x": [1.0, 2.0]}), labels={"x": "X"})
    with pytest.raises(InputError, match="does not exist"):
        write_wave(wave, tmp_path / "new" / "w.sav")
    (tmp_path / "new").mkdir()
    meta = write_wave(wave, tmp_path / "new" / "w.sav")
    assert meta.path == str(tmp_path / "new" / "w.sav") and meta.n_rows == 2


# --------------------------------------------------------------------------- damaged and hostile files


def _mutants(rng: np.random.Generator, data: bytes, n: int) -> list[bytes]:
    """``n`` copies of ``data`` with one byte set to a random value (a few with 2-4)."""
    out = []
    for _ in range(n):
        b = bytearray(data)
        for _ in range(1 if rng.random() < 0.8 else int(rng.integers(2, 5))):
            b[int(rng.integers(len(b)))] = int(rng.integers(256))
        out.append(bytes(b))
    return out


def _read_outcome(path: Path) -> str:
    """'wave' or 'error' (a one-line SidError); anything else fails the test."""
    from sid.errors import SidError

    try:
        wave = read_wave(path)
    except SidError as exc:
        assert "\n" not in exc.line() and "Traceback" not in exc.line(), exc.line()
        return "error"
    assert isinstance(wave, Wave)
    return "wave"


def test_byte_mutations_of_corpus_and_synthetic_waves_never_crash(tmp_path: Path, corpus: Path) -> None:
    """Seeded one-byte flips of every corpus file and of a labelled synthetic wave: each read
    is a Wave or one SidError line; a reader crash (SIGSEGV in ReadStat) is one of them."""
    rng = np.random.default_rng(20261127)
    synthetic = make_wave(
        pd.DataFrame({"id": np.arange(40.0), "g": np.tile([1.0, 2.0, 9.0, 1.0], 10),
                      "s": ["ab", "cd"] * 20}),
        labels={"g": "Groep"}, value_labels={"g": {1: "een", 2: "twee", 9: "weet niet"}},
        missing={"g": MissingSpec(values=(9.0,))})
    sources = [corpus / name for name in corpus_names()]
    for suffix in (".sav", ".zsav"):
        write_wave(synthetic, tmp_path / f"synthetic{suffix}")
        sources.append(tmp_path / f"synthetic{suffix}")
    outcomes: dict[str, int] = {"wave": 0, "error": 0}
    for k, source in enumerate(sources):
        for j, data in enumerate(_mutants(rng, source.read_bytes(), 5)):
            target = tmp_path / f"m{k}_{j}{source.suffix}"
            target.write_bytes(data)
            outcomes[_read_outcome(target)] += 1
    assert sum(outcomes.values()) == 5 * len(sources)
    assert outcomes["error"] > 0 and outcomes["wave"] > 0, outcomes
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files


def _stata_with_rows(tmp_path: Path, corpus: Path, rows: int) -> Path:
    """A copy of a corpus .dta (format 117, LSF) whose header declares ``rows`` rows."""
    data = bytearray((corpus / "sample.dta").read_bytes())
    pos = data.index(b"<N>") + 3
    data[pos:pos + 4] = rows.to_bytes(4, "little")
    path = tmp_path / "declares.dta"
    path.write_bytes(bytes(data))
    return path


def test_a_dta_declaring_more_rows_than_fit_is_refused_before_reading(tmp_path: Path,
                                                                     corpus: Path) -> None:
    path = _stata_with_rows(tmp_path, corpus, 10**9)
    with pytest.raises(InputError, match=r"declares 1,000,000,000 rows, which cannot fit in"):
        read_wave(path)
    with pytest.raises(InputError, match="damaged"):
        scan_wave(path)
    assert read_wave(_stata_with_rows(tmp_path, corpus, 5)).meta.n_rows == 5  # the true count passes


def test_a_sav_declaring_more_rows_than_fit_is_refused(tmp_path: Path, corpus: Path) -> None:
    import struct

    data = bytearray((corpus / "sample.sav").read_bytes())
    data[80:84] = struct.pack("<i", 2_000_000_000)
    path = tmp_path / "declares.sav"
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["info", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "declares 2,000,000,000 rows" in result.output and "re-export it from SPSS/Stata" in result.output


# One-byte flips of a corpus file that make ReadStat (pyreadstat 1.x) die of SIGSEGV, found by
# the seeded mutation search in docs/decisions.md ("Reading damaged or hostile files").
SEGFAULTS = [("ordered_category.sav", 180, 172), ("ordered_category.sav", 272, 243)]


@pytest.mark.parametrize(("name", "offset", "value"), SEGFAULTS)
def test_a_crash_inside_the_reader_is_one_line(tmp_path: Path, corpus: Path, name: str, offset: int,
                                               value: int) -> None:
    """The reader crashes on these files (exit 139 before): now one line and exit code 2,
    for `sid info` (metadata only) and for a full read."""
    data = bytearray((corpus / name).read_bytes())
    data[offset] = value
    path = tmp_path / name
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["info", str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert f"{path}: the file is damaged" in result.output
    assert "Fix: re-export it from SPSS/Stata" in result.output
    with pytest.raises(InputError, match=r"reader crashed on it \(signal SIGSEGV\)"):
        read_wave(path)


def test_reads_are_bounded_in_memory(tmp_path: Path) -> None:
    """The child's address space is capped (RLIMIT_AS): a read that needs more is one line.
    Run in a fresh interpreter, whose address space has no freed heap left over from other
    tests for the reader to reuse under the cap."""
    import subprocess
    import sys

    if os.name != "posix" or not Path("/proc/self/status").exists():
        pytest.skip("RLIMIT_AS and /proc are Linux")
    path = tmp_path / "wide.sav"
    write_wave(make_wave(pd.DataFrame({f"v{i}": np.arange(200_000.0) for i in range(10)})), path)
    script = f"""
from pathlib import Path
import sid.io.child as child
from sid.errors import SidError
from sid.io import read_wave

def address_space():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize"):
            return int(line.split()[1]) * 1024

cap = child.memory_cap
child.memory_cap = lambda _: address_space() + 8 * 2**20
try:
    read_wave({str(path)!r})
except SidError as exc:
    print(exc.line())
child.memory_cap = cap
assert read_wave({str(path)!r}).meta.n_rows == 200_000
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1 and "wide.sav: " in done.stdout, done.stdout
    assert "memory" in done.stdout, done.stdout  # the cap, or malloc inside ReadStat


def test_info_on_a_dta_with_a_zeroed_type_block(tmp_path: Path, corpus: Path) -> None:
    """Found by scripts/fuzz.py (seed 7): 16 zero bytes at offset 534 of missing_test.dta
    leave a variable's type unknown; `sid info` printed a traceback, now the table."""
    data = bytearray((corpus / "missing_test.dta").read_bytes())
    data[534:550] = bytes(16)
    path = tmp_path / "mutant.dta"
    path.write_bytes(bytes(data))
    result = CliRunner().invoke(main, ["info", str(path)])
    assert "Traceback" not in result.output and result.exception is None or \
        isinstance(result.exception, SystemExit)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_forked_reader_child_imports_nothing_new(synthetic_dir: Path) -> None:
    """The parent imports what a reader child needs before forking (sid.io.child
    _CHILD_IMPORTS, issue 14), so no child pays for importing it again; a process
    without pyreadstat loaded is left alone."""
    import subprocess
    import sys

    code = f"""
import json, sys
from pathlib import Path
import pandas, pyreadstat
from sid.io import child
inner = child._child
def spy(conn, reader_name, path, kwargs, cap, *rest):
    before = set(sys.modules)
    try:
        inner(conn, reader_name, path, kwargs, cap, *rest)
    finally:
        sys.stderr.write(json.dumps(sorted(set(sys.modules) - before)) + "\\n")
child._child = spy
if child._context().get_start_method() != "fork":
    raise SystemExit(3)
for _ in range(2):
    child.start_reader("read_sav", Path({str(synthetic_dir / "sid2022.sav")!r}), {{}}).result()
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if res.returncode == 3:
        pytest.skip("no fork on this platform")
    assert res.returncode == 0, res.stderr
    assert [json.loads(line) for line in res.stderr.splitlines()] == [[], []]
    bare = ("import sys; from sid.io import child; child._preload_for_fork(); "
            "print(sorted(m for m in sys.modules if m.startswith(('narwhals', 'pyreadstat'))))")
    res = subprocess.run([sys.executable, "-c", bare], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"


def _same_wave(a: Wave, b: Wave) -> None:
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.meta == b.meta
    assert a.extended_missing.keys() == b.extended_missing.keys()
    for name in a.extended_missing:
        pd.testing.assert_series_equal(a.extended_missing[name], b.extended_missing[name])


def test_started_reads_give_what_read_wave_gives(synthetic_dir: Path) -> None:
    """start_wave_read (issue 14: `sid tables` reads its files while it loads the rest):
    three reads at once, collected in another order, give read_wave's waves."""
    names = ["sid2022.sav", "sid2017.sav", "sid2022.dta", "sid2022_gross.sav"]
    started = [start_wave_read(synthetic_dir / n) for n in names]
    got = [collect() for collect in reversed(started)][::-1]
    for name, wave in zip(names, got, strict=True):
        _same_wave(wave, read_wave(synthetic_dir / name))


def test_a_started_read_that_fails_says_so_when_collected(tmp_path: Path,
                                                          synthetic_dir: Path) -> None:
    """Starting never raises: each failure (no file, not a data file, a header that cannot
    be true, bytes the reader rejects) is raised when collected, as the same one line
    read_wave gives, so a command reports its errors in the order it needs the files."""
    import struct

    data = bytearray((synthetic_dir / "sid2022.sav").read_bytes())
    data[80:84] = struct.pack("<i", 2_000_000_000)
    (tmp_path / "declares.sav").write_bytes(bytes(data))
    (tmp_path / "text.sav").write_text("not a data file")
    (tmp_path / "folder.sav").mkdir()
    bad = [tmp_path / n for n in ("absent.sav", "text.sav", "folder.sav", "declares.sav")]
    started = [start_wave_read(p) for p in bad]
    for path, collect in zip(bad, started, strict=True):
        with pytest.raises(InputError) as direct:
            read_wave(path)
        with pytest.raises(InputError) as late:
            collect()
        assert late.value.line() == direct.value.line(), path


@pytest.mark.parametrize(("name", "offset", "value"), SEGFAULTS[:1])
def test_a_started_read_whose_reader_crashes_is_one_line(tmp_path: Path, corpus: Path,
                                                         synthetic_dir: Path, name: str,
                                                         offset: int, value: int) -> None:
    """A reader child that dies while others run: its own one line, the others unharmed."""
    data = bytearray((corpus / name).read_bytes())
    data[offset] = value
    path = tmp_path / name
    path.write_bytes(bytes(data))
    good = start_wave_read(synthetic_dir / "sid2022.sav")
    crashing = start_wave_read(path)
    with pytest.raises(InputError, match=r"reader crashed on it \(signal SIGSEGV\)"):
        crashing()
    _same_wave(good(), read_wave(synthetic_dir / "sid2022.sav"))


def test_a_started_read_can_be_cancelled_or_dropped(synthetic_dir: Path) -> None:
    """cancel() ends the reader child unread; a read that is neither collected nor
    cancelled is ended when it is garbage-collected (no reader outlives its use)."""
    import gc
    import multiprocessing

    def readers() -> list[object]:
        return [p for p in multiprocessing.active_children() if p.daemon]

    started = start_wave_read(synthetic_dir / "sid2022.sav")
    assert len(readers()) == 1
    started.cancel()
    assert readers() == []
    started.cancel()  # twice: nothing
    dropped = start_wave_read(synthetic_dir / "sid2017.sav")
    assert len(readers()) == 1
    del dropped
    gc.collect()
    assert readers() == []
    collected = start_wave_read(synthetic_dir / "sid2022.sav")
    _same_wave(collected(), read_wave(synthetic_dir / "sid2022.sav"))
    collected.cancel()  # after collecting: nothing
    assert readers() == []

