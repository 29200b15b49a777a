"""nzbot's state in SQLite: link jobs and their queue, cases, Slack requests already
handled, and the audit log. WAL mode, one connection per thread, migrations by
sqlite-utils (plain SQL past them), and every state change a compare-and-set so that two
threads (or two clicks) can never both win.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import urllib.parse
import sqlite3
import threading
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import sqlite_utils
from sqlite_utils import Migrations
from sqlite_utils.db import NotFoundError

from alma.cards import RecordCard
from alma.models import Counter
from alma.suggestion import DEFAULT_RULES, Rule, recommend
from nzbot.access import Scope
from nzbot.states import (DECIDABLE, JOB_GOING, SETTLED, CaseState, Decider, Decision, JobState, Route, RunState, TokenState,
                          check_move)

migrations = Migrations("nzbot")


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["link_jobs"].create(
        {
            "id": int,
            "set_id": str,
            "set_name": str,
            "set_size": int,
            "contribute": int,
            "match_prefix": str,  # "" for Unique OCLC; the 035 prefix for case links
            "requested_by": str,  # Slack user id, or "alma" for runs started in Alma's UI
            "channel": str,
            "state": str,  # queued, starting, running, finished, reporting, reported, refused
            "job_id": str,
            "instance_id": str,
            "status": str,  # Alma's status of the instance
            "progress": int,
            "counters": str,  # JSON list of [key, desc, value]
            "alerts": str,  # JSON list of strings
            "note": str,  # why it is queued, or why Alma refused it
            "message_ts": str,  # the start message in the report channel
            "report_ts": str,
            "reconciled": int,
            "created_at": str,
            "started_at": str,
            "finished_at": str,
            "reported_at": str,
        },
        pk="id",
        defaults={"state": "queued", "progress": 0, "reconciled": 0, "contribute": 0,
                  "match_prefix": "", "counters": "[]", "alerts": "[]"},
    )
    db["link_jobs"].create_index(["state"])
    db["link_jobs"].create_index(["job_id", "instance_id"], unique=True)
    db["handled_requests"].create({"key": str, "received_at": str}, pk="key")
    db["bot_state"].create({"key": str, "value": str}, pk="key")
    db["cases"].create(
        {
            "id": int,
            "iz_mms_id": str,
            "iz_title": str,
            "link_job": int,  # the link_jobs row whose run revealed it (None from /nz match)
            "state": str,  # open, deciding, linking, linked, failed, skipped
            "candidates": str,  # JSON list of candidate cards
            "chosen_nz_mms_id": str,
            "decided_by": str,
            "note": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        defaults={"state": "open"},
    )
    db["cases"].create_index(["iz_mms_id"])
    db["cases"].create_index(["state"])
    db["audit"].create(
        {"id": int, "at": str, "actor": str, "action": str, "subject": str,
         "outcome": str, "detail": str},
        pk="id",
    )


@migrations()
def m002_case_decisions(db: sqlite_utils.Database) -> None:
    cases = db["cases"]
    cases.add_column("iz_card", str)  # JSON card of the IZ record
    cases.add_column("decision", str)  # link, contribute, recheck (what the decider asked)
    cases.add_column("route", str)  # how the link is made: see nzbot/linkroute.py
    cases.add_column("linking_job", int)  # the link_jobs row that carries out the decision
    cases.add_column("decided_at", str)
    db["case_messages"].create(
        {"id": int, "case_id": int, "channel": str, "ts": str}, pk="id",
    )
    db["case_messages"].create_index(["case_id", "channel"], unique=True)


@migrations()
def m003_link_routes(db: sqlite_utils.Database) -> None:
    cases = db["cases"]
    cases.add_column("requested_by", str)  # who sent the case from a lookup (Slack user id)
    cases.add_column("handed_to", str)  # the cataloger a hand-off went to ("" when nobody in Slack)
    cases.add_column("handoff_ts", str)  # the hand-off message, once posted
    cases.add_column("merged", str)  # JSON list of the NZ duplicates seen merged into the chosen record
    # The token route's temporary 035 on an NZ record and an IZ record: one row per
    # attempt, each step a state, so that a restart finishes it and no token stays behind.
    db["link_tokens"].create(
        {"id": int, "case_id": int, "token": str, "nz_mms_id": str, "iz_mms_id": str,
         "state": str,  # placing, on_nz, on_iz, removing, removed
         "note": str, "created_at": str, "updated_at": str},
        pk="id", defaults={"state": "placing"},
    )
    db["link_tokens"].create_index(["case_id"])
    db["link_tokens"].create_index(["token"], unique=True)


@migrations()
def m004_pm_queue(db: sqlite_utils.Database) -> None:
    # The Program Manager's queue: one message per job (and per Program Manager) in which
    # its cases are reviewed one at a time; link_job NULL for "Review next" from the Home tab.
    db["queue_messages"].create({"channel": str, "ts": str, "link_job": int}, pk=("channel", "ts"))
    db["queue_messages"].create_index(["link_job", "channel"])
    db["cases"].create_index(["link_job", "state"])


@migrations()
def m005_permalinks(db: sqlite_utils.Database) -> None:
    # Kept when a message is posted, so that /nz cases needs no chat.getPermalink per line.
    db["case_messages"].add_column("permalink", str)
    db["queue_messages"].add_column("permalink", str)


# The tables whose rows each belong to one member institution (consortium mode).
MEMBER_TABLES = ("link_jobs", "cases", "link_tokens", "audit", "schedules")


@migrations()
def m_institutions(db: sqlite_utils.Database) -> None:
    # Consortium mode: each row belongs to one member institution (its code). Rows of a
    # single-institution database belong to the implicit one, code "".
    for table in ("link_jobs", "cases", "link_tokens", "audit"):  # the member tables of the time
        db[table].add_column("institution", str, not_null_default="")
        db[table].create_index(["institution"])
    # Job and run ids are each IZ's own: two members may both have run 123 of job M85.
    db.execute("DROP INDEX IF EXISTS idx_link_jobs_job_id_instance_id")
    db["link_jobs"].create_index(["institution", "job_id", "instance_id"], unique=True)


@migrations()
def m_institution_state(db: sqlite_utils.Database) -> None:
    # A member's reads filter on its institution and, mostly, a state ("its deciding cases").
    # With an index on institution alone SQLite walks all of the member's rows for them
    # (110,000 cases: 12 ms a query, ~85 ms of CPU a round when idle); one index on both
    # answers in 0.05 ms, and still serves reads on the institution alone.
    for table in ("link_jobs", "cases", "link_tokens"):
        db.execute(f"DROP INDEX IF EXISTS idx_{table}_institution")
        db[table].create_index(["institution", "state"])


@migrations()
def m_token_stuck(db: sqlite_utils.Database) -> None:
    # Alma's refusal to take a token off its NZ record, while it stays there (the Program
    # Manager's Home tab lists these): kept as data, not found by searching the case's note.
    db["link_tokens"].add_column("stuck", str)
    db.execute("UPDATE link_tokens SET stuck = (SELECT c.note FROM cases c WHERE c.id = link_tokens.case_id)"
               " WHERE state = 'removing' AND EXISTS (SELECT 1 FROM cases c WHERE c.id = link_tokens.case_id"
               " AND instr(c.note, 'The temporary 035 ' || link_tokens.token || ' is still on') > 0)")


@migrations()
def m_state_tables(db: sqlite_utils.Database) -> None:
    """The families of keys the bot_state table held become tables with typed columns; the
    old keys are read (and parsed) here, once, and the table goes."""
    db["post_intents"].create({"key": str, "case_id": int, "begun_at": str, "posted_ts": str}, pk="key")
    db["rechecks"].create({"link_job": int, "position": int, "done": int, "unreadable": str, "tries": int,
                           "failed_at": str}, pk="link_job",
                          defaults={"position": 0, "done": 0, "unreadable": "[]", "tries": 0})
    db["record_changes"].create({"subject": str, "rounds": int}, pk="subject")
    db["dm_channels"].create({"user": str, "channel": str}, pk="user")
    db["alma_watches"].create({"institution": str, "since": str}, pk="institution")
    db["queue_decided"].create({"channel": str, "ts": str, "case_id": int}, pk=("channel", "ts"))
    if "bot_state" not in db.table_names():
        return
    for key, value in db.execute("SELECT key, value FROM bot_state").fetchall():
        family, _, rest = key.partition(":")
        if family in ("posting", "case_outcome", "pm_notice"):
            posted = value.removeprefix("posted:") if value.startswith("posted:") else None
            case_id = rest.split(":")[0] if family == "case_outcome" else None
            db["post_intents"].insert({"key": key, "case_id": int(case_id) if case_id and case_id.isdigit() else None,
                                       "begun_at": None if posted else value, "posted_ts": posted}, replace=True)
        elif family == "recheck" and rest.isdigit():
            db["rechecks"].upsert({"link_job": int(rest), "done": int(value == "done"),
                                   "position": int(value) if value.isdigit() else 0}, pk="link_job")
        elif family == "recheck_unreadable" and rest.isdigit():
            db["rechecks"].upsert({"link_job": int(rest), "unreadable": value}, pk="link_job")
        elif family == "recheck_failures" and rest.isdigit():
            tries, _, at = value.partition(" ")
            db["rechecks"].upsert({"link_job": int(rest), "tries": int(tries or 0), "failed_at": at or None},
                                  pk="link_job")
        elif family == "record_changed":
            db["record_changes"].insert({"subject": rest, "rounds": int(value or 0)}, replace=True)
        elif family == "dm":
            db["dm_channels"].insert({"user": rest, "channel": value}, replace=True)
        elif family == "watching_since":
            db["alma_watches"].insert({"institution": rest, "since": value}, replace=True)
        elif family == "decided_in":
            channel, _, ts = rest.partition(":")
            db["queue_decided"].insert({"channel": channel, "ts": ts, "case_id": int(value)}, replace=True)
    db["bot_state"].drop()


@migrations()
def m_cataloger_decisions(db: sqlite_utils.Database) -> None:
    # A cataloger's own link from /nz match (Method 2): who decided, and where the
    # cataloger's answer is updated as the link is made and read back.
    cases = db["cases"]
    cases.add_column("decider", str)  # nzbot.states.Decider; NULL: the Program Manager
    cases.add_column("answer_url", str)  # the press's response_url (Slack keeps it 30 minutes)
    cases.add_column("answer_channel", str)  # where the press was: an ephemeral there after that


@migrations()
def m_kept_records(db: sqlite_utils.Database) -> None:
    # An IZ record's MARC as it was before nzbot linked it (a pick, a cataloger's press):
    # linking replaces it with the NZ record's content, keeping only local extensions.
    db["kept_records"].create({"id": int, "institution": str, "iz_mms_id": str, "case_id": int,
                               "decided_at": str, "decided_by": str, "kept_at": str, "marc_xml": str}, pk="id",
                              not_null={"institution"}, defaults={"institution": ""})
    db["kept_records"].create_index(["institution", "iz_mms_id"])
    db["kept_records"].create_index(["case_id", "decided_at"], unique=True)


@migrations()
def m_suggestions(db: sqlite_utils.Database) -> None:
    # The suggested pick among a case's candidates (alma/suggestion.py), kept beside the
    # candidates it is drawn from: the queue counts a job's suggestions by rule in one query,
    # and a decided case keeps the suggestion its decider saw (the cases CSV compares).
    cases = db["cases"]
    cases.add_column("suggested_nz_mms_id", str)  # NULL: no suggestion (true duplicates, or rules off)
    cases.add_column("suggested_rule", str)  # alma.suggestion.Rule: what set it ahead of the next best
    # JSON list: the reasons, one per other candidate; with no suggested pick, why not (a tie)
    cases.add_column("suggestion_reasons", str)
    cases.create_index(["link_job", "state", "suggested_rule"])
    # The rules the open cases' suggestions were drawn with; other rules at start-up: drawn again.
    db["applied_settings"].create({"name": str, "value": str}, pk="name")


@migrations()
def m_heartbeat(db: sqlite_utils.Database) -> None:
    # The running bot's heartbeat, one row: `nzbot status` and /healthz read it (nzbot/status.py).
    db["heartbeat"].create({"id": int, "pid": int, "version": str, "round_at": str, "alma_ok_at": str,
                            "slack_ok_at": str}, pk="id")


@dataclass(frozen=True)
class Heartbeat:
    pid: int
    version: str
    round_at: str  # UTC, ISO
    alma_ok_at: str | None
    slack_ok_at: str | None


@migrations()
def m_schedules(db: sqlite_utils.Database) -> None:
    # A member's schedules of the link job on a set (nzbot/schedules.py), and each run of
    # one at a due time, recorded before it is requested: (schedule, due time) is unique, so
    # a round after a crash finds it instead of running it again.
    db["schedules"].create({"id": int, "institution": str, "set_id": str, "set_name": str,
                            "cadence": str,  # "daily 02:00" or "weekly mon 02:00", in NZBOT_TIMEZONE
                            "created_by": str, "channel": str, "created_at": str},
                           pk="id", not_null={"institution"}, defaults={"institution": ""})
    db["schedules"].create_index(["institution"])
    db["schedule_runs"].create({"id": int, "schedule_id": int, "due_at": str,  # UTC, ISO
                                "state": str,  # nzbot.states.RunState
                                "link_job": int, "note": str,  # why it was skipped or waits
                                "said_ts": str,  # the report channel's message saying so, once
                                "created_at": str}, pk="id", defaults={"state": "due"})
    db["schedule_runs"].create_index(["schedule_id", "due_at"], unique=True)
    db["schedule_runs"].create_index(["state"])
    # The run that requested a link job: one job per run, whatever a crash interrupted.
    db["link_jobs"].add_column("schedule_run", int)
    db["link_jobs"].add_column("scheduled", str)  # "schedule 3, daily 02:00", for the start message
    db["link_jobs"].create_index(["schedule_run"], unique=True)


@migrations()
def m_digests(db: sqlite_utils.Database) -> None:
    # When nzbot first looked for a digest to post: a new bot posts none for a moment
    # before its time (each period's post itself is a post_intents row, posted once).
    db["digest_watch"].create({"name": str, "since": str}, pk="name")


def suggestion_columns(iz: RecordCard | None, candidates: Sequence[RecordCard], rules: Sequence[Rule]) -> dict[str, Any]:
    """The suggestion's columns for a case with these cards."""
    found = recommend(iz, [_card(c) for c in candidates], rules)
    pick = found.suggestion
    reasons = list(pick.reasons) if pick else [found.tie_words] if found.level else []
    return {"suggested_nz_mms_id": pick.nz_mms_id if pick else None,
            "suggested_rule": pick.rule.value if pick else None,
            "suggestion_reasons": json.dumps(reasons) if reasons else None}


