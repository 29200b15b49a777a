"""Every listener's failure answered in words, so that no command or button misses its ack."""

from __future__ import annotations

import functools
import logging

from bot.errors import user_message
from bot.messages import error_message

log = logging.getLogger(__name__)


def answering(listener):
    """Any failure of `listener` answered in words (and logged, by user_message): as the
    ack when it came first, else as an ephemeral reply. Done here, not in Bolt's error
    handler, because Bolt forgets an ack given just before a failure. Bolt reads the
    listener's argument names through functools.wraps."""

    @functools.wraps(listener)
    def run(**kwargs):
        try:
            listener(**kwargs)
        except Exception as exc:
            message = error_message(user_message(exc)).as_kwargs()
            ack, respond = kwargs["ack"], kwargs.get("respond")
            if ack.response is None:
                ack(response_type="ephemeral", **message)
            elif respond is not None:
                try:
                    respond(response_type="ephemeral", replace_original=False, **message)
                except Exception:  # Slack unreachable: the log has the error
                    log.warning("could not tell the user about a failed request")

    return run
