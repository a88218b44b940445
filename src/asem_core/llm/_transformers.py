"""A local causal LM through Hugging Face transformers: batched, greedy, stops on closed JSON."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._errors import ConfigError, ModelLoadError
from .._quiet import quiet_loading
from ._json import structure
from ._protocol import Generation, Message
from ._smollm2 import SMOLLM2, SMOLLM2_ALIASES, offline_smollm2_path

__all__ = ["HFTransformersLLM", "json_closed", "looping"]


class HFTransformersLLM:
    """A local causal LM through Hugging Face transformers: batched, greedy, with a token budget.

    Args:
        model: A hub id, a local folder, or ``"smollm2"`` (the offline SmolLM2-135M-Instruct).
            A hub id is resolved the normal way (cache, then hub); SmolLM2's id falls back to the
            offline copy when the hub cannot be reached.
        device: Torch device; default CUDA when available, else CPU.
        batch_size: Prompts per forward pass.
        adapter: Folder of a PEFT (LoRA) adapter to apply on top of the model.
        max_prompt_tokens: Prompts longer than this are cut from the left (oldest text first).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] = "smollm2",
        *,
        device: str | None = None,
        batch_size: int = 8,
        adapter: str | os.PathLike[str] | None = None,
        max_prompt_tokens: int = 1536,
    ) -> None:
        if batch_size < 1:
            msg = f"batch_size must be at least 1, got {batch_size}"
            raise ConfigError(msg)
        self._spec = str(model)
        self._device = device
        self.batch_size = batch_size
        self.adapter = str(adapter) if adapter is not None else None
        self.max_prompt_tokens = max_prompt_tokens
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The model name (with the adapter, if any)."""
        base = SMOLLM2 if self._spec in SMOLLM2_ALIASES else self._spec
        return f"{base}+{self.adapter}" if self.adapter else base

    def _resolve(self) -> str:
        spec = self._spec
        if spec in SMOLLM2_ALIASES:
            if spec == SMOLLM2 and not os.environ.get("HF_HUB_OFFLINE"):
                try:
                    from huggingface_hub import snapshot_download

                    return snapshot_download(SMOLLM2)
                except Exception:  # noqa: BLE001 - no hub: the offline copy serves
                    pass
            return str(offline_smollm2_path())
        return spec

    def load(self) -> tuple[Any, Any]:
        """(model, tokenizer), loaded on first use.

        Raises:
            ModelLoadError: The model or the adapter cannot be loaded.
        """
        with self._lock:
            if self._model is None:
                try:
                    import torch
                    from transformers import AutoModelForCausalLM, AutoTokenizer

                    path = self._resolve()
                    device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
                    with quiet_loading(f"language model {path}"):
                        tokenizer = AutoTokenizer.from_pretrained(path)
                        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32 if device == "cpu" else "auto")
                except ModelLoadError:
                    raise
                except Exception as exc:
                    msg = f"could not load the language model {self._spec!r}: {type(exc).__name__}: {exc}"
                    raise ModelLoadError(msg) from exc
                if self.adapter is not None:
                    model = _apply_adapter(model, self.adapter)
                tokenizer.padding_side = "left"
                if tokenizer.pad_token is None:
                    tokenizer.pad_token = tokenizer.eos_token
                model = model.to(device)  # type: ignore[arg-type]
                model.eval()  # type: ignore[no-untyped-call]
                self._model, self._tokenizer = model, tokenizer
        return self._model, self._tokenizer

    def render(self, messages: Sequence[Message], prefix: str = "") -> str:
        """The prompt text of ``messages`` with the generation prompt and ``prefix`` pre-filled."""
        _, tokenizer = self.load()
        text: str = tokenizer.apply_chat_template(list(messages), add_generation_prompt=True, tokenize=False)
        return text + prefix

    def generate(self, prompts: Sequence[Sequence[Message]], *, max_new_tokens: int = 256, prefix: str = "") -> list[Generation]:
        """See :meth:`LLM.generate`."""
        import torch

        model, tokenizer = self.load()
        texts = [self.render(p, prefix) for p in prompts]
        out: list[Generation] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            enc = tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
            if enc.input_ids.shape[1] > self.max_prompt_tokens:
                enc = {k: v[:, -self.max_prompt_tokens :] for k, v in enc.items()}
            enc = {k: v.to(model.device) for k, v in dict(enc).items()}
            extra: dict[str, Any] = {}
            if prefix[:1] in ("{", "["):
                from transformers import StoppingCriteriaList

                extra["stopping_criteria"] = StoppingCriteriaList([_JSONClosed(tokenizer, prefix, enc["input_ids"].shape[1])])
            with torch.no_grad():
                ids = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id, **extra)
            width = enc["input_ids"].shape[1]
            for row in range(len(chunk)):
                new = ids[row, width:]
                n_new = int((new != tokenizer.pad_token_id).sum())
                body = tokenizer.decode(new, skip_special_tokens=True)
                out.append(Generation(prefix + body, int(enc["attention_mask"][row].sum()), n_new))
        return out


def json_closed(text: str) -> bool:
    """True once ``text`` (a reply that starts with ``{`` or ``[``) has closed its first JSON value."""
    depth = 0
    for _, ch in structure(text)[0]:
        depth += 1 if ch in "{[" else -1
        if depth <= 0:
            return True
    return False


def looping(text: str, window: int = 32, times: int = 3) -> bool:
    """True when the last ``window`` characters already occur ``times`` times: a degenerate loop."""
    tail = text[-window:]
    return len(text) >= window * times and text.count(tail) >= times


class _JSONClosed:
    """Stops each row of a batch once its JSON reply is complete (saves the rest of the budget)."""

    def __init__(self, tokenizer: Any, prefix: str, width: int) -> None:
        self.tokenizer, self.prefix, self.width = tokenizer, prefix, width

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        texts = self.tokenizer.batch_decode(input_ids[:, self.width :], skip_special_tokens=True)
        return torch.tensor([json_closed(self.prefix + t) or looping(t) for t in texts], dtype=torch.bool, device=input_ids.device)


def _apply_adapter(model: Any, adapter: str) -> Any:
    path = Path(adapter)
    if not (path / "adapter_config.json").exists():
        msg = f"no PEFT adapter at {adapter!r} (adapter_config.json is missing); train one with `asem-train manager`"
        raise ModelLoadError(msg)
    try:
        from peft import PeftModel
    except ImportError as exc:
        msg = "loading an adapter needs peft: pip install 'asem[train]'"
        raise ModelLoadError(msg) from exc
    try:
        return PeftModel.from_pretrained(model, str(path)).merge_and_unload()
    except Exception as exc:
        msg = f"the adapter at {adapter!r} does not fit this model ({type(exc).__name__}: {exc})"
        raise ModelLoadError(msg) from exc
