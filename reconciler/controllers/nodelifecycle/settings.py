"""The node lifecycle controller's settings: kube-controller-manager's flags and defaults.

Each is set with ``--controller-option nodelifecycle.<flag>=<value>``; durations accept
plain seconds or Go durations ("50s", "200ms").
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.controller import ControllerContext
from reconciler.controllers.nodelifecycle.zones import DisruptionPolicy

PREFIX = "nodelifecycle."


@dataclass(frozen=True)
class LifecycleSettings:
    monitor_period: float = 5.0  # --node-monitor-period
    grace_period: float = 50.0  # --node-monitor-grace-period (Kubernetes 1.32)
    startup_grace_period: float = 60.0  # --node-startup-grace-period
    eviction_period: float = 0.1  # how often the taint queues are tried (nodeEvictionPeriod)
    policy: DisruptionPolicy = DisruptionPolicy()

    @classmethod
    def from_context(cls, ctx: ControllerContext) -> LifecycleSettings:
        d, p = cls(), DisruptionPolicy()
        return cls(
            monitor_period=ctx.float_option(PREFIX + "node-monitor-period", d.monitor_period),
            grace_period=ctx.float_option(PREFIX + "node-monitor-grace-period", d.grace_period),
            startup_grace_period=ctx.float_option(
                PREFIX + "node-startup-grace-period", d.startup_grace_period
            ),
            policy=DisruptionPolicy(
                eviction_rate=float(ctx.option(PREFIX + "node-eviction-rate", str(p.eviction_rate))),
                secondary_eviction_rate=float(
                    ctx.option(PREFIX + "secondary-node-eviction-rate", str(p.secondary_eviction_rate))
                ),
                large_cluster_threshold=ctx.int_option(
                    PREFIX + "large-cluster-size-threshold", p.large_cluster_threshold
                ),
                unhealthy_threshold=float(
                    ctx.option(PREFIX + "unhealthy-zone-threshold", str(p.unhealthy_threshold))
                ),
            ),
        )
