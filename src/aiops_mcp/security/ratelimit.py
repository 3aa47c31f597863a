"""Token buckets: each caller (token) and each MCP session may make `rate` requests a second,
in bursts of up to `burst`. A refused request says when to try again."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache


class RateLimited(Exception):
    """Too many requests; `retry_after` is the wait in seconds before one more is allowed."""

    def __init__(self, who: str, retry_after: float) -> None:
        self.retry_after = math.ceil(retry_after * 10) / 10  # never "retry in 0.0s"
        super().__init__(f"rate limit reached for {who}: retry in {self.retry_after:.1f}s")


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Buckets keyed by name, created full and forgotten after an hour without use."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic, capacity: int = 10_000
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: TTLCache[str, _Bucket] = TTLCache(maxsize=capacity, ttl=3600, timer=clock)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: str, who: str) -> None:
        """Spend one token of `key`'s bucket, or raise `RateLimited` naming `who`."""
        if not self.enabled:
            return
        now = self._clock()
        bucket = self._buckets.get(key) or _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket
        if bucket.tokens < 1:
            raise RateLimited(who, (1 - bucket.tokens) / self.rate)
        bucket.tokens -= 1
