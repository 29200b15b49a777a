"""Where nzbot's work stands, as types: the states of a link job, of a case and of a link
token, the Program Manager's decisions and the kinds of route a decision takes, each a
`StrEnum`, and the route itself (`Route`, with its one codec).

Each state machine has ONE table of the moves it allows (`*_MOVES`); the store's
compare-and-set refuses any other move (`check_move`), so a wrong move is a bug found at
once, never a row in a state nothing reads. Each state has its words (what a cataloger
or the Program Manager reads) once, here, in `words`.

The values are the strings the database has always held: no migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Mapping


class JobState(StrEnum):
    """A link job, from a cataloger's request to the report in the channel
    (nzbot/linkjobs.py)."""

    QUEUED = "queued"
    STARTING = "starting"  # asked Alma to run it; the answer not recorded yet
    RUNNING = "running"
    FINISHED = "finished"
    REPORTING = "reporting"  # the report is claimed: being posted
    REPORTED = "reported"
    REFUSED = "refused"  # Alma will never run it

    @property
    def words(self) -> str:
        return JOB_WORDS[self]


class CaseState(StrEnum):
    """A multi-match case, from the job that revealed it to a verified link
    (nzbot/cases.py)."""

    OPEN = "open"
    DECIDING = "deciding"  # decided; not routed yet
    LINKING = "linking"  # routed: a link job, a token, a merge or a hand-off under way
    LINKED = "linked"  # verified in Alma
    FAILED = "failed"  # not linked as chosen: decide again
    SKIPPED = "skipped"

    @property
    def words(self) -> str:
        return CASE_WORDS[self]


class TokenState(StrEnum):
    """The token route's temporary 035 on an NZ and an IZ record (nzbot/linkroute.py): one
    step a state, so a restart finishes it and no token stays behind."""

    PLACING = "placing"  # recorded, maybe on the NZ record
    ON_NZ = "on_nz"
    ON_IZ = "on_iz"
    REMOVING = "removing"
    REMOVED = "removed"  # checked gone

    @property
    def words(self) -> str:
        return TOKEN_WORDS[self]


class RunState(StrEnum):
    """A schedule's run at one due time (nzbot/schedules.py): recorded before anything is
    asked of Alma, so that a crash or a restart never runs it twice nor loses it."""

    DUE = "due"  # recorded for this due time; not requested yet
    WAITING = "waiting"  # Alma's quota is spent: tried again each round
    REQUESTED = "requested"  # its link job was requested, as /nz link requests one
    SKIPPED = "skipped"  # the previous run still going, missed beyond the grace, or the set unusable

    @property
    def words(self) -> str:
        return RUN_WORDS[self]


class Decision(StrEnum):
    """What the Program Manager asked for a case."""

    LINK = "link"
    MERGE = "merge"  # the candidates are duplicates: merged in the NZ, then linked
    CONTRIBUTE = "contribute"  # none of these: a new NZ record
    RECHECK = "recheck"
    SKIP = "skip"


class Decider(StrEnum):
    """Who decided a case: the Program Manager from the queue, or a cataloger linking their
    own record from /nz match (the guidance's Method 2)."""

    PROGRAM_MANAGER = "program manager"
    CATALOGER = "cataloger"


class PmNotice(StrEnum):
    """An outcome after a decision that the Program Manager is told of, once each, in the
    thread of the queue message (bot/case_notifier.py tell_pm)."""

    FAILED = "failed"  # the link failed: back in the queue, to decide again
    TOKEN_STUCK = "token_stuck"  # Alma would not take the temporary 035 off an NZ record
    HANDED_OFF = "handed_off"  # the steps went to a cataloger


class RouteKind(StrEnum):
    """How a decision becomes a link in Alma (nzbot/linkroute.py says each)."""

    OTHER_SYSTEM = "other_system"
    UNIQUE = "unique"
    CONTRIBUTE = "contribute"
    MANUAL = "manual"
    TOKEN = "token"
    MERGE = "merge"


@dataclass(frozen=True)
class Route:
    """The route a decision takes: what the link job matches on. Stored in the case's row
    as "kind|prefix|identifier": `encode` and `decode` are the one codec, and the store
    (nzbot/store.py) the one place that calls them."""

    kind: RouteKind
    prefix: str = ""  # the 035 prefix the link job matches on
    identifier: str = ""  # the 035 $a value the IZ record is given (other_system, token)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", RouteKind(self.kind))

    def encode(self) -> str:
        return "|".join((self.kind, self.prefix, self.identifier))

    @classmethod
    def decode(cls, text: str | None) -> "Route | None":
        if not text:
            return None
        kind, prefix, identifier = (text.split("|", 2) + ["", ""])[:3]
        return cls(RouteKind(kind), prefix, identifier)

    @property
    def by_link_job(self) -> bool:
        return self.kind not in (RouteKind.MANUAL, RouteKind.MERGE)  # a merge waits for a person, then turns unique


# --- the moves each state allows (a move to the same state, a guarded update, always is) --

JOB_MOVES: Mapping[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.STARTING}),
    # started, refused, or back in the queue (Alma at its limits, or unsure it started)
    JobState.STARTING: frozenset({JobState.RUNNING, JobState.REFUSED, JobState.QUEUED}),
    JobState.RUNNING: frozenset({JobState.FINISHED}),
    JobState.FINISHED: frozenset({JobState.REPORTING}),
    JobState.REPORTING: frozenset({JobState.REPORTED}),
    JobState.REPORTED: frozenset(),
    JobState.REFUSED: frozenset(),
}

