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
