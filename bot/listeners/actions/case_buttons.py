"""The case message's buttons: link to a candidate, contribute as new, skip, re-check,
and turning the page of candidates. Only the Program Manager may decide."""

from __future__ import annotations

from alma.errors import BadInput, quoted
from bot.errors import user_message
from bot.messages import already_decided_message, case_message, error_message, not_pm_message
from bot.services import Services
from nzbot.cases import AlreadyDecided, NotProgramManager


def decision_listener(services: Services, decision: str):
    def listener(ack, body, respond):
        decide(services, decision, ack, body, respond)

    return listener


def decide(services: Services, decision: str, ack, body: dict, respond) -> None:
    ack()
    action = (body.get("actions") or [{}])[0]
    if not services.store.first_time(f"action:{body.get('trigger_id')}:{action.get('action_ts')}"):
        return  # the same click delivered twice
    user = body.get("user", {}).get("id", "")
    case_id, _, nz_mms_id = str(action.get("value") or "").partition(":")
    try:
        services.cases.decide(case_id, user, decision, nz_mms_id or None)
    except NotProgramManager:
        respond(response_type="ephemeral", replace_original=False,
                **not_pm_message(services.settings.pm_users).as_kwargs())
        return
    except AlreadyDecided as exc:
        respond(response_type="ephemeral", replace_original=False,
                **already_decided_message(exc.case).as_kwargs())
        return
    except Exception as exc:
        respond(response_type="ephemeral", replace_original=False,
                **error_message(user_message(exc)).as_kwargs())
        return
    services.later(services.cases.advance)  # start on it now, not at the next round


def turn_page(services: Services, ack, body: dict, respond) -> None:
    ack()
    action = (body.get("actions") or [{}])[0]
    case_id, _, page = str(action.get("value") or "").partition(":")
    try:
        case = services.cases.case(case_id)
        if not (page.isascii() and page.isdigit() and len(page) <= 4):
            raise BadInput(f"{quoted(page)} is not a page of this case's candidates.")
        page_number = int(page)
    except Exception as exc:
        respond(response_type="ephemeral", replace_original=False,
                **error_message(user_message(exc)).as_kwargs())
        return
    respond(replace_original=True, **case_message(case, page=page_number).as_kwargs())