@dataclass(frozen=True)
class KeptRecord:
    """An IZ record's MARC (MARCXML) as it was before nzbot linked it, and whose decision that was."""

    iz_mms_id: str
    case_id: int
    decided_at: str | None
    decided_by: str | None
    kept_at: str
    marc_xml: str
    institution: str = ""


@dataclass(frozen=True)
class PostIntent:
    """A message meant to be posted once (bot/notifier.py): begun when, and its ts once posted."""

    key: str
    case_id: int | None
    begun_at: str | None
    posted_ts: str | None


@dataclass(frozen=True)
class Recheck:
    """How far the re-check of a job's set has got (a pass resumes where it stopped), the
    records it could not read, and its failed tries."""

    position: int = 0
    done: bool = False
    unreadable: tuple[str, ...] = ()
    tries: int = 0
    failed_at: str | None = None


@dataclass(frozen=True)
class NewCase:
    """A multi-match to record as a case (Store.open_cases)."""

    iz_mms_id: str
    iz_title: str
    candidates: tuple[RecordCard, ...]
    iz_card: RecordCard | None = None


@dataclass(frozen=True)
class AuditLine:
    """One line of the audit log (Store.audit_all)."""

    actor: str
    action: str
    subject: str
    outcome: str
    detail: str = ""


# Columns holding JSON: lists and dicts given for them are stored as JSON text.
JSON_COLUMNS = frozenset({"counters", "alerts", "candidates", "iz_card", "merged"})


def as_columns(values: dict[str, Any]) -> dict[str, Any]:
    """Values ready for SQLite, converted here and only here: a route as its "kind|prefix|id"
    text, and for JSON columns lists and dicts (of record cards, counters) as JSON text."""
    return {k: json.dumps(_plain(v)) if k in JSON_COLUMNS and isinstance(v, (list, tuple, dict, RecordCard))
            else v.encode() if isinstance(v, Route) else v
            for k, v in values.items()}


def _plain(value: Any) -> Any:
    """JSON types for what a row stores: a card as its dict, a counter as [key, desc, value]
    (the shape the column has always held)."""
    if isinstance(value, RecordCard):
        return value.as_dict()
    if isinstance(value, Counter):
        return [value.key, value.desc, value.value]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# SQLite's primary result codes (the low byte of an extended code) that mean the database
# is held by another writer, or cannot be written at all.
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_UNWRITABLE_CODES = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR,
                               sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM})
BUSY = "busy"
UNWRITABLE = "unwritable"
WAIT_SECONDS = 30.0  # how long a write waits for another writer, unless bounded


def database_fault(exc: BaseException) -> str | None:
    """BUSY when another writer held the database longer than this thread waits,
    UNWRITABLE when it cannot be written (read-only, disk full, I/O error), else None."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None:
        return None
    if code & 0xFF in _BUSY_CODES:
        return BUSY
    if code & 0xFF in _UNWRITABLE_CODES:
        return UNWRITABLE
    return None


class DatabaseProblem(Exception):
    """The database at NZBOT_DB cannot be used: said in one line, never a traceback."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(self.line(path, reason))
        self.path, self.reason = path, reason

    @staticmethod
    def line(path: str, reason: str) -> str:
        return f"NZBOT_DB={path}: {reason}"


class NoDatabase(DatabaseProblem):
    """A command that only reads the database, run where no bot has run: nothing is created."""

    @staticmethod
    def line(path: str, reason: str = "") -> str:
        return f"there is no database at {path} (NZBOT_DB): the bot has never run here"


def db_path_of(env: Mapping[str, str]) -> str:
    """NZBOT_DB, or nzbot.db in the current folder."""
    return env.get("NZBOT_DB", "").strip() or "nzbot.db"


