"""Tests for the one YAML loader (sid.yamlio): limits, line numbers, schema problems."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict

from sid import yamlio
from sid.errors import CodebookError, InputError, SidError
from sid.resources import DATA_DIR
from sid.yamlio import MAX_DEPTH, YamlDocument, parse_yaml, read_yaml, validate_model


@pytest.mark.parametrize("path", sorted(DATA_DIR.rglob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_yaml_loads(path: Path) -> None:
    doc = read_yaml(path)
    assert doc.data and doc.lines[()] >= 1 and not doc.duplicates


def _bomb(levels: int) -> str:
    text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        text += f"a{i}: &a{i} [{refs}]\n"
    return text


@pytest.mark.parametrize(("text", "message"), [
    (_bomb(9), "expands to more than"),
    ("a: " + "[" * 1000 + "]" * 1000, f"nests deeper than {MAX_DEPTH}"),
    ("".join("  " * i + f"k{i}:\n" for i in range(200)), "nests deeper"),
    ("a: " + "9" * 5000, "a number of 5,000 characters"),
    ("a: &x [1, *x]", "refers to itself"),
    ("a: [1, 2", "not valid YAML"),
    ("a: \x01", "not valid YAML"),
])
def test_hostile_yaml_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(CodebookError, match=message) as info:
        parse_yaml(text, source="spec.yaml")
    assert info.value.line().startswith("spec.yaml")


def test_small_aliases_are_fine_and_duplicates_found() -> None:
    doc = parse_yaml("base: &b {x: 1}\nuse: *b\nk: 1\nk: 2\n", source="s.yaml")
    assert doc.data["use"] == {"x": 1}
    assert doc.duplicates == ((("k",), 4),)
    assert doc.where("use") == "s.yaml:2: use"
    assert doc.where("use", "x") == "s.yaml:1: use.x"  # the anchor defines it


def test_not_utf8_and_missing_file(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("naam: Zoë\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_yaml(latin)
    with pytest.raises(InputError, match="not found"):
        read_yaml(tmp_path / "absent.yaml")
    with pytest.raises(InputError, match="folder"):
        read_yaml(tmp_path)


class _Trim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upper: float = 5.0
    relative_to: str = "median"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: str
    trim: _Trim | None = None


def test_validate_model_reports_every_problem_with_line_and_hint() -> None:
    doc = parse_yaml("method: 3\ntrim:\n  uper: 2\n  relative_to: [1]\nmethd: x\n", source="w.yaml")
    with pytest.raises(CodebookError) as info:
        validate_model(doc, _Spec, what="weighting spec", fix="see docs/weighting.md")
    problems = info.value.problems
    assert len(problems) == 4
    assert "w.yaml:1: method: Input should be a valid string (got 3)" in problems
    assert any(p.startswith("w.yaml:3: trim.uper: unknown key; did you mean 'upper'?") for p in problems)
    assert any(p.startswith("w.yaml:5: methd: unknown key; did you mean 'method'?") for p in problems)
    assert any(p.startswith("w.yaml:4: trim.relative_to:") for p in problems)


def test_validate_model_returns_the_model() -> None:
    doc = parse_yaml("method: rake\ntrim: {upper: 3}\n", source="w.yaml")
    spec = validate_model(doc, _Spec, what="weighting spec", fix="")
    assert spec.trim is not None and spec.trim.upper == 3.0


class _Variable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = ""
    keep_missing: bool = False


class _Book(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variables: dict[str, _Variable] = {}
    tables: list[_Variable] = []


def test_did_you_mean_below_dict_keys_and_list_items() -> None:
    doc = parse_yaml("variables:\n  huur:\n    lable: x\ntables:\n  - keep: true\n", source="b.yaml")
    with pytest.raises(CodebookError) as info:
        validate_model(doc, _Book, what="book", fix="")
    problems = info.value.problems
    assert any(p.startswith("b.yaml:3: variables.huur.lable: unknown key; did you mean 'label'?")
               for p in problems), problems
    assert any(p.startswith("b.yaml:5: tables.0.keep: unknown key; did you mean 'keep_missing'?")
               for p in problems), problems


# --- libyaml (yaml.CSafeLoader) and PyYAML's pure parser: the same documents, the same errors

_needs_libyaml = pytest.mark.skipif(getattr(yaml, "CSafeLoader", None) is None,
                                    reason="PyYAML without libyaml")


def _outcome(parse: Any, text: str) -> tuple[Any, ...]:
    try:
        doc = parse(text)
    except SidError as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("ok", repr(doc.data), dict(doc.lines), doc.duplicates)


def _pure(text: str) -> YamlDocument:
    return yamlio._parse(text, "spec.yaml", "YAML file", yaml.SafeLoader)


def _parsers_used(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    used: list[Any] = []
    inner = yamlio._parse

    def spy(text: str, source: str, what: str, loader_class: Any) -> YamlDocument:
        used.append(loader_class)
        return inner(text, source, what, loader_class)

    monkeypatch.setattr(yamlio, "_parse", spy)
    return used


@_needs_libyaml
@pytest.mark.parametrize("path", sorted(DATA_DIR.rglob("*.yaml")), ids=lambda p: p.name)
def test_shipped_yaml_read_by_libyaml_as_by_the_pure_parser(path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_text(encoding="utf-8-sig")
    expected = _outcome(_pure, text)
    used = _parsers_used(monkeypatch)
    assert _outcome(lambda t: parse_yaml(t, source="spec.yaml"), text) == expected
    assert used == [yaml.CSafeLoader]  # the fast parser alone


@_needs_libyaml
@pytest.mark.parametrize("text", [
    _bomb(9), "a: " + "[" * 1000 + "]" * 1000, "".join("  " * i + f"k{i}:\n" for i in range(200)),
    "a: " + "9" * 5000, "a: &x [1, *x]", "a: [1, 2", "a: \x01", "k: 1\nk: 2\n",
    # where libyaml is more lenient than the pure parser: still the pure parser's error
    "k: [B?I]", "k: {a?: 1}", "k: |#x\n", "k: >#&\n", "a: 1\t# c", "a:\t1",
    "k: !foo x", "a: 1\x85b: 2", "k: [a, b]\r\nc: 1\r\n", "k: |\n  x\n", "k: >-  # c\n  x\n",
])
def test_libyaml_gives_the_pure_parsers_result_and_message(text: str) -> None:
    assert _outcome(lambda t: parse_yaml(t, source="spec.yaml"), text) == _outcome(_pure, text)


@_needs_libyaml
def test_random_yaml_read_as_the_pure_parser_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeded fuzz over the characters where the parsers differ (tabs, flow '?', tags,
    block scalar headers, line breaks): parse_yaml always gives the pure parser's outcome."""
    rng = random.Random(20261127)
    alphabet = list(",?:[]{}-#'\" abc\n!&*|>%@`\t\r\x85")
    used = _parsers_used(monkeypatch)
    fast_only = 0
    for _ in range(3000):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        text = rng.choice(["k: ", "- ", "a:\n  b: ", ""]) + rng.choice(["[", "{", "", "|", ">"]) + body
        used.clear()
        got = _outcome(lambda t: parse_yaml(t, source="spec.yaml"), text)
        fast_only += used == [yaml.CSafeLoader]
        assert got == _outcome(_pure, text), repr(text)
    assert fast_only > 50  # libyaml did read many of them alone
