"""The record every generator returns."""

from __future__ import annotations

from dataclasses import dataclass

FAIL, ANY, GOOD = "fail", "any", "good"


@dataclass(frozen=True)
class Hostile:
    name: str
    data: bytes
    expect: str = FAIL
    reason: str | None = None  # a regex the failure's reason must match (FAIL only)
