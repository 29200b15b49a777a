"""Which Slack Web API calls slack_sdk may send again by itself.

slack_sdk's default ConnectionErrorRetryHandler re-sends any call whose connection
dropped, `chat.postMessage` included: when Slack had stored the message before the
connection broke, the resend posts it twice. nzbot's posts (start messages, reports,
case messages) each have their own once-only path instead: the intent is recorded and
the posted message is looked for by its metadata before posting again (bot/notifier.py).
So a post whose connection dropped is never resent here; every other call, which is
safe to repeat, still is.
"""

from __future__ import annotations

from typing import Optional

from slack_sdk.http_retry import ConnectionErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

# Calls that create something each time they are sent.
NOT_RESENT = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage"})


def api_method(url: str) -> str:
    """`chat.postMessage` from `https://slack.com/api/chat.postMessage?...`."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class ConnectionRetryExceptPosts(ConnectionErrorRetryHandler):
    """slack_sdk's connection-error retry, for every call but those in NOT_RESENT."""

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: Optional[HttpResponse] = None, error: Optional[Exception] = None) -> bool:
        if api_method(request.url) in NOT_RESENT:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


def retry_handlers() -> list[RetryHandler]:
    """The WebClient's retry handlers: slack_sdk's defaults, posts excepted."""
    return [ConnectionRetryExceptPosts()]
