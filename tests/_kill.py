"""A child process killed (SIGKILL: no cleanup code runs) at a random moment of its work."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Mapping, Sequence

import numpy as np


def kill_during_work(
    command: Sequence[str], rng: np.random.Generator, env: Mapping[str, str]
) -> None:
    """Start ``command``, wait for its first line (it has done one round of its work), then
    kill it up to 1.5 s later."""
    process = subprocess.Popen(list(command), stdout=subprocess.PIPE, env=dict(env))
    assert process.stdout is not None
    process.stdout.readline()
    time.sleep(float(rng.uniform(0.0, 1.5)))
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()
