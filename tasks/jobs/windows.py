"""Rate-limit windows that a job's create script takes before it records the job.

The API's submit limits are moving windows on lists the limiter keeps
(web/submit_limits.py builds them); counting them in the script that records
and queues the job saves the submit a round trip. The store knows only lists,
amounts and expiries, not who the limits are for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MOVING_WINDOW_LUA = Path(__file__).with_name("moving_window.lua").read_text()


@dataclass(frozen=True)
class Windows:
    db: int  # the Redis DB that holds the lists (the limits DB)
    keys: tuple[str, ...]  # one list per limit, strictest first
    limits: tuple[int, ...]  # amount, expiry (s) per list, flat
    now: float  # seconds since the epoch: what the lists record
    report: bool = False  # also count the first limit's requests inside its window

    def args(self) -> list:
        return [self.db, repr(self.now), "1" if self.report else "0", len(self.keys),
                *self.limits]


class RateLimited(Exception):
    """A window was full: nothing was counted, recorded or queued."""

    def __init__(self, index: int, oldest: float) -> None:
        super().__init__(f"rate window {index} is full")
        self.index = index  # 1-based, in Windows.keys order
        self.oldest = oldest  # when the window opens again, minus its expiry
