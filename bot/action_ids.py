"""The action ids of nzbot's buttons: one name for each, shared by the messages that show
the buttons and the handlers that answer them."""

from __future__ import annotations

# /nz match on a multi-match: hand the IZ record to the Program Manager for Technical Services.
SEND_TO_PM = "nz_send_to_pm"

# The case message the Program Manager decides in.
LINK_CANDIDATE = "nz_case_link"  # link the IZ record to this NZ candidate
CONTRIBUTE_NEW = "nz_case_contribute"  # none fits: add the IZ record to the NZ as a new record
SKIP_CASE = "nz_case_skip"  # leave the IZ record unlinked
RECHECK_CASE = "nz_case_recheck"  # look the candidates up again (the NZ may have changed)

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

import re  # noqa: E402

CASE_PAGE = "nz_case_page"  # show another page of candidates; value "{case_id}:{page}"

ALL = ALL + (CASE_PAGE,)

# The Program Manager's queue: show the next case to decide, in place; value a link job
# row id (its queue message), or "all" (the Home tab's "Review next").
REVIEW_CASES = "nz_review_cases"

ALL = ALL + (REVIEW_CASES,)


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
