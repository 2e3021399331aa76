"""Progress for long work: a bar on a terminal, and plain lines in logs (CI, nohup, Slurm),
one every ``every_s`` seconds or ``every_frac`` of the total, whichever comes first."""

from __future__ import annotations

import sys
import time


class LineProgress:
    """tqdm's ``update`` / ``set_postfix_str`` for a non-terminal: timestamped lines."""

    def __init__(self, total: int, desc: str = "genrank", every_s: float = 30.0,
                 every_frac: float = 0.1, stream=None) -> None:
        self.total, self.desc, self.n = total, desc, 0
        self.every_s, self.step = every_s, max(1, int(total * every_frac))
        self.stream = stream or sys.stderr
        self.start = self.last_t = time.monotonic()
        self.last_n, self.postfix = 0, ""

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if self.n >= self.total or self.n - self.last_n >= self.step or \
                now - self.last_t >= self.every_s:
            self._line(now)

    def _line(self, now: float) -> None:
        rate = self.n / max(now - self.start, 1e-9)
        pct = 100.0 * self.n / self.total if self.total else 100.0
        where = f" [{self.postfix}]" if self.postfix else ""
        print(f"{self.desc}: {self.n}/{self.total} items ({pct:.0f}%), {rate:.2f} items/s, "
              f"{now - self.start:.0f}s elapsed{where}", file=self.stream, flush=True)
        self.last_t, self.last_n = now, self.n

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self.n and self.n != self.last_n:
            self._line(time.monotonic())
