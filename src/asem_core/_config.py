"""Typed configuration of the memory system."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from ._errors import ConfigError

__all__ = ["MAX_K", "ASEMConfig"]

MAX_K = 10_000
"""The most hits one search can return (and the largest ``k1`` / ``k2``)."""


@dataclass(frozen=True)
class ASEMConfig:
    """Every tunable number of ASEM in one place.

    Defaults follow the literature (k1=20, k2=5, δ=0.30, λ=0.40, α=0.10, q0=0.50);
    the remaining ones were chosen on general grounds and are documented per field.
    """

    k1: int = 20
    """Phase A: candidates recalled per channel (dense and lexical)."""
    k2: int = 5
    """Phase B: notes returned by ``search`` when no ``k`` is given."""
    delta: float = 0.30
    """Phase A: minimum cosine similarity for a dense candidate."""
    lam: float = 0.40
    """Phase B: weight λ of the utility term in (1-λ)·z(relevance) + λ·z(q)."""
    alpha: float = 0.10
    """Utility learning rate α in q ← q + α(r − q)."""
    q0: float = 0.50
    """Initial utility of a new note."""
    utility_spread_floor: float = 0.2
    """Phase B: lower bound on the spread of q used to z-score it. Without it, one feedback of
    0.05 in a pool of unrated notes gives a z-score of about 4 and the note tops every query
    whose pool it enters; with it, utility outweighs relevance only as evidence accumulates."""
    similarity_spread_floor: float = 0.1
    """Phase B (``fusion="score"``): lower bound on the spread of cosine similarities over which
    the pool's dense scores are scaled. Without it a pool of two notes 0.01 apart in cosine (noise
    for MiniLM) spans the full dense range and outweighs a clear lexical match."""
    relevance_spread_floor: float = 0.1
    """Phase B (``fusion="score"``, whose relevance lies in [0, 1]): lower bound on the spread of
    relevance used to z-score it, the twin of ``utility_spread_floor``. Without it the two notes of
    a two-note pool always sit at z = +1 and -1 however close their relevance, so no amount of
    feedback could reorder them while λ < 0.5."""
    shrink: float = 0.0
    """Per-feedback pull of *unused* notes of the pool toward q0 (0 disables; see README)."""
    fusion: Literal["rank", "score"] = "score"
    """Phase A fusion: ``"score"`` mixes max-normalised BM25 and min-max-normalised cosine with the
    channel weights (LoCoMo recall@10 0.76); ``"rank"`` is reciprocal rank fusion (0.72)."""
    rrf_k: int = 60
    """Constant of reciprocal rank fusion."""
    dense_weight: float = 1.0
    """Weight of the dense channel in the rank fusion."""
    lexical_weight: float = 0.5
    """Weight of the lexical (BM25) channel in the fusion."""
    hop_weight: float = 0.5
    """Score of a note reached by one link hop, relative to the note it hangs off."""
    hop_sources: int = 5
    """Number of top fused candidates whose links are followed."""
    utility_depth: int = 0
    """Utility channel of phase A: notes that feedback rated above ``q0`` are also recalled from
    the first ``utility_depth * k1`` dense (above ``delta``) and lexical candidates, so a note that
    helped before can return for the next question it answers even when it ranks just below
    ``k1`` (0 disables; only with ``lam`` > 0; memories without feedback search as before)."""
    experience_gate: float = 0.0
    """Retrieval: an experience note (``consolidate(note_ids=...)``) lends its relevance to the
    notes its answer used only when its cosine similarity to the query reaches this (a question
    like the one it answered); below it they rank on their own relevance."""
    speaker_weight: float = 0.0
    """Retrieval: when the query names some of the speakers of the pool's notes (by first name,
    e.g. "What did Ann paint?"), the relevance of notes by the speakers it does not name is
    multiplied by ``1 - speaker_weight`` (0 disables; a soft signal: such notes stay in the pool)."""
    link_k: int = 3
    """Maximum similarity links made for each new note."""
    link_threshold: float = 0.55
    """Minimum cosine similarity (of intent embeddings) for a similarity link."""
    lexical_window: int = 1
    """Lexical channel: add the text of the notes linked by "follows" (0 disables)."""
    link_adjacent: bool = True
    """Link consecutive items of one batch or message list ("follows" relation)."""
    duplicate_threshold: float = 0.97
    """Heuristic manager: intent similarity above which a fact is a near-duplicate (NOOP)."""
    update_threshold: float = 0.90
    """Heuristic manager: intent similarity above which a same-speaker fact complements a note (UPDATE)."""
    extension_threshold: float = 0.70
    """Heuristic manager: intent similarity above which a same-speaker fact that contains every
    content word of a note, and more, updates that note."""
    supersede_threshold: float = 0.40
    """Heuristic manager: intent similarity above which a same-speaker fact about the speaker that
    announces a change ("moved", "now", "no longer", ...) supersedes an older note of the same
    slot: the new note is added with a ``supersedes`` link, the old one stays valid for the past."""
    supersede_max_words: int = 12
    """Heuristic manager: supersession is only considered between short statements (at most this
    many content words each); a long note holds more than the one value a newer fact replaces."""
    recency: bool = True
    """Retrieval: for questions about the present (no past-tense cue such as "did", "was", "before",
    "ever"), a note ranks right below the newer note that superseded it."""
    assistant_turns: str = "content"
    """What ``add_messages`` keeps of assistant turns (role "ai" or "assistant"): ``"all"``,
    ``"content"`` (only turns with at least ``assistant_min_words`` content words, so filler such
    as "Nice!" or "That's great to hear" is not stored) or ``"none"``. User turns are always kept."""
    assistant_min_words: int = 3
    """Content words (not stopwords) an assistant turn needs to be kept under ``assistant_turns="content"``."""
    embed_threads: int | None = None
    """Torch intra-op threads of the embedder ASEM makes from a model name (``None``: torch's
    default, one per core). Set 1 when other busy processes share the CPU (see README, Speed)."""
    embed_backend: Literal["torch", "onnx"] = "torch"
    """How a model named by ``embedder=`` runs: ``"torch"`` (sentence-transformers, the reference)
    or ``"onnx"`` (the same weights exported once to ONNX and run by onnxruntime: a fresh process
    embeds without importing torch: a fresh process's first ``add`` takes 0.3 s instead of 7.7 s;
    vectors equal to ~1e-7; batch embedding at 0.88x torch's rate on the 2-core benchmark
    machine; see README, Speed). The CLI uses it for one-shot commands."""
    query_cache: int = 1024
    """Query embeddings kept in an LRU cache (0 disables; benchmarks of latency disable it)."""
    piece_cache: int = 10_000
    """``embed_mode="composed"``: vectors of context lines kept in an LRU cache, so each distinct
    line (a speaker on a date) is embedded once per process (10,000 vectors of 384 floats: 15 MB)."""
    lock_timeout: float = 10.0
    """Seconds to wait for a local store that another process has open, before StoreLockedError."""
    recover_after: float = 120.0
    """Through a Chroma server: on open, batches a killed client left half-written are completed
    once their journal record is this many seconds old (a younger one may belong to a client
    still writing). A local store completes them on open at once (its lock rules out a live writer)."""
    max_text_chars: int = 100_000
    """Largest accepted text; longer input is rejected with InvalidInputError."""
    keywords_per_note: int = 8
    """Keywords extracted for each note."""
    embed_mode: Literal["joint", "mean", "composed", "single"] | None = None
    """How a note's joint vector (the one it is searched by) is made: ``"composed"`` (the default
    of a new store) adds cached vectors of the note's context line (speaker and date) to its raw
    text's vector, so ingest embeds each fact's text once; ``"joint"`` embeds the whole joint
    text (content, context, keywords, tags; about 2.3 raw passes more per fact); ``"mean"``
    averages the content vector and the vector of the meta text; ``"single"`` reuses the raw
    text's vector (lower recall). ``None`` uses the recipe recorded in the store (stores written
    before it was recorded hold ``"joint"`` vectors); naming another one is a ConfigError. See
    README, Benchmark: speed."""
    llm_stages: tuple[str, ...] = ("construct", "manage", "link")
    """Ingest stages that use the LLM when one is given (``llm=``): ``"construct"`` (facts,
    keywords, tags, context), ``"manage"`` (the prompted manager, when no manager is named) and
    ``"link"`` (relation labels and evolution of neighbours). The others use the heuristics."""
    llm_calls_per_turn: float | None = 1.0
    """Budget of LLM prompts (retries included) per ingested item, on average over the ingests of
    one ``ASEM`` object; prompts over it are not sent and the heuristic result is kept (the
    manager and linker ask about the most similar facts first). ``None``: no budget."""
    llm_turns_per_call: int = 2
    """Note construction: turns described in one LLM prompt."""
    llm_manager_gate: float = 0.70
    """Prompted manager: the LLM is asked when the nearest note is at least this similar (intent
    cosine), or when the fact may replace an older value of a same-speaker note (a change is often
    less similar than this); otherwise the fact is new (ADD) without a call."""
    llm_link_gate: float = 0.65
    """Links and evolution: the LLM is asked to label links and revise neighbours only for a new
    note whose nearest linked neighbour is at least this similar; other links stay "similar"."""
    llm_max_new_tokens: int = 384
    """Token budget of one LLM reply (construction replies for several turns need the most)."""

    def __post_init__(self) -> None:
        """Validate every field; raise :class:`ConfigError` naming the bad one."""
        checks: dict[str, tuple[float, float]] = {
            "k1": (1, MAX_K),
            "k2": (1, MAX_K),
            "delta": (-1.0, 1.0),
            "lam": (0.0, 1.0),
            "alpha": (0.0, 1.0),
            "q0": (-1.0, 1.0),
            "shrink": (0.0, 1.0),
            "utility_spread_floor": (0.0, 10.0),
            "similarity_spread_floor": (0.0, 2.0),
            "relevance_spread_floor": (0.0, 10.0),
            "rrf_k": (0, 10_000),
            "dense_weight": (0.0, 100.0),
            "lexical_weight": (0.0, 100.0),
            "hop_weight": (0.0, 10.0),
            "speaker_weight": (0.0, 1.0),
            "experience_gate": (-1.0, 1.0),
            "utility_depth": (0, 100),
            "hop_sources": (0, 1000),
            "link_k": (0, 100),
            "lexical_window": (0, 10),
            "link_threshold": (-1.0, 1.0),
            "duplicate_threshold": (-1.0, 1.0),
            "update_threshold": (-1.0, 1.0),
            "extension_threshold": (-1.0, 1.0),
            "supersede_threshold": (-1.0, 1.0),
            "assistant_min_words": (0, 1000),
            "supersede_max_words": (1, 10_000),
            "max_text_chars": (1, 100_000_000),
            "lock_timeout": (0.0, 86_400.0),
            "recover_after": (0.0, 31_536_000.0),
            "query_cache": (0, 1_000_000),
            "piece_cache": (0, 10_000_000),
            "keywords_per_note": (1, 100),
            "llm_turns_per_call": (1, 64),
            "llm_manager_gate": (-1.0, 1.0),
            "llm_link_gate": (-1.0, 1.0),
            "llm_max_new_tokens": (8, 32_768),
        }
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in checks:
                lo, hi = checks[f.name]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    msg = f"ASEMConfig.{f.name} must be a number, got {type(value).__name__}"
                    raise ConfigError(msg)
                if f.type == "int" and not isinstance(value, int):
                    msg = f"ASEMConfig.{f.name} must be an integer, got {value!r}"
                    raise ConfigError(msg)
                if math.isnan(value) or not lo <= value <= hi:
                    msg = f"ASEMConfig.{f.name}={value!r} is outside [{lo}, {hi}]"
                    raise ConfigError(msg)
        if isinstance(self.llm_stages, list):  # from JSON or YAML
            object.__setattr__(self, "llm_stages", tuple(self.llm_stages))
        unknown = set(self.llm_stages) - {"construct", "manage", "link"} if isinstance(self.llm_stages, tuple) else {"?"}
        if unknown:
            msg = f"ASEMConfig.llm_stages must be a tuple drawn from ('construct', 'manage', 'link'), got {self.llm_stages!r}"
            raise ConfigError(msg)
        if self.fusion not in ("rank", "score"):
            msg = f"ASEMConfig.fusion must be 'rank' or 'score', got {self.fusion!r}"
            raise ConfigError(msg)
        if self.llm_calls_per_turn is not None and not (isinstance(self.llm_calls_per_turn, (int, float)) and self.llm_calls_per_turn > 0):
            msg = f"ASEMConfig.llm_calls_per_turn must be a positive number or None, got {self.llm_calls_per_turn!r}"
            raise ConfigError(msg)
        if self.embed_backend not in ("torch", "onnx"):
            msg = f"ASEMConfig.embed_backend must be 'torch' or 'onnx', got {self.embed_backend!r}"
            raise ConfigError(msg)
        if self.embed_mode not in (None, "joint", "mean", "composed", "single"):
            msg = f"ASEMConfig.embed_mode must be 'joint', 'mean', 'composed', 'single' or None, got {self.embed_mode!r}"
            raise ConfigError(msg)
        if self.assistant_turns not in ("all", "content", "none"):
            msg = f"ASEMConfig.assistant_turns must be 'all', 'content' or 'none', got {self.assistant_turns!r}"
            raise ConfigError(msg)
        if self.embed_threads is not None and (isinstance(self.embed_threads, bool) or not isinstance(self.embed_threads, int) or self.embed_threads < 1):
            msg = f"ASEMConfig.embed_threads must be a positive integer or None, got {self.embed_threads!r}"
            raise ConfigError(msg)
        if not isinstance(self.recency, bool):
            msg = f"ASEMConfig.recency must be True or False, got {self.recency!r}"
            raise ConfigError(msg)
        if self.update_threshold > self.duplicate_threshold:
            msg = "ASEMConfig.update_threshold must not exceed duplicate_threshold"
            raise ConfigError(msg)

    def replace(self, **changes: Any) -> ASEMConfig:
        """Return a copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            msg = f"unknown ASEMConfig field(s): {', '.join(sorted(unknown))}"
            raise ConfigError(msg)
        return ASEMConfig(**{**asdict(self), **changes})

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a plain dict."""
        return asdict(self)
