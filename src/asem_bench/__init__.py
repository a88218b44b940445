"""Benchmarks: ``asem-bench locomo`` (quality against baselines) and ``asem-bench perf`` (speed)."""

__all__: list[str] = []
