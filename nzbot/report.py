"""A link job's report, as catalogers read it: Alma's counters mapped to the guidance's
words (linked, imported, skipped, multi-matched, failed), with anything else shown as
Alma names it.

The link job's counter keys are not documented by Ex Libris: this table is the one place
to correct them when a real report shows otherwise.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from nzbot.store import LinkJob

log = logging.getLogger(__name__)

# Alma counter key -> our kind. Unknown keys are reported under Alma's own description.
# These keys are our guess (no public report of a real link-job run shows them): when none
# matches, the report shows Alma's counters as they come, and the keys are logged once at
# INFO ("link job counters from Alma: ...") so this table can be corrected from the log.
COUNTER_KINDS = {
    "link_bib_to_nz.linked": "linked",
    "link_bib_to_nz.imported": "imported",
    "link_bib_to_nz.skipped": "skipped",
    "link_bib_to_nz.multi_match": "multi_matched",
    "link_bib_to_nz.failed": "failed",
}
KIND_LABELS = {
    "linked": "Linked",
    "imported": "Imported as new NZ records",
    "skipped": "Skipped (no match)",
    "multi_matched": "Multi-matches",
    "failed": "Failed",
}

SUCCESS_STATUSES = frozenset({"COMPLETED_SUCCESS"})
WARNING_STATUSES = frozenset({"COMPLETED_WARNING", "COMPLETED_NO_BULKS", "SKIPPED"})


def outcome(status: str | None) -> str:
    """success, warning or failure: how a finished job's Alma status should look."""
    if status in SUCCESS_STATUSES:
        return "success"
    if status in WARNING_STATUSES:
        return "warning"
    return "failure"


@dataclass(frozen=True)
class OtherCounter:
    label: str
    value: int


@dataclass(frozen=True)
class JobReport:
    link_job: LinkJob
    status: str
    # every kind of KIND_LABELS, in that order; empty when none of Alma's keys is known
    # (then other_counters holds them all, as Alma named them)
    counts: dict[str, int]
    other_counters: tuple[OtherCounter, ...]
    alerts: tuple[str, ...]
    duration_seconds: int | None

    @property
    def outcome(self) -> str:
        """success, warning or failure: how the message should look."""
        return outcome(self.status)

    @property
    def labelled_counts(self) -> list[tuple[str, int]]:
        return [(KIND_LABELS[kind], value) for kind, value in self.counts.items()]


_logged_keys: set[tuple[str, ...]] = set()
_logged_lock = threading.Lock()


def job_report(link_job: LinkJob, kinds: Mapping[str, str] = COUNTER_KINDS) -> JobReport:
    """`kinds`: Alma's counter key -> our kind; at run time COUNTER_KINDS with the keys
    `nzbot probe` learned (nzbot/facts.py counter_kinds)."""
    known = any(c.key in kinds for c in link_job.counters)
    counts = {kind: 0 for kind in KIND_LABELS} if known else {}
    others = []
    for counter in link_job.counters:
        kind = kinds.get(counter.key)
        if kind:
            counts[kind] += counter.value
        else:
            others.append(OtherCounter(label=counter.desc or counter.key, value=counter.value))
    if link_job.counters and not known:
        _log_unknown_keys(link_job)
    return JobReport(
        link_job=link_job,
        status=link_job.status or "UNKNOWN",
        counts=counts,
        other_counters=tuple(others),
        alerts=link_job.alerts,
        duration_seconds=_seconds_between(link_job.started_at, link_job.finished_at),
    )


def _log_unknown_keys(link_job: LinkJob) -> None:
    """Once per set of keys (per process): what a real run reported, to correct COUNTER_KINDS."""
    keys = tuple(c.key for c in link_job.counters)
    with _logged_lock:
        if keys in _logged_keys:
            return
        _logged_keys.add(keys)
    log.info("link job counters from Alma (none is in nzbot/report.py COUNTER_KINDS): job %s "
             "instance %s: %s", link_job.job_id, link_job.instance_id,
             "; ".join(f"{c.key} = {c.desc!r}" for c in link_job.counters))


def _seconds_between(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    try:
        a = datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0, int((b - a).total_seconds()))
