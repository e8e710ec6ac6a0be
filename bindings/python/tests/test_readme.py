"""The Python snippets of the README's "## Python" section run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"


def snippets() -> list[str]:
    text = README.read_text()
    section = text[text.index("\n## Python\n") :]
    following = section.find("\n## ", 1)
    if following != -1:
        section = section[:following]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


SNIPPETS = snippets()


def test_the_section_has_snippets() -> None:
    assert len(SNIPPETS) >= 4


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_snippet_runs(code: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip()