def existing_database(path: str) -> str:
    """`path`, when a database is there; NoDatabase otherwise. The read-only commands (the
    CLI's cases, history, status, backup, and the doctor) ask this first, so that none of
    them creates an empty nzbot.db where it was run (opening a Store creates one)."""
    if path != ":memory:" and not os.path.isfile(path):
        raise NoDatabase(str(Path(path).expanduser().absolute()), "")
    return path


class DatabaseUnwritable(DatabaseProblem):
    """At start-up: the database at NZBOT_DB cannot be opened or written."""

    @staticmethod
    def line(path: str, reason: str) -> str:
        return f"cannot write its database NZBOT_DB={path}: {reason}"


class DatabaseDamaged(DatabaseProblem):
    """At start-up: NZBOT_DB is not an SQLite database, or a damaged one."""

    @staticmethod
    def line(path: str, reason: str) -> str:
        return (f"NZBOT_DB={path} is not a usable SQLite database ({reason}): point NZBOT_DB at "
                "nzbot's database, or at a new file (restore a damaged one from a backup).")


class DatabaseLost(DatabaseProblem):
    """While the bot ran, its database file was deleted or replaced: nothing more is
    written into a file nobody can see (nor into one the bot never migrated)."""

    @staticmethod
    def line(path: str, reason: str) -> str:
        return (f"nzbot lost its database file NZBOT_DB={path} ({reason}) and has stopped taking "
                "work: nothing more was changed. Whoever runs nzbot must restore the file and restart it.")


# SQLite's codes for a file that is not a database, or a damaged one.
_DAMAGED_CODES = frozenset({sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT})


class _DatabaseFile:
    """The file a store opened, shared by all its views: checked each round (`Store.check_file`)
    so that a file deleted or replaced under the running bot is noticed."""

    def __init__(self, path: str, identity: tuple[int, int] | None) -> None:
        self.path = path
        self.identity = identity  # None: nothing to check (":memory:", or not yet opened)
        self.lost: str | None = None
        # Once opened, a thread's new connection never creates the file again: a deleted
        # database must not come back empty (and unmigrated) under a running bot.
        self.address = (path if path == ":memory:" else
                        f"file:{urllib.parse.quote(os.path.abspath(path))}{'?mode=rw' if identity else ''}")

    def check(self) -> str | None:
        """Why the file is no longer the one opened, else None."""
        if self.identity is None:
            return None
        try:
            identity = _identity(self.path)
        except FileNotFoundError:
            return "the file was deleted"
        return None if identity == self.identity else "the file was replaced by another"


def _identity(path: str) -> tuple[int, int] | None:
    if path == ":memory:":
        return None
    status = os.stat(path)
    return status.st_dev, status.st_ino


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _insert_sql(verb: str, table: str, columns: Iterable[str]) -> str:
    columns = list(columns)
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


@dataclass(frozen=True)
class LinkJob:
    """A request to run the link job on a set, and the run that came of it."""

    id: int
    set_id: str
    set_name: str
    set_size: int
    contribute: bool
    match_prefix: str
    requested_by: str
    channel: str
    state: JobState
    job_id: str | None
    instance_id: str | None
    status: str | None
    progress: int
    counters: tuple[Counter, ...]
    alerts: tuple[str, ...]
    note: str | None
    message_ts: str | None
    report_ts: str | None
    reconciled: bool
    created_at: str
    started_at: str | None
    finished_at: str | None
    reported_at: str | None
    institution: str = ""  # the member institution's code ("" in single-institution mode)
    schedule_run: int | None = None  # the schedule's run that requested it (None: a person did)
    scheduled: str | None = None  # that schedule in words: "schedule 3, daily 02:00"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "LinkJob":
        values = {f.name: row.get(f.name) for f in fields(cls)}
        values["contribute"] = bool(values["contribute"])
        values["reconciled"] = bool(values["reconciled"])
        values["counters"] = json.loads(values["counters"] or "[]")
        values["alerts"] = tuple(json.loads(values["alerts"] or "[]"))
        values["match_prefix"] = values["match_prefix"] or ""
        values["progress"] = values["progress"] or 0
        values["institution"] = values["institution"] or ""
        return cls(**values)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", JobState(self.state))
        object.__setattr__(self, "counters", tuple(
            c if isinstance(c, Counter) else Counter(*c) for c in self.counters))


@dataclass(frozen=True)
class Case:
    """A multi-matched IZ record waiting for the Program Manager's decision."""

    id: int
    iz_mms_id: str
    iz_title: str
    link_job: int | None  # the link job whose run revealed it
    state: CaseState
    candidates: tuple[RecordCard, ...]  # each NZ candidate
    chosen_nz_mms_id: str | None
    decided_by: str | None
    note: str | None  # what went wrong, in Alma's words where there are any
    created_at: str
    updated_at: str
    iz_card: RecordCard | None = None
    decision: Decision | None = None
    route: Route | None = None
    linking_job: int | None = None
    decided_at: str | None = None
    requested_by: str | None = None  # who sent it from a lookup
    handed_to: str | None = None  # the cataloger the hand-off went to ("": nobody in Slack)
    handoff_ts: str | None = None
    merged: tuple[str, ...] = ()  # NZ duplicates seen merged into the chosen record
    institution: str = ""  # the member institution's code ("" in single-institution mode)
    decider: Decider | None = None  # None: the Program Manager (and cases not decided yet)
    answer_url: str | None = field(default=None, repr=False)  # a cataloger's press: its response_url
    answer_channel: str | None = None
    suggested_nz_mms_id: str | None = None  # the suggested pick (alma/suggestion.py), None: none
    suggested_rule: Rule | None = None  # the rule that set it ahead
    suggestion_reasons: tuple[str, ...] = ()  # one per other candidate; no pick: why not

    @property
    def suggested_position(self) -> int | None:
        """The suggested candidate's number on screen (1-based)."""
        ids = self.candidate_ids
        return ids.index(self.suggested_nz_mms_id) + 1 if self.suggested_nz_mms_id in ids else None

    @property
    def by_cataloger(self) -> bool:
        """Decided by a cataloger linking their own record (Method 2), not in the PM's queue."""
        return self.decider == Decider.CATALOGER

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Case":
        values = {f.name: row.get(f.name) for f in fields(cls)}
        values["candidates"] = tuple(json.loads(values["candidates"] or "[]"))
        values["iz_card"] = json.loads(values["iz_card"]) if values["iz_card"] else None
        values["route"] = Route.decode(values["route"])
        values["merged"] = tuple(json.loads(values["merged"] or "[]"))
        values["suggestion_reasons"] = tuple(json.loads(values["suggestion_reasons"] or "[]"))
        values["institution"] = values["institution"] or ""
        return cls(**values)

    def __post_init__(self) -> None:
        # Typed however the case was made (a row, a test): cards, states, the route.
        object.__setattr__(self, "state", CaseState(self.state))
        if self.decision:
            object.__setattr__(self, "decision", Decision(self.decision))
        if self.decider:
            object.__setattr__(self, "decider", Decider(self.decider))
        if self.suggested_rule:
            object.__setattr__(self, "suggested_rule", Rule(self.suggested_rule))
        if isinstance(self.route, str):
            object.__setattr__(self, "route", Route.decode(self.route))
        object.__setattr__(self, "candidates", tuple(_card(c) for c in self.candidates))
        if isinstance(self.iz_card, dict):
            object.__setattr__(self, "iz_card", _card(self.iz_card) if self.iz_card else None)

    @property
    def candidate_ids(self) -> tuple[str, ...]:
        return tuple(c.mms_id for c in self.candidates)

    @property
    def iz(self) -> RecordCard:
        """The IZ record's card: the one stored, or its MMS ID and title when there is none."""
        if self.iz_card is None:
            return RecordCard(mms_id=self.iz_mms_id or "", title=self.iz_title or "")
        return self.iz_card if self.iz_card.mms_id else replace(self.iz_card, mms_id=self.iz_mms_id)


def _card(value: RecordCard | dict) -> RecordCard:
    return value if isinstance(value, RecordCard) else RecordCard.from_dict(value)


class _Database(sqlite_utils.Database):
    """sqlite-utils' Database whose transactions take the write lock as they begin
    (BEGIN IMMEDIATE). A deferred BEGIN that reads and then writes fails at once with
    "database is locked" in WAL mode when another connection wrote meanwhile: the busy
    timeout does not apply to that upgrade. Every write of sqlite-utils (insert, update)
    and of ours goes through atomic(), so every transaction that writes waits its turn."""

    @contextlib.contextmanager
    def atomic(self):
        if self.conn.in_transaction:  # nested: sqlite-utils' savepoint
            with super().atomic():
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self.rollback()
                raise


@dataclass(frozen=True)
class MemberRows:
    """How many rows of each member table one institution has."""

    link_jobs: int = 0
    cases: int = 0
    link_tokens: int = 0
    audit: int = 0
    schedules: int = 0

    def __bool__(self) -> bool:
        return any((self.link_jobs, self.cases, self.link_tokens, self.audit, self.schedules))

    @property
    def work(self) -> int:
        """Rows something still acts on or lists (all but the audit lines)."""
        return self.link_jobs + self.cases + self.link_tokens + self.schedules

    def described(self) -> str:
        """"3 link jobs, 41 cases and 212 audit lines" (nothing said of what is 0)."""
        parts = [f"{n:,} {name if n != 1 else name[:-1]}" for n, name in (
            (self.link_jobs, "link jobs"), (self.cases, "cases"), (self.link_tokens, "link tokens"),
            (self.schedules, "schedules"), (self.audit, "audit lines")) if n]
        return " and ".join(filter(None, [", ".join(parts[:-1]), parts[-1]])) if parts else "nothing"


