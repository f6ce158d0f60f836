"""HumanDuration parity with k8s.io/apimachinery/pkg/util/duration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kctl.api.duration import age, human_duration

H = 3600
D = 24 * H


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        # upstream duration_test.go cases
        (1, "1s"),
        (70, "70s"),
        (190, "3m10s"),
        (70 * 60, "70m"),
        (47 * H, "47h"),
        (49 * H, "2d1h"),
        ((8 * 24 + 2) * H, "8d"),
        (367 * D, "367d"),
        ((365 * 2 * 24 + 25) * H, "2y1d"),
        ((365 * 8 * 24 + 2) * H, "8y"),
        # boundaries of each branch
        (0, "0s"),
        (-0.5, "0s"),
        (-1.9, "0s"),  # int(-1.9s) == -1: tolerated clock skew
        (-2, "<invalid>"),
        (119.9, "119s"),
        (120, "2m"),
        (125, "2m5s"),
        (599, "9m59s"),
        (600, "10m"),
        (3 * H - 1, "179m"),
        (3 * H, "3h"),
        (3 * H + 30 * 60 + 59, "3h30m"),
        (8 * H - 1, "7h59m"),
        (8 * H, "8h"),
        (48 * H - 1, "47h"),
        (48 * H, "2d"),
        (8 * D - 1, "7d23h"),
        (2 * 365 * D - 1, "729d"),
        (2 * 365 * D, "2y"),
        (8 * 365 * D - 1, "7y364d"),
        (30 * 365 * D, "30y"),
    ],
)
def test_human_duration(seconds: float, want: str) -> None:
    assert human_duration(seconds) == want


def test_age_from_timestamps() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert age("2024-05-01T11:57:55Z", now) == "2m5s"
    assert age("2024-05-01T11:59:59.500000Z", now) == "0s"  # MicroTime form
    assert age((now - timedelta(days=3, hours=4)).isoformat(), now) == "3d4h"
    assert age(None, now) == "<unknown>"
    assert age("", now) == "<unknown>"
    assert age("not a time", now) == "<unknown>"
    assert age("2024-05-01T12:00:05Z", now) == "<invalid>"
