"""How long the rest of an import takes, as the summary says it."""

from __future__ import annotations

import pytest

from importer.report import estimate_seconds, format_duration


@pytest.mark.parametrize(
    ("requests", "quota", "expected"),
    [
        (10, {}, 10.0),  # nothing known of the quota: the rate alone
        (10, {"quota_remaining": 20, "resets_in": 600.0}, 10.0),  # what is left covers it
        # the quota is used up and comes back in 600 s: at least that wait, then the rest
        (10, {"quota_remaining": 0, "resets_in": 600.0}, 610.0),
        (10, {"quota_remaining": 4, "resets_in": 600.0}, 606.0),
        # with the window's size known, whole windows for what does not fit in the next one
        (70, {"quota_total": 30, "quota_remaining": 0, "resets_in": 600.0}, 600.0 + 2 * 3600 + 10),
        (70, {"quota_total": 30, "quota_remaining": 30, "resets_in": 600.0}, 600.0 + 3600 + 10),
    ],
)
def test_estimate_seconds_waits_for_the_quota(
    requests: int, quota: dict[str, float], expected: float
) -> None:
    assert estimate_seconds(requests, 1.0, **quota) == pytest.approx(expected)  # type: ignore[arg-type]


def test_format_duration() -> None:
    assert [format_duration(s) for s in (6, 68, 3540, 7200, 200_000)] == [
        "6s", "1m 08s", "59m 00s", "2h 00m", "2d 7h",
    ]