@dataclass(frozen=True)
class LinkToken:
    """The token route's temporary `035 $a <prefix><token>` on a chosen NZ record and an
    IZ record (nzbot/linkroute.py)."""

    id: int
    case_id: int
    token: str
    nz_mms_id: str
    iz_mms_id: str
    state: TokenState
    note: str | None
    created_at: str
    updated_at: str
    institution: str = ""
    stuck: str | None = None  # Alma's refusal to take it off its NZ record, while it stays

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "LinkToken":
        return cls(**{f.name: row.get(f.name) for f in fields(cls)})

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", TokenState(self.state))


@dataclass(frozen=True)
class Schedule:
    """A member's schedule of the link job on a set (nzbot/schedules.py reads its cadence)."""

    id: int
    set_id: str
    set_name: str
    cadence: str  # "daily 02:00" or "weekly mon 02:00", in NZBOT_TIMEZONE
    created_by: str
    channel: str
    created_at: str
    institution: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Schedule":
        return cls(**{f.name: row.get(f.name) for f in fields(cls)})


@dataclass(frozen=True)
class ScheduleRun:
    """A schedule's run at one due time, recorded before it is requested."""

    id: int
    schedule_id: int
    due_at: str  # UTC, ISO
    state: RunState
    link_job: int | None
    note: str | None
    said_ts: str | None
    created_at: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "ScheduleRun":
        return cls(**{f.name: row.get(f.name) for f in fields(cls)})

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", RunState(self.state))


@migrations()
def m_alma_facts(db: sqlite_utils.Database) -> None:
    # What `nzbot probe --sandbox` learned about this Alma (nzbot/facts.py): name -> value
    # (JSON), and when; a fact with no row is still assumed.
    db["alma_facts"].create({"name": str, "value": str, "learned_at": str}, pk="name")


