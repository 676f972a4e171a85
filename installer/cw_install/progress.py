"""Download progress on stderr: a redrawn bar on a terminal, a line per quarter otherwise (logs stay short)."""
from __future__ import annotations

import sys
import time
from typing import IO, Optional


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return "%.1f %s" % (n, unit) if unit != "B" else "%d B" % n
        n /= 1024.0
    return "%d B" % n


class Progress:
    def __init__(self, label: str, total: Optional[int], done: int = 0, stream: Optional[IO[str]] = None,
                 tty: Optional[bool] = None) -> None:
        self.label = label
        self.total = total
        self.done = done
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._last_draw = 0.0
        self._last_quarter = -1

    def update(self, n: int) -> None:
        self.done += n
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1:
                self._last_draw = now
                self._draw()
        elif self.total:
            q = int(4 * self.done / self.total)
            if q > self._last_quarter and q < 4:
                self._last_quarter = q
                self.stream.write("  %s: %d%% of %s\n" % (self.label, 25 * q, _human(self.total)))
                self.stream.flush()

    def _draw(self) -> None:
        if self.total:
            frac = min(1.0, self.done / self.total)
            bar = "#" * int(30 * frac)
            self.stream.write("\r  %s [%-30s] %3d%% %s/%s" % (self.label, bar, int(100 * frac), _human(self.done),
                                                            _human(self.total)))
        else:
            self.stream.write("\r  %s %s" % (self.label, _human(self.done)))
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self._draw()
            self.stream.write("\n")
        else:
            self.stream.write("  %s: done, %s\n" % (self.label, _human(self.done)))
        self.stream.flush()