CASE_MOVES: Mapping[CaseState, frozenset[CaseState]] = {
    CaseState.OPEN: frozenset({CaseState.DECIDING, CaseState.SKIPPED}),
    CaseState.FAILED: frozenset({CaseState.DECIDING, CaseState.SKIPPED}),
    # routed; linked or back to open by a re-check; failed when it cannot be routed
    CaseState.DECIDING: frozenset({CaseState.LINKING, CaseState.LINKED, CaseState.OPEN, CaseState.FAILED}),
    # verified or not; a merge that is not coming: re-check (deciding again)
    CaseState.LINKING: frozenset({CaseState.LINKED, CaseState.FAILED, CaseState.DECIDING}),
    CaseState.LINKED: frozenset(),
    CaseState.SKIPPED: frozenset(),
}

TOKEN_MOVES: Mapping[TokenState, frozenset[TokenState]] = {
    TokenState.PLACING: frozenset({TokenState.ON_NZ, TokenState.REMOVING}),
    TokenState.ON_NZ: frozenset({TokenState.ON_IZ, TokenState.REMOVING}),
    TokenState.ON_IZ: frozenset({TokenState.REMOVING}),
    TokenState.REMOVING: frozenset({TokenState.REMOVED}),
    TokenState.REMOVED: frozenset(),
}

RUN_MOVES: Mapping[RunState, frozenset[RunState]] = {
    RunState.DUE: frozenset({RunState.WAITING, RunState.REQUESTED, RunState.SKIPPED}),
    RunState.WAITING: frozenset({RunState.REQUESTED, RunState.SKIPPED}),
    RunState.REQUESTED: frozenset(),
    RunState.SKIPPED: frozenset(),
}

# --- groups the workflow asks about ---------------------------------------------------------

JOB_DONE = (JobState.FINISHED, JobState.REPORTING, JobState.REPORTED)  # Alma's run has ended
JOB_ANNOUNCED = (JobState.QUEUED, JobState.STARTING, JobState.RUNNING, JobState.FINISHED,
                 JobState.REPORTING)  # states whose start message must exist
