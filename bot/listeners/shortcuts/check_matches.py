""""Check NZ matches" on a message: the NZ matches of each MMS ID and OCLC number it holds,
up to MAX_SHORTCUT_LOOKUPS, each answered as `/nz match` answers it (the same lookup and
template), to the person who asked only. More than a response_url takes (5), so the answers
are ephemeral posts in the channel."""

from __future__ import annotations

from bot import action_ids
from bot.access import refusal_for
from bot.errors import user_message
from bot.listeners.answering import tell
from bot.messages import MAX_SHORTCUT_LOOKUPS, error_message, match_message, shortcut_matches_message
from bot.rendering import message_texts
from bot.services import Services
from nzbot.access import Actor
from nzbot.lookups import identifiers_in, match_identifier


def handle(services: Services, ack, body: dict, respond, actor: Actor) -> None:
    ack()
    if not services.store.first_time(f"shortcut:{body.get('trigger_id')}"):
        return  # the same shortcut delivered twice
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    identifiers = identifiers_in("\n".join(message_texts(message)))
    services = services.for_actor(actor)  # the channel's member: its IZ

    def work() -> None:
        tell(services, actor, shortcut_matches_message(identifiers), respond)
        can_link = refusal_for(services, action_ids.MATCH_LINK, actor) is None
        for identifier in identifiers[:MAX_SHORTCUT_LOOKUPS]:
            try:
                answer = match_message(match_identifier(services.alma, identifier).match, can_link=can_link)
            except Exception as exc:
                answer = error_message(user_message(exc))
            tell(services, actor, answer)

    services.later(work)
