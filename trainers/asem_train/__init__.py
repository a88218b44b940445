"""``asem-train``: GRPO fine-tuning (TRL + PEFT LoRA) of ASEM's memory manager and answer agent.

Install with ``pip install 'asem[train]'``. The trained adapter loads back into ASEM with
``ASEM(manager="grpo:runs/manager")``.
"""

from ._config import AnswerTrainConfig, ManagerTrainConfig
from ._evaluate import evaluate_policies, evaluate_updates
from ._rewards import answer_f1_reward, answer_reward, current_reward, format_reward, fragmentation_reward, manager_reward, score_decision, score_operation
from ._states import AnswerState, ManagerState, build_answer_states, build_manager_states
from ._train import train
from ._update_states import build_update_states, current_score

__all__ = [
    "AnswerState",
    "AnswerTrainConfig",
    "ManagerState",
    "ManagerTrainConfig",
    "answer_f1_reward",
    "answer_reward",
    "build_answer_states",
    "build_manager_states",
    "build_update_states",
    "current_reward",
    "current_score",
    "evaluate_policies",
    "evaluate_updates",
    "format_reward",
    "fragmentation_reward",
    "manager_reward",
    "score_decision",
    "score_operation",
    "train",
]
