"""A circuit breaker per datasource: stop calling a backend that keeps failing, for a while.

    closed ── `threshold` consecutive failures ──▶ open ── cool-down over ──▶ half-open
      ▲                                             ▲                            │ one probe
      └───────────────── the probe gets an answer ──┼──── the probe fails ───────┘

A failure is a logical request (its retries included) that ended without an answer from the
backend: a transport error, a timeout, or 5xx/429 after retries. Any answer, a 4xx included (the
caller's fault, not the backend's), is a success. While open, and while the half-open probe is
in flight, calls fail at once with `CircuitOpen` and the backend is not touched. A probe that is
cancelled gives no verdict: the next call probes instead.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from aiops_mcp.datasources.errors import CircuitOpen

logger = logging.getLogger(__name__)
State = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class BreakerState:
    """What a health check shows: the state, the failure streak and, once open, when and why."""

    state: State
    failures: int
    """Consecutive failed requests."""
    opened_at: float | None = None
    """Unix seconds at which the circuit last opened (None when closed)."""
    retry_in: float | None = None
    """Seconds until a probe is let through (0 when one may go now; None when closed)."""
    last_error: str | None = None


class CircuitBreaker:
    """One datasource's breaker; `threshold=0` turns it off (never opens)."""

    def __init__(
        self,
        name: str,
        threshold: int,
        cooldown: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._wall = wall
        self._failures = 0
        self._opened: tuple[float, float] | None = None  # (monotonic, unix) of the last opening
        self._probing = False
        self._last_error: str | None = None

    @property
    def state(self) -> BreakerState:
        """A snapshot of the breaker, safe to show (messages are already redacted)."""
        if self._opened is None:
            return BreakerState("closed", self._failures, last_error=self._last_error)
        retry_in = max(0.0, self._opened[0] + self.cooldown - self._clock())
        state: State = "half_open" if self._probing or retry_in == 0 else "open"
        return BreakerState(state, self._failures, self._opened[1], retry_in, self._last_error)

    def admit(self) -> bool:
        """Let a call through (True when it is the half-open probe) or raise `CircuitOpen`."""
        if self._opened is None:
            return False
        waited = self._clock() - self._opened[0]
        if waited < self.cooldown:
            raise self._refusal(f"retrying after {self.cooldown - waited:.0f}s")
        if self._probing:
            raise self._refusal("a probe request is checking whether it is back")
        self._probing = True
        return True

    def success(self) -> None:
        """The backend answered: close the circuit."""
        if self._opened is not None:
            logger.warning("%s: circuit closed, the datasource answers again", self.name)
        self._failures, self._opened, self._probing, self._last_error = 0, None, False, None

    def failure(self, message: str, probe: bool = False) -> None:
        """A request got no answer: the circuit opens on the `threshold`-th in a row, or when a probe fails.

        A call admitted before the circuit opened that fails afterwards does not extend the cool-down.
        """
        self._failures += 1
        self._last_error = message
        if probe:
            self._probing = False
        elif self._opened is not None or not self.threshold or self._failures < self.threshold:
            return
        self._opened = (self._clock(), self._wall())
        logger.warning(
            "%s: circuit open for %gs after %d consecutive failures; last error: %s",
            self.name, self.cooldown, self._failures, message,
        )  # fmt: skip

    def abandon(self, probe: bool) -> None:
        """A call ended without a verdict (cancelled): a probe's slot goes to the next call."""
        if probe:
            self._probing = False

    def _refusal(self, when: str) -> CircuitOpen:
        assert self._opened is not None
        since = datetime.fromtimestamp(self._opened[1], UTC).isoformat(timespec="seconds")
        message = (
            f"circuit open since {since.replace('+00:00', 'Z')} after {self._failures} consecutive "
            f"failures, {when}; last error: {self._last_error}"
        )
        return CircuitOpen(self.name, message)
