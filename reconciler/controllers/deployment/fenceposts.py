"""maxSurge and maxUnavailable: how far a rolling update may stray from spec.replicas.

Both are an int or a percentage of ``spec.replicas``: a percentage of maxSurge rounds
*up*, one of maxUnavailable rounds *down* (``intstr.GetScaledValueFromIntOrPercent``),
so the defaults 25%/25% always let a rollout move. ``ResolveFenceposts`` then turns a
0/0 pair (possible only through rounding; validation rejects an explicit one) into
maxUnavailable 1. Recreate Deployments have neither: 0 surge, 0 unavailable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.controllers.deployment.replicasets import spec_replicas

ROLLING_UPDATE = "RollingUpdate"
RECREATE = "Recreate"
DEFAULT_FENCEPOST = "25%"

Obj = Mapping[str, Any]


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """``GetScaledValueFromIntOrPercent``; ValueError for a string that is no percentage."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        raise ValueError(
            f"invalid value for IntOrString: invalid type: string is not a percentage: {text!r}"
        )
    try:
        percent = int(text[:-1])
    except ValueError:
        raise ValueError(f"invalid value for IntOrString: invalid value {text!r}") from None
    product = percent * total
    return -(-product // 100) if round_up else product // 100


def resolve_fenceposts(
    max_surge: int | str | None, max_unavailable: int | str | None, desired: int
) -> tuple[int, int]:
    """``ResolveFenceposts``: (surge, unavailable) for ``desired`` replicas."""
    surge = scaled_value(max_surge if max_surge is not None else 0, desired, True)
    unavailable = scaled_value(
        max_unavailable if max_unavailable is not None else 0, desired, False
    )
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def strategy_type(d: Obj) -> str:
    strategy = (d.get("spec") or {}).get("strategy") or {}
    return str(strategy.get("type") or ROLLING_UPDATE)


def is_rolling_update(d: Obj) -> bool:
    return strategy_type(d) == ROLLING_UPDATE


def _rolling_params(d: Obj) -> tuple[int | str, int | str]:
    rolling = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    surge = rolling.get("maxSurge")
    unavailable = rolling.get("maxUnavailable")
    return (
        DEFAULT_FENCEPOST if surge is None else surge,
        DEFAULT_FENCEPOST if unavailable is None else unavailable,
    )


def max_surge(d: Obj) -> int:
    """``MaxSurge``: 0 unless RollingUpdate."""
    if not is_rolling_update(d):
        return 0
    surge, unavailable = _rolling_params(d)
    return resolve_fenceposts(surge, unavailable, spec_replicas(d))[0]


def max_unavailable(d: Obj) -> int:
    """``MaxUnavailable``: 0 unless RollingUpdate with replicas; never above replicas."""
    replicas = spec_replicas(d)
    if not is_rolling_update(d) or replicas == 0:
        return 0
    surge, unavailable = _rolling_params(d)
    return min(resolve_fenceposts(surge, unavailable, replicas)[1], replicas)


def min_available(d: Obj) -> int:
    """``MinAvailable``: replicas - maxUnavailable (0 unless RollingUpdate)."""
    if not is_rolling_update(d):
        return 0
    return spec_replicas(d) - max_unavailable(d)
