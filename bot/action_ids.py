"""The action ids of nzbot's buttons: one name for each, shared by the messages that show
the buttons and the handlers that answer them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from alma.errors import BadInput, quoted

# /nz match on a multi-match: hand the IZ record to the Program Manager for Technical Services.
SEND_TO_PM = "nz_send_to_pm"

# The case message the Program Manager decides in.
LINK_CANDIDATE = "nz_case_link"  # link the IZ record to this NZ candidate
CONTRIBUTE_NEW = "nz_case_contribute"  # none fits: add the IZ record to the NZ as a new record
SKIP_CASE = "nz_case_skip"  # leave the IZ record unlinked
RECHECK_CASE = "nz_case_recheck"  # look the candidates up again (the NZ may have changed)
# "These are duplicates: merge into this one": the PM merges the candidates in the NZ, this
# one as primary; suffixed like LINK_CANDIDATE, value "{case_id}:{nz_mms_id}"
MERGE_INTO = "nz_case_merge"

ALL = (SEND_TO_PM, LINK_CANDIDATE, CONTRIBUTE_NEW, SKIP_CASE, RECHECK_CASE)

# --- the case message: unique action ids, matched by prefix ---------------------------
#
# Slack wants every action_id in a message to be unique, and the case message shows a
# "Link to this record" button under each candidate and a "Previous" and a "Next" page
# button. Those carry a suffix: f"{LINK_CANDIDATE}:{n}" (n is the candidate's number,
# 1-based, over all candidates), f"{CASE_PAGE}:prev" and f"{CASE_PAGE}:next". The button
# values say what to do ("{case_id}:{nz_mms_id}", "{case_id}:{page}"), so listeners must
# match the prefix, never the whole id:
#
#     app.action(action_ids.pattern(action_ids.LINK_CANDIDATE))(on_link)
#
# The others (CONTRIBUTE_NEW, SKIP_CASE, RECHECK_CASE) appear once per message and are
# sent without a suffix; pattern() matches them either way.

CASE_PAGE = "nz_case_page"  # show another page of candidates; value "{case_id}:{page}"

ALL = ALL + (CASE_PAGE, MERGE_INTO)

# The Program Manager's queue: show the next case to decide, in place; value a link job
# row id (its queue message), or "all" (the Home tab's "Review next").
REVIEW_CASES = "nz_review_cases"

ALL = ALL + (REVIEW_CASES,)

# /nz cases: another page of open cases, in place of the answer; suffixed ":prev" and
# ":next" (unique ids in one message), value the page number, 1-based as `/nz cases N`.
CASES_PAGE = "nz_cases_page"

ALL = ALL + (CASES_PAGE,)

# /nz match: a cataloger links the IZ record to this NZ record themselves (the guidance's
# Method 2); suffixed ":n" (one per candidate), value "{iz_mms_id}:{nz_mms_id}".
MATCH_LINK = "nz_match_link"

ALL = ALL + (MATCH_LINK,)

# The suggested pick (alma/suggestion.py): on a case message, link to the suggested NZ
# record, value "{case_id}:{nz_mms_id}" (refused when the suggestion changed since); on a
# job's queue message, accept every suggestion of the job, value as REVIEW_CASES's.
ACCEPT_SUGGESTION = "nz_case_accept"
ACCEPT_ALL = "nz_queue_accept_all"

ALL = ALL + (ACCEPT_SUGGESTION, ACCEPT_ALL)

# Sets from Slack. The modal of `/nz link` with no set (a view's callback_id; its
# private_metadata the channel it was opened from, written and read here like a value);
# "Link these N records" under the preview of a set made from it (value "{set_id}:{0|1}",
# 1: contribute); the message shortcut "Check NZ matches" (its callback_id).
LINK_MODAL = "nz_link_modal"
LINK_SET = "nz_link_set"
CHECK_NZ_MATCHES = "check_nz_matches"

ALL = ALL + (LINK_SET,)


def pressed(body: dict) -> dict:
    """The button a block_actions request reports pressed (its first action); {} for a
    body that names none, so the codec below refuses it in words."""
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else {}
    return first if isinstance(first, dict) else {}


def suffixed(action_id: str, suffix: object) -> str:
    """The action id of one of several buttons of one kind in a message."""
    return f"{action_id}:{suffix}"


def pattern(action_id: str) -> re.Pattern[str]:
    """Matches `action_id` alone or with any ":suffix": for Bolt's app.action()."""
    return re.compile(f"^{re.escape(action_id)}(:|$)")


def base(action_id: str) -> str:
    """The action id without its suffix: "nz_case_link:3" -> "nz_case_link"."""
    return action_id.split(":", 1)[0]


LINK_CANDIDATE_PATTERN = pattern(LINK_CANDIDATE)
CASE_PAGE_PATTERN = pattern(CASE_PAGE)


# --- button values: one codec, checked on the way in ----------------------------------
#
# A button's value comes back from Slack as whatever the client sent: anyone who can post
# a signed request (a workspace member with a crafted client) can put anything there. So
# every value is written by `value()` and read back by `read()`, which refuses anything
# that is not the shape the button was made with, in words a cataloger understands.

_DIGITS = re.compile(r"[0-9]+")  # ASCII digits only, matched whole (fullmatch)
_MMS_ID = re.compile(r"[0-9]{6,25}")  # as alma.client.check_mms_id
_MAX_CASE_ID_DIGITS = 18
_MAX_PAGE_DIGITS = 4
_SET_ID = re.compile(r"[0-9]{1,25}")  # as alma.client's set ids
_CHANNEL = re.compile(r"[CDG][A-Z0-9]{2,20}")  # a Slack channel, private group or DM id


