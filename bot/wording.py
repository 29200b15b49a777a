"""What nzbot's Slack messages call things, in catalogers' words: the commands, the
verdicts' order and marks, Alma's job statuses, the outcome marks. The words of each
verdict are nzbot/text.py's; of each state of a job or a case, nzbot/states.py's."""

from __future__ import annotations

from collections.abc import Mapping

from alma.matching import Verdict
from alma.suggestion import Rule

SLASH_COMMAND = "/nz"

# Every subcommand: (usage, what it does). The help and the usage messages read this.
COMMANDS: tuple[tuple[str, str], ...] = (
    (
        f"{SLASH_COMMAND} match <IZ MMS ID or OCLC number>",
        "Which NZ records an IZ record (or an OCLC number) would link to with the "
        "Unique OCLC method, before anything changes.",
    ),
    (
        f"{SLASH_COMMAND} preview <set ID or name>",
        "What the link job would do to each record of a set: link it, skip it, or find "
        "a multi-match. Changes nothing in Alma.",
    ),
    (
        f"{SLASH_COMMAND} link <set ID or name> [contribute]",
        "Run \u201cLink a set of records to the Network Zone\u201d on a set. Add `contribute` "
        "to add records with no NZ match to the NZ as new records.",
    ),
    (
        f"{SLASH_COMMAND} link",
        "With no set: a form to choose a recent set, or paste MMS IDs (one a line) that I make "
        "into a set, previewed first unless you untick it, then \u201cLink these records\u201d.",
    ),
    (f"{SLASH_COMMAND} jobs", "Running and recent link jobs."),
    (
        f"{SLASH_COMMAND} cases [page | csv]",
        "Open multi-match cases waiting for the Program Manager, 40 a page (`/nz cases 2`: "
        "the next 40); with `csv`, every decision and the NZ duplicates it revealed.",
    ),
    (
        f"{SLASH_COMMAND} history <IZ MMS ID>",
        "The IZ record as it was before nzbot linked it (a pick, or Link to this record), with "
        "who decided: local data that linking replaced, to put back by hand.",
    ),
    (
        f"{SLASH_COMMAND} schedule <set ID or name> daily HH:MM",
        "Run the link job on a set every day at that time (or `weekly DAY HH:MM`, DAY mon to sun), "
        "requested as `/nz link` would; a run whose previous run is still going is skipped.",
    ),
    (f"{SLASH_COMMAND} schedules", "Your institution's schedules: when each runs next, and how its last run went."),
    (f"{SLASH_COMMAND} unschedule <N>", "Remove schedule N."),
    (
        f"{SLASH_COMMAND} stats [weeks]",
        "Your figures week by week (4 weeks, up to 26): link-job runs, records linked, imported, "
        "skipped and multi-matched, cases opened, decided and waiting; the Program Manager's "
        "shows every member side by side.",
    ),
    (f"{SLASH_COMMAND} help", "This list."),
)

# Verdicts' emoji; their order (VERDICT_ORDER) and words are nzbot.text's.
VERDICT_EMOJI = {
    Verdict.LINKED: ":link:",
    Verdict.UNIQUE: ":white_check_mark:",
    Verdict.MULTI: ":twisted_rightwards_arrows:",
    Verdict.NONE: ":heavy_minus_sign:",
    Verdict.NO_OCLC: ":grey_question:",
    Verdict.UNREADABLE: ":warning:",
}

# Alma's job instance statuses in plain words.
STATUS_WORDS = {
    "QUEUED": "waiting in Alma's queue",
    "PENDING": "waiting in Alma's queue",
    "INITIALIZING": "starting",
    "RUNNING": "running",
    "FINALIZING": "finishing",
    "COMPLETED_SUCCESS": "completed",
    "COMPLETED_WARNING": "completed with warnings",
    "COMPLETED_FAILED": "completed with errors",
    "COMPLETED_NO_BULKS": "completed, with nothing to do (is the set empty?)",
    "FAILED": "failed",
    "MANUAL_HANDLING_REQUIRED": "needs manual handling in Alma",
    "SKIPPED": "skipped by Alma",
    "SYSTEM_ABORTED": "stopped by Alma",
    "USER_ABORTED": "cancelled in Alma",
}
OUTCOME_EMOJI = {"success": ":white_check_mark:", "warning": ":warning:", "failure": ":x:"}

# The mark next to what differs between candidates.
DIFFERS_MARK = ":small_orange_diamond:"


def counted_by_rule(counts: Mapping[Rule, int]) -> str:
    """Suggested picks by the rule that made them, in the rules' order: "3 by same kind of
    resource, 2 by OCLC's surviving record"."""
    return ", ".join(f"{counts[rule]:,} by {rule.words}" for rule in Rule if counts.get(rule))
