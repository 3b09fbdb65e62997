"""Read-ahead: results in order, small files settled in the calling thread when they can be."""

from __future__ import annotations

import threading
from pathlib import Path

from chatkb.read_ahead import SMALL_FILE, ReadAhead


def test_settled_files_never_reach_the_reading_thread(tmp_path: Path) -> None:
    paths = []
    for i in range(6):
        path = tmp_path / f"{i}.txt"
        path.write_bytes(b"x" * (SMALL_FILE + 1 if i == 4 else 10))  # file 4 is large
        paths.append(path)
    caller = threading.get_ident()
    read_in: dict[int, int] = {}
    settled_in: dict[int, int] = {}

    def read(i: int) -> str:
        read_in[i] = threading.get_ident()
        return f"read {i}"

    def settle(i: int) -> str | None:
        settled_in[i] = threading.get_ident()
        return f"settled {i}" if i % 2 == 0 else None  # even files are decided at once

    ahead = ReadAhead(paths, read, settle)
    try:
        results = [ahead.take(i) for i in range(len(paths))]
    finally:
        ahead.close()
    assert results == ["settled 0", "read 1", "settled 2", "read 3", "read 4", "read 5"]
    assert set(settled_in) == {0, 1, 2, 3, 5}  # a large file is not settled in the caller
    assert set(settled_in.values()) == {caller}
    assert sorted(read_in) == [1, 3, 4, 5]
    assert caller not in read_in.values()