@dataclass(frozen=True)
class ButtonValue:
    """What a button's value says, checked: the case it is about, the record it names
    (the IZ record for SEND_TO_PM, the NZ candidate for LINK_CANDIDATE), the page."""

    case_id: int | None = None
    mms_id: str | None = None
    page: int | None = None
    link_job: int | None = None  # REVIEW_CASES: the job whose cases to review (None: all)
    iz_mms_id: str | None = None  # MATCH_LINK: the IZ record to link (mms_id: the NZ record)
    set_id: str | None = None  # LINK_SET: the set to run the link job on
    contribute: bool = False  # LINK_SET: records with no NZ match are added to the NZ
    channel: str | None = None  # LINK_MODAL: the channel the modal was opened from


def value(action_id: str, *, case_id: object = None, mms_id: object = None, page: object = None,
          link_job: object = None, iz_mms_id: object = None, set_id: object = None,
          contribute: bool = False, channel: object = None) -> str:
    """The value a button of kind `action_id` carries (the templates call this)."""
    kind = base(action_id)
    if kind == LINK_SET:
        return f"{set_id}:{1 if contribute else 0}"
    if kind == LINK_MODAL:
        return str(channel)
    if kind == MATCH_LINK:
        return f"{iz_mms_id}:{mms_id}"
    if kind in (REVIEW_CASES, ACCEPT_ALL):
        return "all" if link_job is None else str(link_job)
    if kind == SEND_TO_PM:
        return str(mms_id)
    if kind in (LINK_CANDIDATE, MERGE_INTO, ACCEPT_SUGGESTION):
        return f"{case_id}:{mms_id}"
    if kind == CASE_PAGE:
        return f"{case_id}:{page}"
    if kind == CASES_PAGE:
        return str(page)
    return str(case_id)


def read(action_id: str, raw: object) -> ButtonValue:
    """The checked value of a press of a button of kind `action_id`; BadInput otherwise."""
    kind = base(action_id)
    text = "" if raw is None else str(raw)
    if kind == SEND_TO_PM:
        if not _MMS_ID.fullmatch(text):
            raise BadInput(f"{quoted(text)} is not an IZ record's MMS ID (digits only, such as "
                           "9949620601852): nothing was sent to the Program Manager.")
        return ButtonValue(mms_id=text)
    if kind == MATCH_LINK:
        iz, _, nz = text.partition(":")
        if not _MMS_ID.fullmatch(iz) or not _MMS_ID.fullmatch(nz):
            raise BadInput("This button does not name an IZ record and an NZ record by their MMS IDs: "
                           "nothing was linked.")
        return ButtonValue(iz_mms_id=iz, mms_id=nz)
    if kind in (LINK_CANDIDATE, MERGE_INTO, ACCEPT_SUGGESTION):
        case_text, _, nz = text.partition(":")
        case_id = _case_id(case_text)
        if not nz:
            raise BadInput(f"This button names no NZ record to link case {case_id} to: nothing was changed.")
        if not _MMS_ID.fullmatch(nz):
            raise BadInput(f"{quoted(nz)} is not an NZ record's MMS ID: nothing was changed.")
        return ButtonValue(case_id=case_id, mms_id=nz)
    if kind == CASE_PAGE:
        case_text, _, page = text.partition(":")
        case_id = _case_id(case_text)
        if not (_DIGITS.fullmatch(page) and len(page) <= _MAX_PAGE_DIGITS):
            raise BadInput(f"{quoted(page)} is not a page of this case's candidates.")
        return ButtonValue(case_id=case_id, page=int(page))
    if kind == CASES_PAGE:  # also reads the N of `/nz cases N`
        if not (_DIGITS.fullmatch(text) and len(text) <= _MAX_PAGE_DIGITS):
            raise BadInput(f"{quoted(text)} is not a page of open cases.")
        if int(text) < 1:
            raise BadInput("Pages start at 1: `/nz cases 1` shows the newest open cases.")
        return ButtonValue(page=int(text))
    if kind in (CONTRIBUTE_NEW, SKIP_CASE, RECHECK_CASE):
        return ButtonValue(case_id=_case_id(text))
    if kind in (REVIEW_CASES, ACCEPT_ALL):
        if text == "all":
            return ButtonValue()
        if not (_DIGITS.fullmatch(text) and len(text) <= _MAX_CASE_ID_DIGITS):
            raise BadInput(f"There is no link job {quoted(text)}.")
        return ButtonValue(link_job=int(text))
    if kind == LINK_SET:
        set_id, _, contribute = text.partition(":")
        if not _SET_ID.fullmatch(set_id) or contribute not in ("0", "1"):
            raise BadInput("This button does not name a set to link: nothing was started.")
        return ButtonValue(set_id=set_id, contribute=contribute == "1")
    if kind == LINK_MODAL:
        if not _CHANNEL.fullmatch(text):
            raise BadInput("This form does not say which channel it came from: nothing was made or started. "
                           "Open it again with `/nz link` in your channel.")
        return ButtonValue(channel=text)
    raise BadInput(f"nzbot has no button {quoted(action_id)}.")


def modal_channel(body: dict) -> str:
    """The channel an nzbot modal was opened from, read from its private_metadata by the
    codec above; "" for a body that is no nzbot modal's (or a forged one)."""
    view = body.get("view") if isinstance(body, dict) else None
    if not isinstance(view, dict) or view.get("callback_id") != LINK_MODAL:
        return ""
    try:
        return read(LINK_MODAL, view.get("private_metadata")).channel or ""
    except BadInput:
        return ""


def _case_id(text: str) -> int:
    if not (_DIGITS.fullmatch(text) and len(text) <= _MAX_CASE_ID_DIGITS):
        raise BadInput(f"There is no case {quoted(text)}.")
    return int(text)
