"""The GRPO-trained memory manager: the prompted manager on a base model with a LoRA adapter."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .._config import ASEMConfig
from .._errors import ModelLoadError
from ..llm import HFTransformersLLM, MeteredLLM
from ._prompted import PromptedManager

__all__ = ["MANAGER_CARD", "LearnedManager", "write_manager_card"]

MANAGER_CARD = "asem_manager.json"
"""File in a training output folder that names the base model of the adapter."""


def write_manager_card(folder: str | os.PathLike[str], base_model: str, **info: Any) -> Path:
    """Write the card :meth:`LearnedManager.from_pretrained` reads: the adapter's base model, and ``info``.

    Returns:
        The card's path.
    """
    path = Path(folder) / MANAGER_CARD
    path.write_text(json.dumps({"base_model": base_model, **info}, indent=2), encoding="utf-8")
    return path


class LearnedManager(PromptedManager):
    """A manager fine-tuned by ``asem-train manager``; same prompt and checks as the prompted one.

    Use ``ASEM(manager="grpo:runs/manager")`` or :meth:`from_pretrained`.
    """

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], config: ASEMConfig | None = None, *, device: str | None = None) -> LearnedManager:
        """Load a trained adapter (the folder written by ``asem-train manager``).

        Args:
            path: The output folder (or its ``adapter`` sub-folder).
            config: Gate and thresholds (default :class:`ASEMConfig`).
            device: Torch device.

        Raises:
            ModelLoadError: The folder, its adapter or its card is missing, or the adapter does
                not fit the base model.
        """
        folder = Path(path).expanduser()
        if (folder / "adapter" / "adapter_config.json").exists():
            adapter = folder / "adapter"
        elif (folder / "adapter_config.json").exists():
            adapter = folder
        else:
            msg = f"no trained manager at {str(path)!r}: expected an adapter (adapter_config.json) written by `asem-train manager`"
            raise ModelLoadError(msg)
        card_path = next((p / MANAGER_CARD for p in (adapter, adapter.parent) if (p / MANAGER_CARD).exists()), None)
        if card_path is None:
            msg = f"{adapter}: {MANAGER_CARD} is missing, so the base model of the adapter is unknown"
            raise ModelLoadError(msg)
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
            base = str(card["base_model"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            msg = f"{card_path}: not a valid manager card ({type(exc).__name__}: {exc})"
            raise ModelLoadError(msg) from exc
        llm = HFTransformersLLM(base, adapter=adapter, device=device)
        llm.load()  # fail now, not at the first fact
        return cls(MeteredLLM(llm), config, name=f"grpo:{folder}")
