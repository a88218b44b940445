"""Every Python example of README.md runs as written (offline, in a fresh interpreter)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("n", range(len(BLOCKS)))
def test_readme_example_runs(n, tmp_path):
    env = {**os.environ, "ASEM_HOME": str(tmp_path / "home"), "HF_HUB_OFFLINE": "1", "ASEM_MODELS": os.environ.get("ASEM_MODELS", "")}
    if not env["ASEM_MODELS"]:
        env["ASEM_MODELS"] = str(Path(os.environ.get("ASEM_HOME", "~/.asem")).expanduser() / "models")  # reuse the converted SmolLM2
    done = subprocess.run([sys.executable, "-c", BLOCKS[n]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"README example {n + 1} failed:\n{BLOCKS[n]}\n{done.stderr[-3000:]}"
