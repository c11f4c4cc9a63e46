"""The public API (sid.__all__): every name loads, is never a module, and keeps its identity."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import pytest

import sid

SUBMODULES = sorted(m.name for m in pkgutil.walk_packages(sid.__path__, "sid."))


def test_no_public_name_is_a_submodule() -> None:
    top = {name.split(".")[1] for name in SUBMODULES}
    assert not top & set(sid.__all__), top & set(sid.__all__)


def test_no_package_exports_a_name_that_is_its_own_submodule() -> None:
    """As for sid itself: sid.weighting.rake is the function, never the module."""
    for package in sorted({n.rsplit(".", 1)[0] for n in SUBMODULES if n.count(".") >= 2}):
        module = importlib.import_module(package)
        children = {n.rsplit(".", 1)[1] for n in SUBMODULES if n.rsplit(".", 1)[0] == package}
        clash = children & set(getattr(module, "__all__", ()))
        assert not clash, f"{package} exports {sorted(clash)}, also submodules"


@pytest.mark.parametrize("name", [n for n in sid.__all__ if n != "__version__"])
def test_public_name_loads_and_keeps_its_identity(name: str) -> None:
    first = getattr(sid, name)
    assert not isinstance(first, types.ModuleType)
    for module in SUBMODULES:  # importing every submodule must not rebind a public name
        importlib.import_module(module)
    assert getattr(sid, name) is first


def test_same_type_however_often_looked_up_in_a_fresh_process() -> None:
    code = ("import sid, sid.estimation, sid.validation; a = type(sid.estimate); "
            "import sid.estimation; b = type(sid.estimate); print(a is b, callable(sid.estimate), "
            "callable(sid.validate))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True"]


def test_import_sid_stays_light() -> None:
    code = "import sys, sid; print(sorted(m for m in sys.modules if m.startswith(('pandas', 'scipy'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'estimat'"):
        sid.estimat  # noqa: B018


def test_all_lists_exactly_the_exports() -> None:
    assert set(sid.__all__) - {"__version__"} == set(sid._EXPORTS)
