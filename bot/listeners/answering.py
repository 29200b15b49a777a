"""Every listener's failure answered in words, so that no command or button misses its
ack and nobody is told "the error has been logged" unless it was (user_message logs)."""

from __future__ import annotations

import functools
import logging

from slack_bolt import BoltResponse

from alma.errors import BadInput
from bot import action_ids
from bot.action_ids import ButtonValue
from bot.errors import user_message
from bot.messages import error_message
from nzbot.store import WAIT_SECONDS, DatabaseLost, Store

log = logging.getLogger(__name__)

# Until its ack, a listener waits at most this long for another writer on the database,
# then answers "busy, try again": Slack wants the ack within 3 s. (The listeners ack
# before they write; this bounds any wait that slips in before an ack.)
ACK_WAIT_SECONDS = 1.0


def failure_message(exc: Exception) -> dict:
    return {"response_type": "ephemeral", **error_message(user_message(exc)).as_kwargs()}


def answering(store: Store):
    """Wraps a listener: its database waits are bounded until it acks, and any failure is
    answered as the ack when it came first, else as an ephemeral reply. Done around the
    listener rather than in Bolt's error handler because Bolt drops an ack given just
    before a failure. (Bolt reads the listener's argument names through functools.wraps.)

        @app.command("/nz")
        @answering(services.store)
        def nz_command(ack, command, respond): ...
    """

    def wrap(listener):
        @functools.wraps(listener)
        def run(**kwargs):
            ack = kwargs["ack"]

            def ack_then_wait_as_usual(*args, **ack_kwargs):
                try:
                    return ack(*args, **ack_kwargs)
                finally:  # acked: Slack's 3 s no longer count
                    store.bound_waits(WAIT_SECONDS)

            if store.lost is not None:  # said at once: nothing is taken into a file nobody sees
                ack(**failure_message(DatabaseLost(store.path, store.lost)))
                return
            store.bound_waits(ACK_WAIT_SECONDS)
            try:
                listener(**{**kwargs, "ack": ack_then_wait_as_usual})
            except Exception as exc:
                message = failure_message(exc)
                if ack.response is None:
                    ack(**message)
                else:
                    _reply(kwargs.get("respond"), message)
            finally:
                store.bound_waits(WAIT_SECONDS)

        return run

    return wrap


def listener_failed(error: Exception, response: BoltResponse | None, respond) -> BoltResponse | None:
    """Bolt's global error handler, for a listener not wrapped in `answering`: its failure
    before an ack becomes the ack (Bolt's default is an empty 500)."""
    message = failure_message(error)
    if response is not None:
        return BoltResponse(status=200, body=message)
    _reply(respond, message)
    return None


def _reply(respond, message: dict) -> None:
    try:
        if respond is not None:
            respond(replace_original=False, **message)
    except Exception:  # no response_url, or Slack unreachable: the log has the error
        log.warning("could not tell the user about a failed request")


def pressed_once(store: Store, ack, body: dict, respond, *, once: bool = True) -> ButtonValue | None:
    """A button press acked and its value read through the one codec (bot/action_ids.py).
    None when there is nothing to do: the same press delivered twice (`once`), or a value
    that is not the button's (a forged one), which is answered in words; the Home tab has
    no response_url, so there it is logged."""
    ack()
    action = action_ids.pressed(body)
    if once and not store.first_time(f"action:{body.get('trigger_id')}:{action.get('action_ts')}"):
        return None
    try:
        return action_ids.read(str(action.get("action_id") or ""), action.get("value"))
    except BadInput as exc:
        if body.get("response_url"):
            _reply(respond, failure_message(exc))
        else:
            log.warning("a press refused: %s", exc)
        return None


def tell(services, actor, message, respond=None) -> None:
    """An answer only `actor` sees, in the channel they asked from, where no response_url
    serves (after a modal closes; more answers than a response_url takes). When Slack will
    not post there (the bot is not in that channel), `respond` says so, if given."""
    try:
        services.slack.chat_postEphemeral(channel=actor.channel, user=actor.user, **message.as_kwargs())
    except Exception as exc:  # slack_sdk's SlackApiError, or Slack unreachable: logged, said where possible
        log.warning("could not answer %s in %s: %s", actor.user, actor.channel, exc)
        if respond is not None:
            _reply(respond, {"response_type": "ephemeral", **error_message(
                "I could not answer in this channel: invite me first (`/invite @nzbot`).").as_kwargs()})
