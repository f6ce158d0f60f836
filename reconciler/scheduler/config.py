"""Scheduler settings: typed, with kube-scheduler's defaults, read from controller options.

The process passes ``--controller-option key=value`` flags through as strings; this module
is the one place that knows the scheduler's keys (``scheduler.*``) and their defaults, so
nothing in the scheduling code hard-codes a weight or a timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_SCHEDULER_NAME = "default-scheduler"

# kube-scheduler's default score plugin weights (KubeSchedulerConfiguration v1).
DEFAULT_WEIGHTS: dict[str, int] = {
    "TaintToleration": 3,
    "NodeAffinity": 2,
    "PodTopologySpread": 2,
    "InterPodAffinity": 2,
    "NodeResourcesFit": 1,
    "NodeResourcesBalancedAllocation": 1,
}

PREFIX = "scheduler."


@dataclass(frozen=True)
class SchedulerConfig:
    """What a user can tune. ``percentage_of_nodes_to_score`` 0 means adaptive
    (50% minus 1% per 125 nodes, at least 5%), as kube-scheduler's default."""

    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    percentage_of_nodes_to_score: int = 0
    weights: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    bind_concurrency: int = 32  # binds in flight; the client's pool keeps up to 100 connections
    pod_initial_backoff_seconds: float = 1.0
    pod_max_backoff_seconds: float = 10.0
    max_unschedulable_seconds: float = 300.0  # podMaxInUnschedulablePodsDuration

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> SchedulerConfig:
        """Settings from ``scheduler.<key>`` options; unknown or malformed values raise
        ``ValueError`` naming the option, so a typo fails at start, not silently."""
        base = cls()
        weights = dict(base.weights)
        values: dict[str, object] = {}
        numeric = {
            "percentage-of-nodes-to-score": ("percentage_of_nodes_to_score", int),
            "bind-concurrency": ("bind_concurrency", int),
            "pod-initial-backoff-seconds": ("pod_initial_backoff_seconds", float),
            "pod-max-backoff-seconds": ("pod_max_backoff_seconds", float),
            "max-unschedulable-seconds": ("max_unschedulable_seconds", float),
        }
        for key, raw in options.items():
            if not key.startswith(PREFIX):
                continue
            name = key[len(PREFIX) :]
            try:
                if name.startswith("weight."):
                    plugin = name[len("weight.") :]
                    if plugin not in weights:
                        raise ValueError(f"unknown score plugin {plugin!r}")
                    weights[plugin] = int(raw)
                elif name == "name":
                    values["scheduler_name"] = raw
                elif name in numeric:
                    attr, kind = numeric[name]
                    values[attr] = kind(raw)
                else:
                    raise ValueError("unknown option")
            except ValueError as exc:
                raise ValueError(f"controller option {key}={raw!r}: {exc}") from None
        config = cls(weights=weights, **values)  # type: ignore[arg-type]
        if not 0 <= config.percentage_of_nodes_to_score <= 100:
            raise ValueError("scheduler.percentage-of-nodes-to-score must be within 0..100")
        if config.bind_concurrency < 1:
            raise ValueError("scheduler.bind-concurrency must be at least 1")
        return config
