"""How a Program Manager's choice becomes a link in Alma: decided here, in one place.

Alma's API has no operation that links an existing IZ record to a chosen NZ record
(docs/alma.md, "Linking to the NZ"). The link job does link, and it can match on a
prefixed 035 value (the "other system number" profile) instead of the OCLC number. So
each decision takes one of these routes:

- other_system: the chosen NZ record carries a prefixed 035 $a value that no other NZ
  record carries (checked in the NZ by SRU). The IZ record gets that same 035, and the
  link job runs with the other-system-number profile and that prefix: its only possible
  match is the chosen record.
- unique: a re-check found exactly one NZ record: the ordinary Unique OCLC link job.
- contribute: "none of these": the link job with contribution on, matching on a prefix
  the record does not carry, so it finds no match and imports the record as a new NZ
  record. (Seen to work in the simulator; unconfirmed on a real Alma, whose link job
  might skip rather than import a record with no value under the prefix.)
- token (needs ALMA_NZ_API_KEY): no 035 singles the chosen record out, so nzbot makes
  one: a throwaway `035 $a <prefix><token>` (prefix NZBOT_LINK_TOKEN_PREFIX, token unique
  per case) goes on the chosen NZ record (PUT with the NZ key) and on the IZ record, the
  link job runs with the other-system-number profile and that prefix, and afterwards the
  token is taken off the NZ record again (and off the IZ record if it did not link),
  checked gone, whether the link worked or not.
- merge: the Program Manager says the candidates are duplicates and merges them in the NZ
  (no API can); once only the chosen record carries the OCLC number, the ordinary Unique
  OCLC link job links the record.
- manual (the hand-off): no route above exists: the cataloger who started the job (or
  sent the case) links it in the Metadata Editor (Method 2 of the guidance) with both MMS
  IDs in hand, and nzbot watches the record for the link.

Routes are tried in this order: unique 035 (other_system), token, merge (the Program
Manager's button), hand-off. `choose_route` is the one place that decides.

Every route ends the same way: the IZ record is read back and its linked_record_id must be
the chosen NZ record before anyone is told it is linked.
"""

from __future__ import annotations

import re
import secrets
from typing import Callable

from pymarc import Field, Record, Subfield

from alma.client import AlmaClient
from alma.errors import RecordChanged
from alma.marc import control_number
from alma.models import Bib
from nzbot.states import Decision, Route, RouteKind

DEFAULT_TOKEN_PREFIX = "(NZBOT)"
# The prefix of the contribute route: no record carries it, so nothing can match.
NO_MATCH_PREFIX = "(NZBOT-NO-MATCH)"
# 035 values that cannot single out a record: OCLC numbers (shared by the duplicates,
# which is the whole problem) and the network's own copies of MMS IDs.
_PREFIXED = re.compile(r"^(\([^()\s]+\))\S+$")
_NOT_IDENTIFYING = ("(OCoLC", "(EXLNZ-")


def route_to(client: AlmaClient, chosen_nz_mms_id: str, token_prefix: str = DEFAULT_TOKEN_PREFIX) -> Route:
    """The other-system route when the chosen NZ record has a 035 only it carries, else manual.
    nzbot's own tokens never count: they are on the record only for a while."""
    for value in identifying_values(client, chosen_nz_mms_id):
        if value.startswith(token_prefix):
            continue
        carriers = {control_number(r) for r in client.sru_search(f'alma.other_system_number="{value}"')}
        if carriers == {chosen_nz_mms_id}:
            return Route(RouteKind.OTHER_SYSTEM, prefix=_PREFIXED.match(value).group(1), identifier=value)
    return Route(RouteKind.MANUAL)


def choose_route(client: AlmaClient, decision: str, chosen_nz_mms_id: str | None,
                 token_prefix: str = DEFAULT_TOKEN_PREFIX) -> Route:
    """The route for a decision, in the order unique 035, token, merge, hand-off. The
    token route's identifier is made by the token step (`new_token`), not here."""
    if decision == Decision.CONTRIBUTE:
        return Route(RouteKind.CONTRIBUTE, prefix=NO_MATCH_PREFIX)
    if decision == Decision.MERGE:
        return Route(RouteKind.MERGE)
    route = route_to(client, chosen_nz_mms_id, token_prefix)
    if route.kind == RouteKind.OTHER_SYSTEM:
        return route
    if client.has_nz_key:
        return Route(RouteKind.TOKEN, prefix=token_prefix)
    return Route(RouteKind.MANUAL)


def new_token(prefix: str, case_id: int) -> str:
    """`(NZBOT)c42-7f3a`: the case's number and a random part, so no two attempts share one."""
    return f"{prefix}c{case_id}-{secrets.token_hex(2)}"


def carries_035(record, value: str) -> bool:
    return record is not None and value in {
        v.strip() for f in record.get_fields("035") for v in f.get_subfields("a")}


# A record someone saved meanwhile is read, changed and saved again, this many times in all.
SAVE_TRIES = 3


def edit_record(read: Callable[[], Bib], save: Callable[[Record], Bib],
                change: Callable[[Bib], Record | None]) -> Bib | None:
    """Reads a record, changes it and saves it, Alma refusing the save if anyone saved the
    record after it was read (RecordChanged): then it is read and changed again, so an edit
    a cataloger saved meanwhile in the Metadata Editor is kept, never overwritten. `change`
    gives the record to save, or None when there is nothing to change. Returns what Alma
    saved, or None when nothing was."""
    for attempt in range(1, SAVE_TRIES + 1):
        record = change(read())
        if record is None:
            return None
        try:
            return save(record)
        except RecordChanged:
            if attempt == SAVE_TRIES:
                raise
    return None


def put_token_on_nz(client: AlmaClient, nz_mms_id: str, token: str) -> bool:
    """Adds the token's 035 to the chosen NZ record (NZ key), once; True when the NZ record
    as Alma answers carries it (NZ normalisation rules might change it: unconfirmed)."""
    saved = edit_record(lambda: client.get_nz_bib(nz_mms_id), lambda r: client.update_nz_bib(nz_mms_id, r),
                        lambda bib: _with_035(bib.marc(), token))
    return saved is None or carries_035(saved.record, token)


def take_token_off_nz(client: AlmaClient, nz_mms_id: str, token: str) -> bool:
    """Removes the token's 035 from the NZ record and reads the record back: True when
    it is gone."""
    if edit_record(lambda: client.get_nz_bib(nz_mms_id), lambda r: client.update_nz_bib(nz_mms_id, r),
                   lambda bib: _without_035(bib.marc(), token)) is None:
        return True  # it was not there
    return not carries_035(client.get_nz_bib(nz_mms_id).marc(), token)


def take_token_off_iz(client: AlmaClient, iz_mms_id: str, token: str) -> None:
    """Removes the token from an IZ record that did not link (a linked one shows the NZ
    record's content, from which the token is gone)."""
    edit_record(lambda: client.get_bib(iz_mms_id), lambda r: client.update_bib(iz_mms_id, r),
                lambda bib: None if bib.linked_nz_mms_id or not carries_035(bib.record, token)
                else _without_035(bib.marc(), token))


def _field_035(value: str) -> Field:
    return Field(tag="035", indicators=[" ", " "], subfields=[Subfield("a", value)])


def _with_035(record: Record, value: str) -> Record | None:
    """The record with a `035 $a value` added; None when it carries one already."""
    if carries_035(record, value):
        return None
    record.add_ordered_field(_field_035(value))
    return record


def _without_035(record: Record, value: str) -> Record | None:
    """The record without its `035 $a value` fields; None when it carries none."""
    if not carries_035(record, value):
        return None
    for field in record.get_fields("035"):
        if value in (v.strip() for v in field.get_subfields("a")):
            record.remove_field(field)
    return record


def identifying_values(client: AlmaClient, nz_mms_id: str) -> list[str]:
    """The chosen NZ record's prefixed 035 $a values that might single it out."""
    values: list[str] = []
    for record in client.sru_search(f"alma.mms_id={nz_mms_id}"):
        if control_number(record) != nz_mms_id:
            continue
        for field in record.get_fields("035"):
            for value in field.get_subfields("a"):
                value = value.strip()
                if _PREFIXED.match(value) and not value.startswith(_NOT_IDENTIFYING):
                    values.append(value)
    return list(dict.fromkeys(values))


def give_identifier(client: AlmaClient, iz_mms_id: str, route: Route) -> None:
    """Adds the route's 035 to the IZ record, once (safe to repeat after a crash)."""
    if route.kind not in (RouteKind.OTHER_SYSTEM, RouteKind.TOKEN) or not route.identifier:
        return
    # bib.marc(): a clear "can't be read" for broken MARC
    edit_record(lambda: client.get_bib(iz_mms_id), lambda r: client.update_bib(iz_mms_id, r),
                lambda bib: _with_035(bib.marc(), route.identifier))

