"""What a user's `pip install .` and `nox` get: console scripts that start on the base
dependencies alone, and nox sessions that fail loudly on a Python they cannot use."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Run in a fresh interpreter: hides every installed distribution that `pip install .`
# would not bring (the extras and whatever else this environment has), then imports each
# console script's module and asks it for --help.
ONLY_BASE_DEPENDENCIES = r"""
import importlib, importlib.abc, importlib.metadata as md, json, re, sys
from packaging.requirements import Requirement

base, scripts, project = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
# The project itself (installed as a distribution in nox's venv, or run from the source
# tree) and what it requires without extras: exactly what `pip install .` brings.
allowed, todo = set(), [project, *(Requirement(r).name for r in base)]
while todo:
    name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
    if name in allowed:
        continue
    allowed.add(name)
    try:
        requires = md.requires(name) or []
    except md.PackageNotFoundError:
        continue
    for text in requires:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            todo.append(req.name)

hidden = {
    module
    for module, dists in md.packages_distributions().items()
    if not any(re.sub(r"[-_.]+", "-", d).lower() in allowed for d in dists)
}

class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.partition(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {fullname!r} (not a base dependency)")
        return None

sys.meta_path.insert(0, Hide())
for script, target in scripts.items():
    module, _, function = target.partition(":")
    main = getattr(importlib.import_module(module), function)
    try:
        main(["--help"])
    except SystemExit as stop:
        assert stop.code == 0, (script, stop.code)
print("ok", sorted(scripts))
"""


def test_every_console_script_starts_on_the_base_dependencies() -> None:
    import json

    scripts = PYPROJECT["project"]["scripts"]
    base = PYPROJECT["project"]["dependencies"]
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            ONLY_BASE_DEPENDENCIES,
            json.dumps(base),
            json.dumps(scripts),
            PYPROJECT["project"]["name"],
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "optverify" in result.stdout


# --- nox -------------------------------------------------------------------------------------


@functools.cache
def load_noxfile() -> types.ModuleType:
    module = types.ModuleType("noxfile_under_test")
    module.__file__ = str(ROOT / "noxfile.py")
    exec(compile((ROOT / "noxfile.py").read_text(), module.__file__, "exec"), module.__dict__)
    return module


class FakeSession:
    def __init__(self, python: str | None) -> None:
        self.python = python

    def error(self, message: str):
        raise RuntimeError(message)


def test_no_session_pins_one_python_and_a_missing_one_is_an_error() -> None:
    noxfile = load_noxfile()
    import nox

    assert nox.options.error_on_missing_interpreters is True
    assert set(noxfile.SUPPORTED) >= {"3.11", "3.12", "3.13"}
    for version in noxfile.SUPPORTED:
        assert noxfile._python_version(FakeSession(version)) == version
    with pytest.raises(RuntimeError, match=r"Python 3\.10 is not supported.*--force-python"):
        noxfile._python_version(FakeSession("3.10"))


def test_the_torch_pin_resolves_to_a_cpu_build_on_every_python(tmp_path, monkeypatch) -> None:
    noxfile = load_noxfile()
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.setattr(noxfile, "_local_wheel_dirs", lambda: [tmp_path])
    pin = noxfile._torch_pin()
    (tmp_path / f"torch-{pin}+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").touch()
    assert noxfile._torch_source(FakeSession("3.11")) == ()  # the wheel on disk
    assert noxfile._torch_source(FakeSession("3.13")) == (
        "--extra-index-url",
        noxfile.TORCH_CPU_INDEX,
    )


def test_nox_with_a_python_it_cannot_find_fails_instead_of_skipping(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CI"}  # CI would turn errors on anyway
    noxfile = str(ROOT / "noxfile.py")
    command = ["-f", noxfile, "-s", "lint", "--force-python", "3.99", "--envdir", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "nox", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode != 0, result.stderr
    assert "3.99 not found" in result.stderr
