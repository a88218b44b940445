"""The ONNX backend: the same vectors as sentence-transformers, and a fresh process that never imports torch."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from asem_core import ASEM, ASEMConfig, ConfigError
from asem_core._embedder import resolve_embedder
from asem_core._onnx import OnnxEmbedder
from asem_core.locomo import load_locomo
from conftest import LOCOMO


@pytest.fixture(scope="module")
def onnx_embedder() -> OnnxEmbedder:
    emb = resolve_embedder(None, backend="onnx")
    assert isinstance(emb, OnnxEmbedder)
    return emb


def test_onnx_vectors_equal_the_torch_backend(onnx_embedder, embedder) -> None:
    texts = [t.text for t in load_locomo(LOCOMO / "conv-26.json")[0].turns[:96]] + ["", "a", "word " * 400]  # padding, truncation
    a, b = onnx_embedder.embed(texts), embedder.embed(texts)
    assert a.shape == b.shape == (len(texts), 384)
    assert float(np.abs(a - b).max()) < 1e-4
    assert onnx_embedder.name == embedder.name  # both backends open the same store


def test_a_store_made_by_torch_answers_the_same_through_onnx(tmp_path, embedder, onnx_embedder) -> None:
    turns = [t.as_item() for t in load_locomo(LOCOMO / "conv-30.json")[0].turns[:60]]
    with ASEM(path=tmp_path / "s", embedder=embedder) as mem:
        mem.add_many(turns, user_id="u")
        want = [h.note.id for h in mem.search("Why did Jon start his dance studio?", user_id="u", k=5)]
    with ASEM(path=tmp_path / "s", embedder=onnx_embedder) as mem:
        assert [h.note.id for h in mem.search("Why did Jon start his dance studio?", user_id="u", k=5)] == want


def test_a_fresh_process_on_onnx_never_imports_torch(onnx_embedder) -> None:
    onnx_embedder.embed(["export once"])
    code = (
        "import sys\nfrom asem_core import ASEM\nm = ASEM.ephemeral(embed_backend='onnx')\nm.add('I live in Paris.', user_id='u')\n"
        "print(m.search('Where do I live?', user_id='u')[0].note.content, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": ""}, check=True, timeout=300)
    assert done.stdout.split() == ["I", "live", "in", "Paris.", "False", "False"], done.stderr[-2000:]


def test_bad_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="embed_backend"):
        ASEMConfig(embed_backend="tensorflow")  # type: ignore[arg-type]