DECIDABLE = (CaseState.OPEN, CaseState.FAILED)  # the case's buttons are live
UNSETTLED = (CaseState.OPEN, CaseState.FAILED, CaseState.DECIDING, CaseState.LINKING)
SETTLED = (CaseState.LINKED, CaseState.SKIPPED)  # a record has at most one case not in these
RUN_PENDING = (RunState.DUE, RunState.WAITING)  # a schedule's run not settled yet
JOB_GOING = (JobState.QUEUED, JobState.STARTING, JobState.RUNNING)  # Alma's run not over yet
TOKEN_PENDING = (TokenState.PLACING, TokenState.ON_NZ, TokenState.ON_IZ, TokenState.REMOVING)

# --- the words people read --------------------------------------------------------------

JOB_WORDS: Mapping[JobState, str] = {
    JobState.QUEUED: "waiting to start",
    JobState.STARTING: "starting in Alma",
    JobState.RUNNING: "running in Alma",
    JobState.FINISHED: "done",
    JobState.REPORTING: "done",
    JobState.REPORTED: "done",
    JobState.REFUSED: "refused by Alma",
}

CASE_WORDS: Mapping[CaseState, str] = {
    CaseState.OPEN: "waiting for a decision",
    CaseState.FAILED: "link failed, waiting for a new decision",
    CaseState.DECIDING: "decided, linking in Alma",
    CaseState.LINKING: "decided, linking in Alma",
    CaseState.LINKED: "linked",
    CaseState.SKIPPED: "skipped for now",
}

# After a number, in a count of a queue's cases ("3 to decide"), in the order they are counted.
CASE_COUNTED: Mapping[CaseState, str] = {
    CaseState.OPEN: "to decide",
    CaseState.FAILED: "failed, to decide again",
    CaseState.DECIDING: "decided",
    CaseState.LINKING: "being linked",
    CaseState.LINKED: "linked",
    CaseState.SKIPPED: "skipped",
}

# Where a decided case stands when its route, not its state, says what happens next: a
# person's step (the hand-off, the merge).
ROUTE_WORDS: Mapping[RouteKind, str] = {
    RouteKind.MANUAL: "handed off to the Metadata Editor",
    RouteKind.MERGE: "waiting for the NZ duplicates to be merged",
}
# A hand-off, when the words name whom it went to (the bot fills in a mention, or "the
# report channel" when nobody in Slack sent the case): the review message's line on it.
HANDED_TO_WORDS = "handed to {whom} with the Metadata Editor steps"

TOKEN_WORDS: Mapping[TokenState, str] = {
    TokenState.PLACING: "being put on the NZ record",
    TokenState.ON_NZ: "on the NZ record",
    TokenState.ON_IZ: "on the NZ and the IZ record",
    TokenState.REMOVING: "being taken off",
    TokenState.REMOVED: "taken off (checked)",
}

RUN_WORDS: Mapping[RunState, str] = {
    RunState.DUE: "due now",
    RunState.WAITING: "waiting for Alma",
    RunState.REQUESTED: "requested",
    RunState.SKIPPED: "skipped",
}

# The state type and move table of each table holding states.
MACHINES: Mapping[str, tuple[type[StrEnum], Mapping]] = {
    "link_jobs": (JobState, JOB_MOVES),
    "cases": (CaseState, CASE_MOVES),
    "link_tokens": (TokenState, TOKEN_MOVES),
    "schedule_runs": (RunState, RUN_MOVES),
}


class BadMove(ValueError):
    """A move the table does not allow: a bug in the workflow, refused before it is made."""


def check_move(table: str, from_states: tuple[str, ...], to_state: str) -> None:
    """Refuses a state or a move `table`'s machine does not know."""
    kind, moves = MACHINES[table]
    try:
        to = kind(to_state)
        sources = [kind(s) for s in from_states]
    except ValueError as exc:
        raise BadMove(f"{table}: {exc}") from None
    for source in sources:
        if source != to and to not in moves[source]:
            raise BadMove(f"{table}: no move from {source} to {to}")
