"""The Program Manager's queue, Slack-free: its rules and its data. bot/case_notifier.py
renders what this says and posts it.

One message per job (and per Program Manager) in which the job's cases are decided one at
a time: the next case to decide takes the place of the one just decided, and the message
keeps a line on that one while it moves on (its route, linked, failed). A case that still
needs the Program Manager's hand after the decision (a merge in the NZ) stays. A case sent
from a lookup has a message of its own. The Home tab shows the queue by job, and what needs
the Program Manager's attention. The tables: queue_messages (which job a message reviews),
case_messages (which case a message shows), queue_decided (the line it keeps).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from alma.suggestion import Rule
from nzbot.access import EVERY_MEMBER
from nzbot.states import DECIDABLE, UNSETTLED, CaseState, Decision
from nzbot.store import Case, LinkJob, LinkToken, Store

OUTCOME_INTENT = "case_outcome:"  # post_intents: case_outcome:<case>:<state>:<decided_at>
ATTENTION_SHOWN = 5  # failed cases named on the Home tab (the count says how many in all)


def waits_on_pm(case: Case) -> bool:
    """A decided case that still needs the Program Manager's hand (the merge route: the
    merge in the NZ is theirs to make) stays in the queue message, with its steps."""
    return case.decision == Decision.MERGE and case.state in (CaseState.DECIDING, CaseState.LINKING)


def outcome_intent(case: Case) -> str:
    """One outcome reply per settlement: a case failed, decided again and linked has two
    (a note added later, the token taken off, is the same settlement)."""
    return f"{OUTCOME_INTENT}{case.id}:{case.state}:{case.decided_at or ''}"


class Showing(StrEnum):
    """What a message showing a case does when the case changes."""

    NEXT_CASE = "next case"  # a queue message whose case was decided: the next takes its place
    SAME_CASE = "same case"  # a queue message still showing it: shown again, as it now is
    OWN = "own"  # the case's own message (sent from a lookup, or a notice's reply)


@dataclass(frozen=True)
class Shown:
    channel: str
    ts: str
    showing: Showing
    link_job: int | None  # the job a queue message reviews (None: every job's cases)


@dataclass(frozen=True)
class QueueView:
    """What one queue message shows: its job (None: every job's cases), the counts, the
    case to decide (None: none left), and its line on the case decided in it."""

    channel: str
    ts: str
    job: LinkJob | None
    counts: dict[str, int]
    case: Case | None
    decided: Case | None


@dataclass(frozen=True)
class HomeView:
    rows: list[tuple[LinkJob | None, dict[str, int]]]
    failed: list[Case]
    failed_total: int
    stuck: list[LinkToken]


class PmQueue:
    """The queue over every member's cases (there is one Program Manager's queue)."""

    def __init__(self, store: Store) -> None:
        self.store = store.whole()

    # -- a case changed: where it is shown, and what each of those messages does ----------

    def showing(self, case: Case) -> list[Shown]:
        found = []
        for channel, ts in self.store.case_messages(case.id):
            is_queue, link_job = self.store.queue_message(channel, ts)
            if not is_queue:
                showing = Showing.OWN
            elif case.state not in DECIDABLE and not waits_on_pm(case):
                showing = Showing.NEXT_CASE
            else:
                showing = Showing.SAME_CASE
            found.append(Shown(channel, ts, showing, link_job))
        return found

    def decided_lines(self, case: Case, shown: list[Shown]) -> list[tuple[str, str]]:
        """The queue messages, other than those showing it, whose line is on this case."""
        if case.state in DECIDABLE:
            return []
        own = self.store.queue_messages_of(case.link_job) if case.link_job is not None else []
        here = {(s.channel, s.ts) for s in shown}
        return [(channel, ts) for channel, ts in [*own, *self.store.queue_messages_of(None)]
                if (channel, ts) not in here and self.store.decided_in(channel, ts) == case.id]

    def back_to_decide(self, case: Case, shown: list[Shown]) -> bool:
        """A job's case to decide again (failed, re-checked) that no message shows: the job's
        queue messages offer "Review cases" again."""
        return case.link_job is not None and case.state in DECIDABLE and not shown

    def idle_messages(self, link_job: int) -> list[tuple[str, str]]:
        """The job's queue messages that show no case now."""
        return [(channel, ts) for channel, ts in self.store.queue_messages_of(link_job)
                if not self.store.shows_a_case(channel, ts)]

    # -- a queue message moves on -------------------------------------------------------

    def next_view(self, channel: str, ts: str, link_job: int | None, decided: Case | None = None) -> QueueView:
        """What the queue message (channel, ts) shows next: the oldest case still to decide,
        with its line on `decided`, the case just decided in it (recorded now: kept up to
        date as that case moves on). `shown` records it once the message says so."""
        self.store.keep_decided_in(channel, ts, decided.id if decided is not None else None)
        job = self.store.link_job(link_job) if link_job is not None else None
        return QueueView(channel, ts, job, self.counts(link_job), self.store.next_case_to_review(link_job), decided)

    def shown(self, view: QueueView) -> None:
        """The message now shows `view.case` (or no case)."""
        if view.case is None:
            self.store.clear_message(view.channel, view.ts)
        else:
            self.store.show_case_in(view.case.id, view.channel, view.ts)

    def view_with_line(self, channel: str, ts: str, decided: Case) -> QueueView:
        """The queue message as it is, its line on `decided` brought up to date."""
        _, link_job = self.store.queue_message(channel, ts)
        current = self.store.case_shown_in(channel, ts)
        job = self.store.link_job(link_job) if link_job is not None else None
        return QueueView(channel, ts, job, self.counts(link_job),
                         self.store.case(current) if current is not None else None, decided)

    def counts(self, link_job: int | None) -> dict[str, int]:
        return self.store.case_counts(link_job, scope=EVERY_MEMBER)

    def suggestions(self, link_job: int | None) -> dict[Rule, int]:
        """The job's cases left to decide that have a suggested pick, by rule."""
        return self.store.suggestion_counts(link_job, scope=EVERY_MEMBER)

    def notice_threads(self, case: Case) -> list[tuple[str, str]]:
        """Where the Program Manager is told of an outcome after the decision: the thread of
        the job's queue messages; else of the latest "Review next" message; else of the
        case's own message (sent from a lookup)."""
        own = self.store.queue_messages_of(case.link_job) if case.link_job is not None else []
        return own or self.store.queue_messages_of(None)[-1:] or list(self.store.case_messages(case.id))

    # -- the Home tab, and outcomes Slack did not take --------------------------------------

    def home(self) -> HomeView:
        rows = [(self.store.link_job(job) if job is not None else None, counts)
                for job, counts in self.store.queue_by_job(UNSETTLED, scope=EVERY_MEMBER)]
        failed, failed_total = self.store.newest_unsettled((CaseState.FAILED,), ATTENTION_SHOWN, scope=EVERY_MEMBER)
        return HomeView(rows, failed, failed_total, self.store.stuck_link_tokens(scope=EVERY_MEMBER))

    def outcomes_to_send_again(self, institution: str, before: datetime) -> list[Case]:
        """Member `institution`'s case outcomes whose reply, begun before `before`, did not
        get through; one whose case has moved on since is dropped (its new outcome has its own)."""
        again = []
        for intent in self.store.unposted(OUTCOME_INTENT, before=before):
            case = self.store.case_or_none(intent.case_id) if intent.case_id is not None else None
            if case is None or outcome_intent(case) != intent.key:
                self.store.drop_post(intent.key)
            elif case.institution == institution:  # another member's: its own notifier sends it
                again.append(case)
        return again