class Store:
    def __init__(self, path: str, suggestion_rules: Sequence[Rule] | None = None) -> None:
        """`suggestion_rules`: the rules (in order) each case's suggested pick is drawn with;
        when they are not those the open cases were drawn with, those are drawn again. None
        (a command that only reads): the rules the database last ran with."""
        self.path = path
        self.suggestion_rules: tuple[Rule, ...] = tuple(DEFAULT_RULES if suggestion_rules is None else suggestion_rules)
        self._local = threading.local()
        # None: every institution's rows (the Program Manager's queue); a code: one
        # member's view (for_institution), whose rows are read and written as its own.
        self.institution: str | None = None
        self._file = _DatabaseFile(path, None)  # until the file exists (connecting creates it)
        try:
            migrations.apply(self.db)
            # A write lock taken and given back: a read-only file or a full disk shows
            # here, in one line, not at the first command.
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            self.close()
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _DAMAGED_CODES:
                raise DatabaseDamaged(path, str(exc)) from None
            if database_fault(exc) is None:
                raise
            raise DatabaseUnwritable(path, str(exc)) from None
        self._file = _DatabaseFile(path, _identity(path))  # the file as opened: what the rounds check
        if suggestion_rules is None:
            self.suggestion_rules = self._applied_rules() or self.suggestion_rules
        else:
            self._apply_rules()

    @property
    def lost(self) -> str | None:
        """Why the database file is gone (deleted or replaced while the bot ran), or None."""
        return self._file.lost

    def check_file(self) -> str | None:
        """Checks the file is still the one opened; the reason, the first time it is not
        (from then on every use of the store raises DatabaseLost)."""
        if self._file.lost is not None:
            return None
        reason = self._file.check()
        if reason is not None:
            self._file.lost = reason
        return reason

    def whole(self) -> "Store":
        """This store seen whole: every member's rows (the Program Manager's queue)."""
        return self.for_institution(None)

    def for_institution(self, code: str | None) -> "Store":
        """This store seen by one member institution: same database and connections; its
        queries see only that member's link jobs, cases and tokens, and what it adds is its."""
        view = copy.copy(self)
        view.institution = code
        return view

    def _mine(self, where: str | None, args: list) -> tuple[str | None, list]:
        """`where` narrowed to this view's institution (unchanged for the whole store)."""
        if self.institution is None:
            return where, args
        return (f"({where}) AND institution = ?" if where else "institution = ?"), [*args, self.institution]

    def _scoped(self, scope: Scope, where: str | None, args: list) -> tuple[str | None, list]:
        """`where` narrowed to `scope` (and to this view's institution): the readers a
        listener reaches take the scope as a required argument, so none can forget it."""
        if not isinstance(scope, Scope):
            raise TypeError(f"a Scope is required, not {scope!r}")
        narrow, more = scope.where()
        if narrow:
            where, args = (f"({where}) AND {narrow}" if where else narrow), [*args, *more]
        return self._mine(where, args)

    @property
    def _code(self) -> str:
        """The institution a new row belongs to."""
        return self.institution or ""

    def rows_by_institution(self) -> dict[str, MemberRows]:
        """Every institution code the member tables hold rows of (the whole store)."""
        counts: dict[str, dict[str, int]] = {}
        for table in MEMBER_TABLES:
            for code, n in self.db.execute(f"SELECT institution, count(*) FROM {table} GROUP BY institution"):
                counts.setdefault(code, {})[table] = n
        return {code: MemberRows(**n) for code, n in sorted(counts.items())}

    def move_rows(self, from_code: str, to_code: str) -> MemberRows:
        """Gives every row of institution `from_code` to `to_code`, in the caller's
        transaction; returns how many rows of each table moved."""
        return MemberRows(**{table: self.db.execute(
            f"UPDATE {table} SET institution = ? WHERE institution = ?", [to_code, from_code]).rowcount
            for table in MEMBER_TABLES})

    @property
    def db(self) -> sqlite_utils.Database:
        """This thread's connection (sqlite3 connections must not cross threads)."""
        if self._file.lost is not None:
            raise DatabaseLost(self.path, self._file.lost)
        db = getattr(self._local, "db", None)
        if db is None:
            wait = getattr(self._local, "wait_seconds", WAIT_SECONDS)
            conn = sqlite3.connect(self._file.address, timeout=wait, isolation_level=None, uri=True)
            conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            db = _Database(conn)
            if self.path != ":memory:":
                db.enable_wal()
            self._local.db = db
        return db

    def bound_waits(self, seconds: float) -> None:
        """This thread waits at most `seconds` for another writer, then gets BUSY: the
        threads that must ack Slack within 3 s use it (a ThreadPoolExecutor initializer)."""
        self._local.wait_seconds = seconds
        db = getattr(self._local, "db", None)
        if db is not None:
            db.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    # -- plain SQL on the migrated tables -----------------------------------------------
    # sqlite-utils' Table reads the schema (sqlite_master, PRAGMA table_info) on every call,
    # `db[name]` included: in a 40-member bot that was ~7% of the rounds' time. The tables
    # are fixed once migrated, so past the migrations the store speaks plain SQL.

    def _rows(self, table: str, where: str | None = None, args: Sequence[Any] = (), order_by: str | None = None,
              limit: int | None = None, offset: int | None = None) -> Iterator[dict[str, Any]]:
        """The rows of `table` matching `where`, as dicts, read as they are used."""
        sql = f"SELECT * FROM {table}" + (f" WHERE {where}" if where else "")
        sql += (f" ORDER BY {order_by}" if order_by else "") + (f" LIMIT {int(limit)}" if limit is not None else "")
        sql += (" LIMIT -1" if limit is None and offset is not None else "")
        sql += f" OFFSET {int(offset)}" if offset is not None else ""
        cursor = self.db.execute(sql, list(args))
        columns = [d[0] for d in cursor.description]
        for row in cursor:
            yield dict(zip(columns, row))

    def _row(self, table: str, row_id: int) -> dict[str, Any]:
        """One row by its id; NotFoundError when there is none."""
        for row in self._rows(table, "id = ?", [row_id]):
            return row
        raise NotFoundError

    def _insert(self, table: str, values: Mapping[str, Any], verb: str = "INSERT") -> int:
        """Inserts one row (`verb`: INSERT OR IGNORE, INSERT OR REPLACE); its rowid."""
        return self.db.execute(_insert_sql(verb, table, values), list(values.values())).lastrowid

    def _insert_all(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Inserts rows having the same columns in one statement, inside the caller's
        transaction (outside one, each row would be a transaction of its own)."""
        if not rows:
            return
        columns = list(rows[0])
        self.db.conn.executemany(_insert_sql("INSERT", table, columns), [[r[c] for c in columns] for r in rows])

    def _update(self, table: str, row_id: int, values: Mapping[str, Any]) -> None:
        """Sets `values` on one row; NotFoundError when there is no such row."""
        if not values:
            self._row(table, row_id)
            return
        assignments = ", ".join(f"{column} = ?" for column in values)
        if self.db.execute(f"UPDATE {table} SET {assignments} WHERE id = ?",
                           [*values.values(), row_id]).rowcount == 0:
            raise NotFoundError

    # -- Slack requests already handled (retries and double deliveries) ---------------

    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen, False ever after: dedupes Slack retries."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO handled_requests (key, received_at) VALUES (?, ?)",
            [key, now()],
        )
        return cursor.rowcount == 1

    # -- messages meant to be posted once (bot/notifier.py) ------------------------------

    def post_intent(self, key: str) -> PostIntent | None:
        row = self.db.execute("SELECT key, case_id, begun_at, posted_ts FROM post_intents WHERE key = ?",
                              [key]).fetchone()
        return PostIntent(*row) if row else None

    def begin_post(self, key: str, case_id: int | None = None) -> None:
        """The post is about to be made (recorded first: a crash after Slack stored it is found)."""
        self.db.execute("INSERT OR REPLACE INTO post_intents (key, case_id, begun_at, posted_ts)"
                        " VALUES (?, ?, ?, NULL)", [key, case_id, now()])

    def post_made(self, key: str, ts: str) -> None:
        self.db.execute("UPDATE post_intents SET posted_ts = ? WHERE key = ?", [ts, key])

    def drop_post(self, key: str) -> None:
        self.db.execute("DELETE FROM post_intents WHERE key = ?", [key])

    def unposted(self, prefix: str, before: datetime) -> list[PostIntent]:
        """Messages whose key begins with `prefix`, meant to be posted once, whose post begun
        before `before` has not been seen through."""
        # a range on the key (its primary-key index), not LIKE: the prefix may hold "_" or "%"
        return [PostIntent(*r) for r in self.db.execute(
            "SELECT key, case_id, begun_at, posted_ts FROM post_intents WHERE key >= ? AND key < ?"
            " AND posted_ts IS NULL AND begun_at < ? ORDER BY key",
            [prefix, prefix + "\uffff", before.isoformat(timespec="seconds")])]

    # -- IZ records as they were before nzbot linked them ----------------------------------

    def has_kept(self, case_id: int, decided_at: str | None) -> bool:
        return self.db.execute("SELECT 1 FROM kept_records WHERE case_id = ? AND decided_at IS ?",
                               [case_id, decided_at]).fetchone() is not None

    def keep_record(self, case: Case, marc_xml: str) -> None:
        """Keeps the record of `case`'s decision as it is now (once per decision)."""
        self.db.execute(
            "INSERT OR IGNORE INTO kept_records (institution, iz_mms_id, case_id, decided_at, decided_by,"
            " kept_at, marc_xml) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [case.institution, case.iz_mms_id, case.id, case.decided_at, case.decided_by, now(), marc_xml])

    def kept_records(self, iz_mms_id: str, *, scope: Scope) -> list[KeptRecord]:
        """The kept copies of an IZ record of `scope`'s members, newest first."""
        where, args = self._scoped(scope, "iz_mms_id = ?", [iz_mms_id])
        return [KeptRecord(r["iz_mms_id"], r["case_id"], r["decided_at"], r["decided_by"], r["kept_at"],
                           r["marc_xml"], r["institution"])
                for r in self._rows("kept_records", where, args, order_by="id desc")]

    # -- the re-check of a job's set -----------------------------------------------------

    def recheck(self, link_job: int) -> Recheck:
        row = self.db.execute("SELECT position, done, unreadable, tries, failed_at FROM rechecks"
                              " WHERE link_job = ?", [link_job]).fetchone()
        if row is None:
            return Recheck()
        position, done, unreadable, tries, failed_at = row
        return Recheck(position or 0, bool(done), tuple(json.loads(unreadable or "[]")), tries or 0, failed_at)

    def update_recheck(self, link_job: int, *, position: int | None = None, done: bool | None = None,
                       more_unreadable: Sequence[str] = (), tries: int | None = None,
                       failed_at: str | None = None) -> None:
        """Records how far a re-check got (`more_unreadable` adds to its unreadable records)."""
        current = self.recheck(link_job)
        self._insert("rechecks", {
            "link_job": link_job,
            "position": current.position if position is None else position,
            "done": int(current.done if done is None else done),
            "unreadable": json.dumps([*current.unreadable, *more_unreadable]),
            "tries": current.tries if tries is None else tries,
            "failed_at": failed_at if tries is not None else current.failed_at,
        }, "INSERT OR REPLACE")

    # -- a record someone else keeps saving (RecordChanged) --------------------------------

    def record_changed(self, subject: str) -> int:
        """Counts one more round in which `subject`'s record was saved by someone else first."""
        self.db.execute("INSERT INTO record_changes (subject, rounds) VALUES (?, 1)"
                        " ON CONFLICT(subject) DO UPDATE SET rounds = rounds + 1", [subject])
        return self.db.execute("SELECT rounds FROM record_changes WHERE subject = ?", [subject]).fetchone()[0]

    def record_saved(self, subject: str) -> None:
        self.db.execute("DELETE FROM record_changes WHERE subject = ?", [subject])

    # -- Slack channels the bot keeps (a DM with each Program Manager) ----------------------

    def dm_channel(self, user: str) -> str | None:
        row = self.db.execute("SELECT channel FROM dm_channels WHERE user = ?", [user]).fetchone()
        return row[0] if row else None

    def keep_dm_channel(self, user: str, channel: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO dm_channels (user, channel) VALUES (?, ?)", [user, channel])

    # -- how far each member's watch for runs started in Alma's UI has looked ---------------

    def watched_since(self, code: str, default: str | None = None) -> str | None:
        """Where the watch of member `code` got to; `default` is stored the first time."""
        if default is not None:
            self.db.execute("INSERT OR IGNORE INTO alma_watches (institution, since) VALUES (?, ?)", [code, default])
        row = self.db.execute("SELECT since FROM alma_watches WHERE institution = ?", [code]).fetchone()
        return row[0] if row else None

    def watch_moved(self, code: str, since: str | None) -> None:
        """The watch of member `code` has looked up to `since` (None: it has none)."""
        if since is None:
            self.db.execute("DELETE FROM alma_watches WHERE institution = ?", [code])
        else:
            self.db.execute("INSERT OR REPLACE INTO alma_watches (institution, since) VALUES (?, ?)", [code, since])

    # -- what a probe learned about Alma (nzbot/facts.py) -------------------------------------

    def learn_fact(self, name: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO alma_facts (name, value, learned_at) VALUES (?, ?, ?)",
                        [name, json.dumps(value), now()])

    def alma_facts(self) -> dict[str, tuple[Any, str]]:
        """name -> (value, learned_at) of every fact a probe learned."""
        return {name: (json.loads(value), at)
                for name, value, at in self.db.execute("SELECT name, value, learned_at FROM alma_facts")}

    # -- the weekly digest: since when nzbot looks for one to post ----------------------------

    def digest_since(self, default: str) -> str:
        """When nzbot first looked for a digest due; `default` is stored the first time."""
        self.db.execute("INSERT OR IGNORE INTO digest_watch (name, since) VALUES ('digest', ?)", [default])
        return self.db.execute("SELECT since FROM digest_watch WHERE name = 'digest'").fetchone()[0]

    # -- the case last decided in a queue message (whose line the message keeps) -------------

    def decided_in(self, channel: str, ts: str) -> int | None:
        row = self.db.execute("SELECT case_id FROM queue_decided WHERE channel = ? AND ts = ?",
                              [channel, ts]).fetchone()
        return row[0] if row else None

    def keep_decided_in(self, channel: str, ts: str, case_id: int | None) -> None:
        if case_id is None:
            self.db.execute("DELETE FROM queue_decided WHERE channel = ? AND ts = ?", [channel, ts])
        else:
            self.db.execute("INSERT OR REPLACE INTO queue_decided (channel, ts, case_id) VALUES (?, ?, ?)",
                            [channel, ts, case_id])

    # -- audit --------------------------------------------------------------------------

    def audit(self, actor: str, action: str, subject: str, outcome: str, detail: str = "") -> None:
        self.audit_all([AuditLine(actor, action, subject, outcome, detail)])

    def audit_all(self, lines: Sequence[AuditLine]) -> None:
        """Writes lines of the audit log, in order, in one statement."""
        if not lines:
            return
        stamp = now()
        with self.writing():
            self._insert_all("audit", [{"at": stamp, "actor": line.actor, "action": line.action,
                                        "subject": line.subject, "outcome": line.outcome, "detail": line.detail,
                                        "institution": self._code} for line in lines])

    def audit_rows(self) -> list[dict]:
        return list(self._rows("audit", order_by="id"))

    # -- link jobs ----------------------------------------------------------------------

    def add_link_job(self, **values: Any) -> LinkJob:
        values.setdefault("created_at", now())
        values.setdefault("institution", self._code)
        row_id = self._insert("link_jobs", as_columns(values))
        return self.link_job(row_id)

    def link_job(self, job_row_id: int) -> LinkJob:
        return LinkJob.from_row(self._row("link_jobs", job_row_id))

    def link_job_for_instance(self, job_id: str, instance_id: str) -> LinkJob | None:
        rows = list(self._rows("link_jobs", *self._mine("job_id = ? AND instance_id = ?", [job_id, instance_id])))
        return LinkJob.from_row(rows[0]) if rows else None

    def link_jobs(self, *states: str, limit: int | None = None) -> list[LinkJob]:
        """Link jobs in these states (all when none given), oldest first."""
        where = f"state IN ({', '.join('?' for _ in states)})" if states else None
        rows = self._rows("link_jobs", *self._mine(where, list(states)), order_by="id", limit=limit)
        return [LinkJob.from_row(r) for r in rows]

    def recent_link_jobs(self, limit: int = 10, *, scope: Scope) -> list[LinkJob]:
        rows = self._rows("link_jobs", *self._scoped(scope, None, []), order_by="id desc", limit=limit)
        return [LinkJob.from_row(r) for r in rows]

    def link_job_counts(self, *, scope: Scope) -> dict[str, int]:
        """Link jobs by state, of `scope`'s members."""
        where, args = self._scoped(scope, None, [])
        return {state: n for state, n in self.db.execute(
            f"SELECT state, count(*) FROM link_jobs {'WHERE ' + where if where else ''} GROUP BY state", args)}

    def move_link_job(self, job_row_id: int, from_states: tuple[str, ...] | str, to_state: str, **values: Any) -> bool:
        """Moves a link job to `to_state` only if it is still in one of `from_states`.
        False when another thread or process got there first."""
        return self._move("link_jobs", job_row_id, from_states, to_state, values)

    def update_link_job(self, job_row_id: int, **values: Any) -> None:
        """Changes details (progress, message ts) that are not a change of state."""
        self._update("link_jobs", job_row_id, as_columns(values))

    # -- schedules (nzbot/schedules.py) ---------------------------------------------------

    def add_schedule(self, set_id: str, set_name: str, cadence: str, created_by: str, channel: str,
                     created_at: str | None = None) -> Schedule:
        row_id = self._insert("schedules", {
            "institution": self._code, "set_id": set_id, "set_name": set_name, "cadence": cadence,
            "created_by": created_by, "channel": channel, "created_at": created_at or now()})
        return Schedule.from_row(self._row("schedules", row_id))

    def schedules(self, *, scope: Scope) -> list[Schedule]:
        """`scope`'s members' schedules, oldest first."""
        return [Schedule.from_row(r) for r in self._rows("schedules", *self._scoped(scope, None, []), order_by="id")]

    def schedule_owner(self, schedule_id: int) -> str | None:
        """The member institution a schedule belongs to; None when there is no such schedule."""
        row = self.db.execute("SELECT institution FROM schedules WHERE id = ?", [schedule_id]).fetchone()
        return row[0] if row else None

    def remove_schedule(self, schedule_id: int, *, scope: Scope) -> bool:
        """False when `scope` has no such schedule. Its runs stay, as history."""
        where, args = self._scoped(scope, "id = ?", [schedule_id])
        return self.db.execute(f"DELETE FROM schedules WHERE {where}", args).rowcount == 1

    def claim_schedule_run(self, schedule_id: int, due_at: str) -> bool:
        """Records the run of a schedule at `due_at` before anything is asked of Alma; False
        when it was recorded before (by an earlier round, or a process since killed)."""
        return self.db.execute(
            "INSERT OR IGNORE INTO schedule_runs (schedule_id, due_at, state, created_at) VALUES (?, ?, ?, ?)",
            [schedule_id, due_at, RunState.DUE, now()]).rowcount == 1

    def schedule_runs(self, schedule_id: int, *states: str) -> list[ScheduleRun]:
        """A schedule's runs in these states (all when none given), oldest due time first."""
        where = "schedule_id = ?" + (f" AND state IN ({', '.join('?' for _ in states)})" if states else "")
        return [ScheduleRun.from_row(r) for r in self._rows("schedule_runs", where, [schedule_id, *states],
                                                             order_by="due_at, id")]

    def last_schedule_runs(self, schedule_ids: Sequence[int]) -> dict[int, ScheduleRun]:
        """The latest run of each schedule that has one."""
        marks = ", ".join("?" for _ in schedule_ids)
        rows = self._rows("schedule_runs", f"schedule_id IN ({marks})", list(schedule_ids),
                          order_by="due_at, id") if schedule_ids else []
        return {run.schedule_id: run for run in map(ScheduleRun.from_row, rows)}

    def unsaid_schedule_runs(self) -> list[ScheduleRun]:
        """Runs of this member's schedules that were skipped or wait, not yet said in Slack."""
        mine, args = self._mine(None, [])
        rows = self.db.execute(
            "SELECT r.* FROM schedule_runs r JOIN schedules s ON s.id = r.schedule_id"
            " WHERE r.state IN (?, ?) AND r.said_ts IS NULL AND r.note IS NOT NULL"
            + (" AND s.institution = ?" if mine else "") + " ORDER BY r.id",
            [RunState.SKIPPED, RunState.WAITING, *args])
        columns = [d[0] for d in rows.description]
        return [ScheduleRun.from_row(dict(zip(columns, row))) for row in rows.fetchall()]

    def schedule(self, schedule_id: int) -> Schedule | None:
        rows = list(self._rows("schedules", *self._mine("id = ?", [schedule_id])))
        return Schedule.from_row(rows[0]) if rows else None

    def move_schedule_run(self, run_id: int, from_states: tuple[str, ...] | str, to_state: str,
                          **values: Any) -> bool:
        return self._move("schedule_runs", run_id, from_states, to_state, values)

    def schedule_run_said(self, run_id: int, ts: str) -> None:
        self.db.execute("UPDATE schedule_runs SET said_ts = ? WHERE id = ?", [ts, run_id])

    def link_job_of_run(self, run_id: int) -> LinkJob | None:
        """The link job a schedule's run requested, if it got that far."""
        rows = list(self._rows("link_jobs", "schedule_run = ?", [run_id]))
        return LinkJob.from_row(rows[0]) if rows else None

    def set_has_run_going(self, set_id: str) -> bool:
        """Whether a link job on this set (of this member) has not ended in Alma yet."""
        marks = ", ".join("?" for _ in JOB_GOING)
        where, args = self._mine(f"set_id = ? AND state IN ({marks})", [set_id, *JOB_GOING])
        return self.db.execute(f"SELECT 1 FROM link_jobs WHERE {where} LIMIT 1", args).fetchone() is not None

    # -- figures, week by week (nzbot/stats.py) -------------------------------------------
    # Each family of figures is one query over all the weeks: `spans` are the weeks'
    # (start, stop) instants as ISO text, in order; rows come back as (institution, week
    # index, figures...) for the weeks with anything to count. Times are compared as
    # julianday(): Alma's (…Z) and nzbot's own (…+00:00) timestamps both read right.

    @staticmethod
    def _weeks_cte(spans: Sequence[tuple[str, str]]) -> tuple[str, list]:
        values = ", ".join("(?, julianday(?), julianday(?))" for _ in spans)
        return f"WITH weeks(i, start, stop) AS (VALUES {values})", [v for i, s in enumerate(spans) for v in (i, *s)]

    def run_figures(self, spans: Sequence[tuple[str, str]], kinds: dict[str, str], *,
                    scope: Scope) -> list[tuple]:
        """Runs finished in each week and the records of each kind their reports counted:
        (institution, week, runs, linked, imported, skipped, multi_matched). `kinds`: Alma's
        counter key -> our kind (nzbot/report.py COUNTER_KINDS)."""
        weeks, args = self._weeks_cte(spans)
        sums = []
        for kind in ("linked", "imported", "skipped", "multi_matched"):
            keys = [key for key, k in kinds.items() if k == kind] or [""]
            sums.append(f"coalesce(sum(CASE WHEN json_extract(c.value, '$[0]') IN ({', '.join('?' for _ in keys)})"
                        " THEN json_extract(c.value, '$[2]') END), 0)")
            args += keys
        where, more = self._scoped(scope, "finished_at IS NOT NULL", [])
        return [tuple(r) for r in self.db.execute(
            f"{weeks} SELECT j.institution, w.i, count(DISTINCT j.id), {', '.join(sums)}"
            " FROM link_jobs j JOIN weeks w ON julianday(j.finished_at) >= w.start AND julianday(j.finished_at) < w.stop"
            f" LEFT JOIN json_each(j.counters) c WHERE {where} GROUP BY j.institution, w.i", [*args, *more])]

    def case_figures(self, spans: Sequence[tuple[str, str]], *, scope: Scope) -> list[tuple]:
        """Cases in each week: (institution, week, opened, decided, decided for the suggested
        pick, open at the week's end). Decided: a pick, a merge, a new record or a skip (a
        re-check decides nothing); at a week's end a case opened by then and not decided by
        then is open."""
        weeks, args = self._weeks_cte(spans)
        decided = "c.decided_at IS NOT NULL AND c.decision IN ('link', 'merge', 'contribute', 'skip')"
        created, at = "julianday(c.created_at)", "julianday(c.decided_at)"
        # a case decided before the first week counts in none: left out before the join
        where, more = self._scoped(scope, f"{created} < julianday(?) AND NOT ({decided} AND {at} < julianday(?))",
                                   [spans[-1][1], spans[0][0]])
        return [tuple(r) for r in self.db.execute(
            f"{weeks} SELECT c.institution, w.i,"
            f" sum({created} >= w.start AND {created} < w.stop),"
            f" sum({decided} AND {at} >= w.start AND {at} < w.stop),"
            f" sum({decided} AND {at} >= w.start AND {at} < w.stop AND c.decision = 'link'"
            "     AND c.chosen_nz_mms_id = c.suggested_nz_mms_id),"
            f" sum({created} < w.stop AND NOT ({decided} AND {at} < w.stop))"
            f" FROM cases c JOIN weeks w WHERE {where} GROUP BY c.institution, w.i", [*args, *more])]

    def waiting_cases(self, *, scope: Scope) -> list[tuple[str, int, str]]:
        """(institution, cases waiting for a decision now, the oldest one's created_at)."""
        marks = ", ".join("?" for _ in DECIDABLE)
        where, args = self._scoped(scope, f"state IN ({marks})", list(DECIDABLE))
        return [tuple(r) for r in self.db.execute(
            f"SELECT institution, count(*), min(created_at) FROM cases WHERE {where} GROUP BY institution", args)]

    # -- cases --------------------------------------------------------------------------

    def open_case(self, iz_mms_id: str, iz_title: str, candidates: Sequence[RecordCard], link_job: int | None,
                  iz_card: RecordCard | None = None, requested_by: str | None = None,
                  decided: dict[str, Any] | None = None) -> Case | None:
        """Records a multi-match as a case, unless the record already has one not yet
        settled. Returns the new case, or None when one was already open. `decided`: the
        decision's columns, for a case decided as it is opened (a cataloger's own link)."""
        row = self._case_row(NewCase(iz_mms_id, iz_title, tuple(candidates), iz_card), link_job, requested_by, decided)
        with self.writing():  # BEGIN IMMEDIATE: the read then the insert, one writer at a time
            if not self._insert_cases([row]):
                return None
            row_id = self._unsettled_cases([iz_mms_id])[iz_mms_id]
        return self.case(row_id)

    def open_cases(self, found: Sequence[NewCase], link_job: int | None) -> list[NewCase]:
        """Records multi-matches as cases, in order and in one transaction, each unless its
        record already has a case not yet settled; returns those it opened."""
        if not found:
            return []
        rows = [self._case_row(new, link_job) for new in found]
        with self.writing():
            return [found[i] for i in self._insert_cases(rows)]

    def _case_row(self, new: NewCase, link_job: int | None, requested_by: str | None = None,
                  decided: dict[str, Any] | None = None) -> dict[str, Any]:
        stamp = now()
        return as_columns(
            {"iz_mms_id": new.iz_mms_id, "iz_title": new.iz_title, "link_job": link_job,
             "state": CaseState.DECIDING if decided else CaseState.OPEN, "candidates": new.candidates,
             "iz_card": new.iz_card, "created_at": stamp, "updated_at": stamp, "requested_by": requested_by,
             "institution": self._code, **suggestion_columns(new.iz_card, new.candidates, self.suggestion_rules),
             **(decided or {})})

    def _insert_cases(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Inserts the case rows whose record has no case not yet settled (nor an earlier row
        here), in one statement, inside the caller's transaction; their positions in `rows`."""
        taken = set(self._unsettled_cases([r["iz_mms_id"] for r in rows]))
        fresh = []
        for i, row in enumerate(rows):
            if row["iz_mms_id"] not in taken:
                taken.add(row["iz_mms_id"])
                fresh.append(i)
        self._insert_all("cases", [rows[i] for i in fresh])
        return fresh

    def _unsettled_cases(self, iz_mms_ids: Sequence[str]) -> dict[str, int]:
        """Record -> its case not yet settled, of this view's institution."""
        found: dict[str, int] = {}
        for start in range(0, len(iz_mms_ids), 500):  # well under SQLite's limit of parameters
            part = list(iz_mms_ids[start:start + 500])
            found.update(self.db.execute(
                f"SELECT iz_mms_id, id FROM cases WHERE iz_mms_id IN ({', '.join('?' for _ in part)})"
                " AND state NOT IN (?, ?) AND institution = ?", [*part, *SETTLED, self._code]).fetchall())
        return found

    def writing(self):
        """One transaction (BEGIN IMMEDIATE) for several writes: all of them land, or none."""
        return self.db.atomic()

    def case_ids_of_job(self, link_job: int) -> list[int]:
        """The cases a link job's re-check opened, as the database holds them."""
        return [r[0] for r in self.db.execute(
            "SELECT id FROM cases WHERE link_job = ? ORDER BY id", [link_job])]

    def case(self, case_id: int) -> Case:
        return Case.from_row(self._row("cases", case_id))

    def case_or_none(self, case_id: int) -> Case | None:
        try:
            return self.case(case_id)
        except NotFoundError:
            return None

    def case_owner(self, case_id: int) -> str | None:
        """The member institution a case belongs to; None when there is no such case."""
        row = self.db.execute("SELECT institution FROM cases WHERE id = ?", [case_id]).fetchone()
        return row[0] if row else None

    def cases_in_job(self, linking_job: int) -> list[Case]:
        return [Case.from_row(r) for r in self._rows("cases", "linking_job = ?", [linking_job], order_by="id")]

    def case_messages(self, case_id: int) -> list[tuple[str, str]]:
        """(channel, ts) of each message showing this case to a Program Manager."""
        return [(r["channel"], r["ts"]) for r in self._rows("case_messages", "case_id = ?", [case_id], order_by="id")]

    def add_case_message(self, case_id: int, channel: str, ts: str, permalink: str | None = None) -> None:
        self._insert("case_messages", {"case_id": case_id, "channel": channel, "ts": ts, "permalink": permalink},
                     "INSERT OR IGNORE")

    def show_case_in(self, case_id: int, channel: str, ts: str) -> None:
        """The message (channel, ts) now shows this case, and no other."""
        with self.writing():
            self.db.execute("DELETE FROM case_messages WHERE channel = ? AND ts = ?", [channel, ts])
            self.db.execute("INSERT OR REPLACE INTO case_messages (case_id, channel, ts) VALUES (?, ?, ?)",
                            [case_id, channel, ts])

    def shows_a_case(self, channel: str, ts: str) -> bool:
        return self.db.execute("SELECT 1 FROM case_messages WHERE channel = ? AND ts = ?",
                               [channel, ts]).fetchone() is not None

    def case_shown_in(self, channel: str, ts: str) -> int | None:
        """The case the message (channel, ts) shows, if any."""
        row = self.db.execute("SELECT case_id FROM case_messages WHERE channel = ? AND ts = ?",
                              [channel, ts]).fetchone()
        return row[0] if row else None

    def clear_message(self, channel: str, ts: str) -> None:
        """The message (channel, ts) shows no case any more."""
        self.db.execute("DELETE FROM case_messages WHERE channel = ? AND ts = ?", [channel, ts])

    # -- the Program Manager's queue ------------------------------------------------------

    def add_queue_message(self, link_job: int | None, channel: str, ts: str, permalink: str | None = None) -> None:
        self.db.execute("INSERT OR IGNORE INTO queue_messages (channel, ts, link_job, permalink)"
                        " VALUES (?, ?, ?, ?)", [channel, ts, link_job, permalink])

    def newest_unsettled(self, states: tuple[str, ...], limit: int, offset: int = 0, *,
                         scope: Scope) -> tuple[list[Case], int]:
        """The `limit` newest cases in `states` after the `offset` newest (a page of them),
        and how many there are in all, of `scope`'s members."""
        marks = ", ".join("?" for _ in states)
        where, args = self._scoped(scope, f"state IN ({marks})", list(states))
        total = self.db.execute(f"SELECT count(*) FROM cases WHERE {where}", args).fetchone()[0]
        rows = self._rows("cases", where, args, order_by="id desc", limit=limit, offset=offset)
        return [Case.from_row(r) for r in rows], total

    def permalinks(self, case_ids: list[int]) -> dict[int, str]:
        """A link to a message showing each case: its own, else its job's queue message."""
        links: dict[int, str] = {}
        for case_id in case_ids:
            row = self.db.execute(
                "SELECT permalink FROM case_messages WHERE case_id = ? AND permalink IS NOT NULL"
                " UNION ALL SELECT q.permalink FROM queue_messages q JOIN cases c ON q.link_job = c.link_job"
                " WHERE c.id = ? AND q.permalink IS NOT NULL LIMIT 1", [case_id, case_id]).fetchone()
            if row:
                links[case_id] = row[0]
        return links

    def iter_cases(self, *, scope: Scope):
        """Every case of `scope`'s members, oldest first, read as it is used (memory stays flat)."""
        for row in self._rows("cases", *self._scoped(scope, None, []), order_by="id"):
            yield Case.from_row(row)

    def queue_message(self, channel: str, ts: str) -> tuple[bool, int | None]:
        """(is it a queue message, the link job it reviews: None for all open cases)."""
        row = self.db.execute("SELECT link_job FROM queue_messages WHERE channel = ? AND ts = ?",
                              [channel, ts]).fetchone()
        return (row is not None, row[0] if row else None)

    def queue_messages_of(self, link_job: int) -> list[tuple[str, str]]:
        """(channel, ts) of each queue message of this job."""
        return [(r[0], r[1]) for r in self.db.execute(
            "SELECT channel, ts FROM queue_messages WHERE link_job IS ? ORDER BY rowid", [link_job])]

    def jobs_awaiting_queue_message(self) -> list[LinkJob]:
        """Jobs whose re-check is over and that have cases to decide, but no queue message yet."""
        mine, args = self._mine(None, [])  # each member posts its own jobs' queue messages
        rows = self.db.execute(
            "SELECT * FROM link_jobs j WHERE j.reconciled = 1 AND j.state = 'reported'"
            + (" AND j.institution = ?" if mine else "") +
            " AND NOT EXISTS (SELECT 1 FROM queue_messages q WHERE q.link_job = j.id)"
            " AND EXISTS (SELECT 1 FROM cases c WHERE c.link_job = j.id AND c.state IN ('open', 'failed'))"
            " ORDER BY j.id", args)
        columns = [d[0] for d in rows.description]
        return [LinkJob.from_row(dict(zip(columns, row))) for row in rows.fetchall()]

    def next_case_to_review(self, link_job: int | None, states: tuple[str, ...] = DECIDABLE) -> Case | None:
        """The oldest case still to be decided, of one job or (None) of all."""
        marks = ", ".join("?" for _ in states)
        where = f"state IN ({marks})" + (" AND link_job = ?" if link_job is not None else "")
        rows = list(self._rows("cases", where, [*states, *([link_job] if link_job is not None else [])],
                               order_by="id", limit=1))
        return Case.from_row(rows[0]) if rows else None

    def case_counts(self, link_job: int | None = None, *, scope: Scope) -> dict[str, int]:
        """Cases by state, of one job or (None) of all of `scope`'s members."""
        where, args = self._scoped(scope, "link_job = ?" if link_job is not None else None,
                                   [link_job] if link_job is not None else [])
        return {state: n for state, n in self.db.execute(
            f"SELECT state, count(*) FROM cases {'WHERE ' + where if where else ''} GROUP BY state", args)}

    def queue_by_job(self, states: tuple[str, ...], *, scope: Scope) -> list[tuple[int | None, dict[str, int]]]:
        """(link job, cases by state) for each job with cases in `states`, oldest job first
        (cases sent from a lookup, with no job, first of all), of `scope`'s members."""
        marks = ", ".join("?" for _ in states)
        where, args = self._scoped(scope, f"state IN ({marks})", list(states))
        by_job: dict[int | None, dict[str, int]] = {}
        for job, state, n in self.db.execute(
                f"SELECT link_job, state, count(*) FROM cases WHERE {where}"
                " GROUP BY link_job, state ORDER BY link_job", args):
            by_job.setdefault(job, {})[state] = n
        return list(by_job.items())

    def undelivered_cases(self) -> list[Case]:
        """Open cases sent from a lookup that no message shows yet (Slack was down)."""
        return [Case.from_row(r) for r in self._rows("cases", *self._mine(
            "state = 'open' AND link_job IS NULL AND id NOT IN (SELECT case_id FROM case_messages)", []),
            order_by="id")]

    def cases(self, *states: str) -> list[Case]:
        where = f"state IN ({', '.join('?' for _ in states)})" if states else None
        return [Case.from_row(r) for r in self._rows("cases", *self._mine(where, list(states)), order_by="id")]

    def open_case_for(self, iz_mms_id: str) -> Case | None:
        """The record's case not yet settled (not linked, not skipped), if any."""
        rows = list(self._rows("cases", *self._mine("iz_mms_id = ? AND state NOT IN (?, ?)", [iz_mms_id, *SETTLED]),
                               order_by="id desc", limit=1))
        return Case.from_row(rows[0]) if rows else None

    def move_case(self, case_id: int, from_states: tuple[str, ...] | str, to_state: str, **values: Any) -> bool:
        """Moves a case only if it is still in one of `from_states`: of two clicks at once,
        exactly one wins. New candidates bring their suggestion with them."""
        if "candidates" in values:
            iz = values.get("iz_card") or self.case(case_id).iz_card
            values = {**values, **suggestion_columns(iz, values["candidates"], self.suggestion_rules)}
        return self._move("cases", case_id, from_states, to_state, {**values, "updated_at": now()})

    # -- the heartbeat ------------------------------------------------------------------------

    def beat(self, pid: int, version: str, alma_ok_at: str | None, slack_ok_at: str | None) -> None:
        """The bot ran a round now (and when Alma and Slack last answered it)."""
        self._insert("heartbeat", {"id": 1, "pid": pid, "version": version, "round_at": now(),
                                   "alma_ok_at": alma_ok_at, "slack_ok_at": slack_ok_at}, "INSERT OR REPLACE")

    def heartbeat(self) -> Heartbeat | None:
        row = self.db.execute("SELECT pid, version, round_at, alma_ok_at, slack_ok_at FROM heartbeat").fetchone()
        return Heartbeat(*row) if row else None

    # -- suggestions ----------------------------------------------------------------------

    def _applied_rules(self) -> tuple[Rule, ...] | None:
        row = self.db.execute("SELECT value FROM applied_settings WHERE name = 'suggestion_rules'").fetchone()
        if row is None:
            return None
        return tuple(Rule(r) for r in row[0].split(",") if r in {x.value for x in Rule})

    def _apply_rules(self) -> None:
        """Draws the open cases' suggestions again when the rules changed (a consortium
        reordered or dropped one): a decided case keeps the one its decider saw."""
        if self._applied_rules() == self.suggestion_rules:
            return
        marks = ", ".join("?" for _ in DECIDABLE)
        with self.writing():
            rows = list(self.db.execute(
                f"SELECT id, iz_card, candidates FROM cases WHERE state IN ({marks})", list(DECIDABLE)))
            for case_id, iz_card, candidates in rows:
                iz = _card(json.loads(iz_card)) if iz_card else None
                self._update("cases", case_id, suggestion_columns(
                    iz, json.loads(candidates or "[]"), self.suggestion_rules))
            self._insert("applied_settings", {"name": "suggestion_rules", "value": ",".join(self.suggestion_rules)},
                         "INSERT OR REPLACE")

    def suggestion_counts(self, link_job: int | None, *, scope: Scope) -> dict[Rule, int]:
        """A job's cases left to decide that have a suggestion, by the rule that made it."""
        where, args = self._suggested(link_job, scope)
        return {Rule(rule): n for rule, n in self.db.execute(
            f"SELECT suggested_rule, count(*) FROM cases WHERE {where} GROUP BY suggested_rule", args)}

    def suggested_case_ids(self, link_job: int | None, *, scope: Scope) -> list[int]:
        """A job's cases left to decide that have a suggestion, oldest first."""
        where, args = self._suggested(link_job, scope)
        return [r[0] for r in self.db.execute(f"SELECT id FROM cases WHERE {where} ORDER BY id", args)]

    def _suggested(self, link_job: int | None, scope: Scope) -> tuple[str, list]:
        marks = ", ".join("?" for _ in DECIDABLE)
        return self._scoped(scope, f"link_job IS ? AND state IN ({marks}) AND suggested_rule IS NOT NULL",
                            [link_job, *DECIDABLE])

    # -- link tokens (the token route) ---------------------------------------------------

    def add_link_token(self, case_id: int, token: str, nz_mms_id: str, iz_mms_id: str) -> "LinkToken":
        """Records a token before it is put anywhere, so a crash never loses track of it."""
        stamp = now()
        row_id = self._insert("link_tokens", {
            "case_id": case_id, "token": token, "nz_mms_id": nz_mms_id, "iz_mms_id": iz_mms_id,
            "state": TokenState.PLACING, "created_at": stamp, "updated_at": stamp, "institution": self._code})
        return self.link_token(row_id)

    def link_token(self, token_id: int) -> "LinkToken":
        return LinkToken.from_row(self._row("link_tokens", token_id))

    def link_tokens(self, *states: str, case_id: int | None = None) -> list["LinkToken"]:
        """Tokens in these states (all when none given), oldest first."""
        where, args = [], []
        if states:
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            args += list(states)
        if case_id is not None:
            where.append("case_id = ?")
            args.append(case_id)
        rows = self._rows("link_tokens", *self._mine(" AND ".join(where) or None, args), order_by="id")
        return [LinkToken.from_row(r) for r in rows]

    def stuck_link_tokens(self, *, scope: Scope) -> list["LinkToken"]:
        """Tokens Alma refused to take off their NZ record, of `scope`'s members, oldest first."""
        where, args = self._scoped(scope, "state = ? AND stuck IS NOT NULL", [TokenState.REMOVING])
        return [LinkToken.from_row(r) for r in self._rows("link_tokens", where, args, order_by="id")]

    def update_link_token(self, token_id: int, **values: Any) -> None:
        """Changes details (Alma's refusal) that are not a change of state."""
        self._update("link_tokens", token_id, {**values, "updated_at": now()})

    def move_link_token(self, token_id: int, from_states: tuple[str, ...] | str, to_state: str,
                        **values: Any) -> bool:
        return self._move("link_tokens", token_id, from_states, to_state, {**values, "updated_at": now()})

    def _move(self, table: str, row_id: int, from_states: tuple[str, ...] | str, to_state: str,
              values: dict[str, Any]) -> bool:
        """The one compare-and-set: sets `values` and the state only where the row is still
        in one of `from_states`, in one statement, so exactly one caller wins. A move the
        table's machine (nzbot.states) does not allow raises BadMove before anything is written."""
        if isinstance(from_states, str):
            from_states = (from_states,)
        check_move(table, from_states, to_state)
        values = as_columns({**values, "state": to_state})
        assignments = ", ".join(f"{k} = ?" for k in values)
        marks = ", ".join("?" for _ in from_states)
        cursor = self.db.execute(
            f"UPDATE {table} SET {assignments} WHERE id = ? AND state IN ({marks})",
            [*values.values(), row_id, *from_states],
        )
        return cursor.rowcount == 1

