"""chatkb.deferred: a module imported at its first use, once, whichever threads use it first."""

from __future__ import annotations

import subprocess
import sys

# In a fresh interpreter, so that numpy is not imported already.
_SCRIPT = """
import sys, threading
from chatkb.deferred import deferred

np = deferred("numpy", globals(), "np")
assert "numpy" not in sys.modules, "binding the name imports nothing"
barrier = threading.Barrier(8)
seen = []

def first_use():
    barrier.wait()  # eight threads touch it first at the same moment
    seen.append(np.float32(1.5) + np.float32(1.0))

threads = [threading.Thread(target=first_use) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
import numpy
assert seen == [2.5] * 8, seen
assert np is numpy, "the first use rebound the name to the real module"
print("ok")
"""


def test_the_module_is_imported_at_first_use_and_the_name_rebound() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr
