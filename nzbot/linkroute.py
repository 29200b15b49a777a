"""How a Program Manager's choice becomes a link in Alma: decided here, in one place.

Alma's API has no operation that links an existing IZ record to a chosen NZ record
(DOMAIN.md). The link job does link, and it can match on a prefixed 035 value (the
"other system number" profile) instead of the OCLC number. So each decision takes one
of these routes:

- other_system: the chosen NZ record carries a prefixed 035 $a value that no other NZ
  record carries (checked in the NZ by SRU). The IZ record gets that same 035, and the
  link job runs with the other-system-number profile and that prefix: its only possible
  match is the chosen record.
- unique: a re-check found exactly one NZ record: the ordinary Unique OCLC link job.
- contribute: "none of these": the link job with contribution on, matching on a prefix
  the record does not carry, so it finds no match and imports the record as a new NZ
  record. (Seen to work in the simulator; unconfirmed on a real Alma, whose link job
  might skip rather than import a record with no value under the prefix.)
- manual: no route above exists: a person links it in the Metadata Editor (Method 2 of
  the guidance) with both MMS IDs in hand, and nzbot watches the record for the link.

Every route ends the same way: the IZ record is read back and its linked_record_id must be
the chosen NZ record before anyone is told it is linked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pymarc import Field, Subfield

from alma.client import AlmaClient

OTHER_SYSTEM = "other_system"
UNIQUE = "unique"
CONTRIBUTE = "contribute"
MANUAL = "manual"
# The prefix of the contribute route: no record carries it, so nothing can match.
NO_MATCH_PREFIX = "(NZBOT-NO-MATCH)"
# 035 values that cannot single out a record: OCLC numbers (shared by the duplicates,
# which is the whole problem) and the network's own copies of MMS IDs.
_PREFIXED = re.compile(r"^(\([^()\s]+\))\S+$")
_NOT_IDENTIFYING = ("(OCoLC", "(EXLNZ-")


@dataclass(frozen=True)
class Route:
    kind: str
    prefix: str = ""  # the 035 prefix the link job matches on
    identifier: str = ""  # the 035 $a value the IZ record is given (other_system)

    def encode(self) -> str:
        return "|".join((self.kind, self.prefix, self.identifier))

    @classmethod
    def decode(cls, text: str | None) -> "Route | None":
        if not text:
            return None
        kind, prefix, identifier = (text.split("|", 2) + ["", ""])[:3]
        return cls(kind, prefix, identifier)

    @property
    def by_link_job(self) -> bool:
        return self.kind != MANUAL


def route_to(client: AlmaClient, chosen_nz_mms_id: str) -> Route:
    """The other-system route when the chosen NZ record has a 035 only it carries, else manual."""
    for value in identifying_values(client, chosen_nz_mms_id):
        carriers = {_mms_id(r) for r in client.sru_search(f'alma.other_system_number="{value}"')}
        if carriers == {chosen_nz_mms_id}:
            return Route(OTHER_SYSTEM, prefix=_PREFIXED.match(value).group(1), identifier=value)
    return Route(MANUAL)


def identifying_values(client: AlmaClient, nz_mms_id: str) -> list[str]:
    """The chosen NZ record's prefixed 035 $a values that might single it out."""
    values: list[str] = []
    for record in client.sru_search(f"alma.mms_id={nz_mms_id}"):
        if _mms_id(record) != nz_mms_id:
            continue
        for field in record.get_fields("035"):
            for value in field.get_subfields("a"):
                value = value.strip()
                if _PREFIXED.match(value) and not value.startswith(_NOT_IDENTIFYING):
                    values.append(value)
    return list(dict.fromkeys(values))


def give_identifier(client: AlmaClient, iz_mms_id: str, route: Route) -> None:
    """Adds the route's 035 to the IZ record, once (safe to repeat after a crash)."""
    if route.kind != OTHER_SYSTEM:
        return
    bib = client.get_bib(iz_mms_id)
    record = bib.marc()  # a clear "can't be read" for broken MARC
    present = {v.strip() for f in record.get_fields("035") for v in f.get_subfields("a")}
    if route.identifier in present:
        return
    record.add_ordered_field(Field(tag="035", indicators=[" ", " "],
                                   subfields=[Subfield("a", route.identifier)]))
    client.update_bib(iz_mms_id, record)


def _mms_id(record) -> str:
    field = record.get("001")
    return field.data.strip() if field is not None and field.data else ""
