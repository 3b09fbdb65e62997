"""The stored timestamp format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chatkb.timestamps import now_iso


def test_now_is_utc_to_the_second_and_reads_back() -> None:
    stamp = now_iso()
    moment = datetime.fromisoformat(stamp)
    assert stamp.endswith("+00:00") and moment.microsecond == 0
    assert abs(datetime.now(UTC) - moment) < timedelta(seconds=5)
