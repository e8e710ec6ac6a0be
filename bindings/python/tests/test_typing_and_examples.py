"""The type stubs pass `mypy --strict` on the installed package, on the examples
and on these tests (which use the whole API); the hand-written stub of the
native module matches the built module (mypy's stubtest); each example runs to
completion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
EXAMPLES = sorted((REPO / "examples" / "python").glob("*.py"))


def test_mypy_strict(tmp_path: Path) -> None:
    # The cache lives in the venv: a warm run skips re-checking the SDKs' types.
    cache = Path(sys.prefix) / ".mypy_cache"
    mypy = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache)]
    # The installed package (its .pyi and py.typed), as a user's checker sees it.
    package = subprocess.run(
        [*mypy, "-p", "mws_gateway"], capture_output=True, text=True, cwd=tmp_path
    )
    assert package.returncode == 0, package.stdout + package.stderr
    users = subprocess.run(
        [*mypy, str(REPO / "examples" / "python"), str(HERE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert users.returncode == 0, users.stdout + users.stderr


def test_native_stub_matches_the_built_module(tmp_path: Path) -> None:
    # stubtest imports the installed mws_gateway._native and checks every name,
    # class, signature and default of _native.pyi against it.
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--concise", "mws_gateway._native"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_runs(example: Path, tmp_path: Path) -> None:
    assert len(EXAMPLES) == 3
    out = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip()
    assert list(tmp_path.iterdir()) == []  # examples write nothing
