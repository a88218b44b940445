"""An ONNX Runtime backend for sentence-transformers models: same weights, no torch at run time.

The model is exported once from its weights (torch and the ``onnx`` package are needed for that
step only) into ``$ASEM_MODELS`` (default ``$ASEM_HOME/models``)/``onnx/<name>``; later processes
load the exported graph with onnxruntime (a dependency of Chroma) and the ``tokenizers`` library,
so a fresh process embeds without importing torch or sentence-transformers. Mean pooling and L2
normalisation as in the model's sentence-transformers modules; vectors match the torch backend
to about 1e-6 (``tests/core/test_onnx.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import ConfigError, ModelLoadError
from ._quiet import log, quiet_loading

__all__ = ["OnnxEmbedder", "export_onnx", "models_home"]

_EXPORT_LOCK = threading.Lock()
_FILES = ("tokenizer.json", "sentence_bert_config.json", "modules.json", "config.json")


def models_home() -> Path:
    """Where converted models live: ``$ASEM_MODELS``, else ``$ASEM_HOME/models``, else ``~/.asem/models``."""
    return Path(os.environ.get("ASEM_MODELS", Path(os.environ.get("ASEM_HOME", "~/.asem")) / "models")).expanduser()


def _pooling(source: Path) -> str:
    """The pooling mode of a sentence-transformers folder (``mean`` when it says nothing)."""
    for cfg in sorted(source.glob("*_Pooling/config.json")):
        data = json.loads(cfg.read_text(encoding="utf-8"))
        for mode in ("mean", "cls", "max"):
            if data.get(f"pooling_mode_{mode}_tokens") or data.get(f"pooling_mode_{mode}_token"):
                return mode
    return "mean"


def export_onnx(source: Path, target: Path | None = None) -> Path:
    """Export a local sentence-transformers (BERT-family) folder to ONNX, once; returns the folder.

    Raises:
        ModelLoadError: torch, transformers or onnx is missing, or the export fails.
    """
    digest = hashlib.sha1(str(source.resolve()).encode()).hexdigest()[:10]
    target = target or models_home() / "onnx" / f"{source.name}-{digest}"
    if (target / "model.onnx").exists():
        return target
    with _EXPORT_LOCK:
        if (target / "model.onnx").exists():
            return target
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        try:
            import torch
            from transformers import AutoModel

            with quiet_loading(f"ONNX export of {source}"):
                base = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

            class _Encoder(torch.nn.Module):
                def __init__(self, model: Any) -> None:
                    super().__init__()
                    self.model = model

                def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                    return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state

            tmp.mkdir(parents=True, exist_ok=True)
            dummy = torch.ones(2, 8, dtype=torch.long)
            mask = dummy.clone()
            mask[1, 5:] = 0  # trace the padded path: a batch of texts of different lengths
            axes = {0: "batch", 1: "tokens"}
            with warnings.catch_warnings():  # tracer notes about Python-side shape checks
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    _Encoder(base),
                    (dummy, mask, torch.zeros_like(dummy)),
                    str(tmp / "model.onnx"),
                    input_names=["input_ids", "attention_mask", "token_type_ids"],
                    output_names=["last_hidden_state"],
                    dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
                    opset_version=17,
                    dynamo=False,
                )
            for name in _FILES:
                if (source / name).exists():
                    shutil.copy2(source / name, tmp / name)
            (tmp / "pooling.json").write_text(json.dumps({"mode": _pooling(source)}), encoding="utf-8")
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():  # another process exported it meanwhile
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.rename(target)
        except Exception as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            msg = f"cannot export {source} to ONNX (needs torch, transformers and onnx: pip install onnx): {type(exc).__name__}: {exc}"
            raise ModelLoadError(msg) from exc
        log.info("exported %s to %s", source, target)
    return target


class OnnxEmbedder:
    """A sentence-transformers model run by ONNX Runtime (exported once from the same weights).

    Args:
        source: A local sentence-transformers folder, a folder :func:`export_onnx` made, or a
            function returning one (called on first use, so making the embedder reads nothing).
        name: The name recorded in stores (the model name of the torch backend, so both backends
            can open the same store).
        threads: onnxruntime intra-op threads; ``None``: one per core.
        batch_size: Texts per forward pass.
    """

    def __init__(self, source: str | os.PathLike[str] | Callable[[], Path], name: str | None = None, threads: int | None = None, batch_size: int = 64) -> None:
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            msg = f"threads must be a positive integer or None, got {threads!r}"
            raise ConfigError(msg)
        self._source = source if callable(source) else Path(source).expanduser()
        self._name: str = name or (str(getattr(source, "__name__", "onnx")) if callable(source) else str(source))
        self._threads = threads
        self._batch_size = batch_size
        self._session: Any = None
        self._tokenizer: Any = None
        self._mode = "mean"
        self._lock = threading.Lock()
        self._run = threading.Lock()

    @property
    def name(self) -> str:
        """The model name recorded in stores."""
        return self._name

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._session is None:
                source = self._source() if callable(self._source) else self._source
                folder = source if (source / "model.onnx").exists() else export_onnx(source)
                try:
                    import onnxruntime as ort  # type: ignore[import-untyped]
                    from tokenizers import Tokenizer
                except ImportError as exc:
                    msg = f"the ONNX backend needs onnxruntime and tokenizers: {exc}"
                    raise ModelLoadError(msg) from exc
                cfg_path = folder / "sentence_bert_config.json"
                max_len = int(json.loads(cfg_path.read_text(encoding="utf-8")).get("max_seq_length", 256)) if cfg_path.exists() else 256
                tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
                tokenizer.enable_truncation(max_len)
                pad = tokenizer.padding or {}
                tokenizer.enable_padding(pad_id=int(pad.get("pad_id", 0)), pad_token=str(pad.get("pad_token", "[PAD]")))
                options = ort.SessionOptions()
                options.inter_op_num_threads = 1
                if self._threads is not None:
                    options.intra_op_num_threads = self._threads
                options.log_severity_level = 3
                self._session = ort.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
                self._tokenizer = tokenizer
                pooling = folder / "pooling.json"
                self._mode = json.loads(pooling.read_text(encoding="utf-8"))["mode"] if pooling.exists() else _pooling(folder)
        return self._session, self._tokenizer

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into unit vectors (see :class:`~asem_core.Embedder`)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        session, tokenizer = self._load()
        out: list[np.ndarray] = []
        with self._run:
            for start in range(0, len(texts), self._batch_size):
                encoded = tokenizer.encode_batch(list(texts[start : start + self._batch_size]))
                ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
                mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
                hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
                out.append(self._pool(hidden, mask))
        vectors = np.concatenate(out).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return np.asarray(vectors / norms, dtype=np.float32)

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self._mode == "cls":
            return np.asarray(hidden[:, 0])
        weights = mask[..., None].astype(np.float32)
        if self._mode == "max":
            return np.asarray(np.where(weights > 0, hidden, -1e9).max(axis=1))
        return np.asarray((hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9))
