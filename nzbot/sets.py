"""Sets from Slack: a cataloger's pasted MMS IDs become an itemized Alma set to preview and
link, and the sets they may choose instead. Slack-free: bot/listeners/views/link_sets.py
calls this.

Pasted ids are checked in two steps: their form here, with no Alma call (text that is
not an MMS ID, an empty paste, repeats dropped), then against the member's IZ with the
batched read (`not_in_iz`: one call per 100 ids, so a 3,000-character paste costs at
most five).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from alma.client import BIBS_PER_CALL, AlmaClient, check_mms_id
from alma.errors import BadInput, SetNameTaken
from alma.models import AlmaSet
from nzbot.access import Scope
from nzbot.store import Store

PASTE_LIMIT = 3000  # characters: Slack's cap on a plain_text_input
MAX_NOT_MMS_SHOWN = 5  # lines named in the error about text that is not an MMS ID
RECENT_FROM_JOBS = 20  # sets of this member's link jobs offered in the modal
NAME_TRIES = 3  # a set name taken meanwhile (two submissions at once): the next number


@dataclass(frozen=True)
class Paste:
    """Pasted text read line by line: the MMS IDs in order, each once; how many repeats
    were dropped; the lines that are not MMS IDs."""

    ids: tuple[str, ...]
    repeats: int
    not_mms_ids: tuple[str, ...]


@dataclass(frozen=True)
class SetChoice:
    """A set the modal offers: its id and what the cataloger reads."""

    id: str
    label: str


def read_paste(text: str) -> Paste:
    """One MMS ID a line; blank lines and spaces around an id are ignored."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    ids: list[str] = []
    bad: list[str] = []
    for line in lines:
        try:
            ids.append(check_mms_id(line))
        except BadInput:
            bad.append(line)
    unique = tuple(dict.fromkeys(ids))
    return Paste(ids=unique, repeats=len(ids) - len(unique), not_mms_ids=tuple(bad))


def not_in_iz(client: AlmaClient, mms_ids: tuple[str, ...]) -> list[str]:
    """The ids that are no bib record of this IZ, in the order given: read brief, 100 a call."""
    found: set[str] = set()
    for start in range(0, len(mms_ids), BIBS_PER_CALL):
        found.update(b.mms_id for b in client.get_bibs(mms_ids[start:start + BIBS_PER_CALL], brief=True))
    return [i for i in mms_ids if i not in found]


def set_name(user: str, day: date, number: int) -> str:
    """`nzbot <user> <date> <n>`: n numbers the sets a cataloger makes from Slack in a day
    (1, 2, ...), so two pastes of the same size never meet Alma's "name exists"."""
    return f"nzbot {user} {day.isoformat()} {number}"


def make_pasted_set(client: AlmaClient, user: str, mms_ids: tuple[str, ...], day: date) -> AlmaSet:
    """An itemized set of exactly these records, named for who made it and when. Its number
    is the next after the day's sets of this cataloger that Alma lists (one search); a name
    taken meanwhile takes the next number."""
    prefix = set_name(user, day, 0)[:-1]
    taken = [s.name[len(prefix):] for s in client.find_sets(prefix) if s.name.startswith(prefix)]
    number = 1 + max((int(n) for n in taken if n.isdigit()), default=0)
    for attempt in range(NAME_TRIES - 1):
        try:
            return client.create_set(set_name(user, day, number + attempt), mms_ids,
                                     description=f"MMS IDs pasted in Slack by {user}")
        except SetNameTaken:
            continue
    return client.create_set(set_name(user, day, number + NAME_TRIES - 1), mms_ids,
                             description=f"MMS IDs pasted in Slack by {user}")


def sets_of_link_jobs(store: Store, scope: Scope) -> list[SetChoice]:
    """The sets of this member's recent link jobs asked for in Slack (not the runs nzbot
    makes from decisions), newest first, each once. No Alma call."""
    choices: dict[str, SetChoice] = {}
    for job in store.recent_link_jobs(RECENT_FROM_JOBS * 3, scope=scope):
        if job.channel and job.set_id not in choices:
            choices[job.set_id] = SetChoice(job.set_id, f"{job.set_name} ({job.set_size:,} records)")
    return list(choices.values())[:RECENT_FROM_JOBS]


def sets_in_alma(client: AlmaClient, limit: int) -> list[SetChoice]:
    """The member's bib sets as Alma lists them: one call, at most `limit`."""
    return [SetChoice(s.id, f"{s.name} ({s.number_of_members:,} records)") for s in client.bib_sets_page(limit)]
