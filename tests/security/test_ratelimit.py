"""Token buckets: bursts up to the limit, then one request per 1/rate seconds, with a clear wait."""

import pytest

from aiops_mcp.security.ratelimit import RateLimited, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_is_allowed_then_refused_until_the_bucket_refills() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2, burst=4, clock=clock)
    for _ in range(4):
        limiter.take("token:a", "token 'a'")
    with pytest.raises(RateLimited, match=r"rate limit reached for token 'a': retry in 0\.5s") as refused:
        limiter.take("token:a", "token 'a'")
    assert refused.value.retry_after == pytest.approx(0.5)
    clock.now += 0.5
    limiter.take("token:a", "token 'a'")
    with pytest.raises(RateLimited):
        limiter.take("token:a", "token 'a'")


def test_buckets_are_separate_and_never_hold_more_than_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1, burst=2, clock=clock)
    limiter.take("a", "a")
    limiter.take("a", "a")
    limiter.take("b", "b")  # b's bucket is its own
    clock.now += 3600 * 0.5  # a long pause refills to the burst, not beyond
    for _ in range(2):
        limiter.take("a", "a")
    with pytest.raises(RateLimited):
        limiter.take("a", "a")


def test_a_rate_of_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(rate=0, burst=0)
    for _ in range(1000):
        limiter.take("a", "a")
    assert not limiter.enabled


def test_the_wait_is_rounded_up_so_it_is_never_zero() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1000, burst=1, clock=clock)
    limiter.take("a", "a")
    with pytest.raises(RateLimited, match=r"retry in 0\.1s"):
        limiter.take("a", "a")
