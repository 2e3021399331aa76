"""How many CPU threads a model should use: the cores this process may run on that are free.

On a shared machine, more intra-op threads than free cores makes torch slower, not
faster (2 threads measured 6-11x slower than 1 on 2 busy cores), so the default counts
the CPU affinity mask minus the 1-minute load average. OMP_NUM_THREADS, when set, wins.
"""

from __future__ import annotations

import os


def default_threads() -> int:
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


def use_threads(n: int) -> None:
    """torch intra-op threads and the tokenizers' (Rust) pool, before either starts work."""
    os.environ["RAYON_NUM_THREADS"] = str(n)
    if n == 1:  # one thread: no fork warnings, no pool at all
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
    import torch

    torch.set_num_threads(n)
