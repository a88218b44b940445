"""``asem-train``: GRPO fine-tuning (TRL + PEFT LoRA) of ASEM's memory manager and answer agent.

Install with ``pip install 'asem[train]'``. The trained adapter loads back into ASEM with
``ASEM(manager="grpo:runs/manager")``.
"""

from ._config import AnswerTrainConfig, ManagerTrainConfig
from ._rewards import answer_f1_reward, answer_reward, format_reward, fragmentation_reward, manager_reward, score_operation
from ._states import AnswerState, ManagerState, build_answer_states, build_manager_states
from ._train import evaluate_policies, train

__all__ = [
    "AnswerState",
    "AnswerTrainConfig",
    "ManagerState",
    "ManagerTrainConfig",
    "answer_f1_reward",
    "answer_reward",
    "build_answer_states",
    "build_manager_states",
    "evaluate_policies",
    "format_reward",
    "fragmentation_reward",
    "manager_reward",
    "score_operation",
    "train",
]
