"""The bot's Slack Web API client: slack_sdk's WebClient, within Slack's limits.

- Every call honours a 429's Retry-After (slack_sdk's RateLimitErrorRetryHandler): Slack
  did not act on a refused call, so sending it again is safe.
- Posts to one channel are paced to Slack's documented rate for chat.postMessage (about
  one a second per channel, short bursts allowed), so that a burst of posts waits its
  turn here instead of being refused.
- One WARNING per throttled stretch, not a line per refused call.
https://api.slack.com/apis/rate-limits
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

log = logging.getLogger(__name__)

POSTS_PER_SECOND = 1.0  # chat.postMessage, per channel
POST_BURST = 3  # posts one channel may take at once before pacing begins
RATE_LIMIT_RETRIES = 8  # 429s in a row a call waits out before it fails
STRETCH_GAP = 60.0  # seconds without a 429 that end a throttled stretch
PACED_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral"})


class ChannelPace:
    """Spaces calls to each channel `1 / rate` seconds apart, letting `burst - 1` through at
    once (the generic cell rate algorithm: one timestamp per channel)."""

    def __init__(self, rate: float = POSTS_PER_SECOND, burst: int = POST_BURST) -> None:
        self.interval = 1.1 / rate  # a tenth slower than the limit: network jitter
        # One post of the burst kept in reserve: with the whole burst spent at once, the
        # first paced post has a tenth of an interval to spare, and a post delayed on its
        # way (a loaded machine, the network) arrives after the next one and is refused.
        self.tolerance = max(0, burst - 2) * self.interval
        self._due: dict[str, float] = {}
        self._lock = threading.Lock()

    def delay(self, channel: str) -> float:
        """Reserves the channel's next slot; returns how long to wait for it."""
        with self._lock:
            now = time.monotonic()
            due = max(self._due.get(channel, now), now)
            self._due[channel] = due + self.interval
            if len(self._due) > 10_000:  # forget channels long idle
                self._due = {c: t for c, t in self._due.items() if t > now}
            return max(0.0, due - now - self.tolerance)

    def wait(self, channel: str) -> None:
        pause = self.delay(channel)
        if pause > 0:
            time.sleep(pause)


class ThrottleWarning(RateLimitErrorRetryHandler):
    """Waits out a 429's Retry-After (slack_sdk), saying so once per throttled stretch."""

    def __init__(self, max_retry_count: int = RATE_LIMIT_RETRIES) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._lock = threading.Lock()
        self._last = float("-inf")
        self.refused = 0  # 429s seen, for the benchmark and the logs

    def prepare_for_next_attempt(self, *, state, request, response=None, error=None) -> None:
        with self._lock:
            now = time.monotonic()
            starts = now - self._last > STRETCH_GAP
            self._last = now
            self.refused += 1
        if starts and response is not None:
            retry_after = next((v[0] for k, v in response.headers.items() if k.lower() == "retry-after"), "?")
            log.warning("Slack is rate-limiting the bot (429, Retry-After %s s on %s): calls wait "
                        "and are sent again", retry_after, request.url.rsplit("/", 1)[-1])
        super().prepare_for_next_attempt(state=state, request=request, response=response, error=error)


class PacedWebClient(WebClient):
    """WebClient that honours Retry-After on every call and paces posts per channel."""

    def __init__(self, *args: Any, posts_per_second: float = POSTS_PER_SECOND, burst: int = POST_BURST,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answered_at: float | None = None  # time.time() of Slack's last answer (nzbot status)
        self.throttle = ThrottleWarning()
        self.retry_handlers.append(self.throttle)
        self.pace = ChannelPace(posts_per_second, burst)

    def api_call(self, api_method: str, **kwargs: Any):  # type: ignore[override]
        if api_method in PACED_METHODS:
            channel = next((str(part["channel"]) for part in (kwargs.get("json"), kwargs.get("data"),
                                                                kwargs.get("params"))
                            if isinstance(part, dict) and part.get("channel")), "")
            if channel:
                self.pace.wait(channel)
        response = super().api_call(api_method, **kwargs)  # an error Slack sends raises: not an answer here
        self.answered_at = time.time()
        return response
