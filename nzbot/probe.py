"""`nzbot probe --sandbox`: small experiments on a sandbox Alma that settle what nzbot
otherwise guesses (nzbot/facts.py). Each says what it will change before it changes it,
and puts everything back in `finally`: the 035/024 values it adds are taken off again, the
sets it makes are deleted, and a record it made Alma import is unlinked, given back its
MARC, and its new NZ record deleted. What cannot be undone: the job runs stay in Alma's
job history, and each saved record has a new 005 (the time of its latest save).

The experiments use records the systems librarian names: one unlinked IZ record and two
NZ records (the NZ's key puts a throwaway value on them), and, for the contribute fact, a
second unlinked IZ record that may be imported and is then taken back out.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Iterator

from pymarc import Field, Record, Subfield

from alma.client import AlmaClient
from alma.errors import AlmaRequestError, RecordChanged
from alma.models import JobInstance, LinkJobParameters
from nzbot.facts import CONTRIBUTE, COUNTER_KEYS, MULTI_MATCHES_LIST, NO_005_CHECK, OTHER_SYSTEM
from nzbot.linkroute import NO_MATCH_PREFIX, edit_record, put_token_on_nz, take_token_off_iz, take_token_off_nz
from nzbot.report import COUNTER_KINDS

PROBE_PREFIX = "(NZBOTPROBE)"  # a prefix of its own: never one a route of nzbot uses
SANDBOX_ONLY = ("nzbot probe changes records and runs the link job: give --sandbox to say this Alma is a "
                "sandbox (Alma's API host is the same for a sandbox and production, so nzbot cannot tell).")


@dataclass(frozen=True)
class ProbeRecords:
    """The records the experiments may change (and put back)."""

    iz: str  # an unlinked IZ record
    nz: tuple[str, str]  # two NZ records
    contribute_iz: str | None = None  # an unlinked IZ record the contribute experiment may import


@dataclass
class Finding:
    fact: str  # nzbot/facts.py name
    plan: str  # what the experiment will change (said before it changes anything)
    did: list[str] = field(default_factory=list)
    answered: str = ""  # what Alma answered
    conclusion: str = ""
    nzbot_now: str = ""  # what nzbot will now do
    value: Any = None  # stored as the fact; None: not settled

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Probe:
    client: AlmaClient
    records: ProbeRecords
    say: Callable[[str], None]  # the plan of each experiment, before it changes anything
    poll_seconds: float = 2.0
    wait_seconds: float = 1800.0
    token: str = field(default_factory=lambda: secrets.token_hex(6))
    learned_keys: dict[str, str] = field(default_factory=dict)  # Alma's counter key -> our kind
    other_035: bool = True  # whether the token run's prefixed 035 was matched (a multi-match)

    # -- the experiments ------------------------------------------------------------------

    def contribute(self) -> Finding:
        iz = self.records.contribute_iz
        found = Finding(CONTRIBUTE, f"run the link job on IZ record {iz} with contribution on and match prefix "
                                    f"{NO_MATCH_PREFIX}, which no record carries; if Alma imports it, unlink it, "
                                    "put its MARC back and delete the new NZ record")
        self.say(found.plan)
        before = self.client.get_bib(iz).marc()
        imported = None
        try:
            run = self._run([iz], LinkJobParameters.other_system_number("", NO_MATCH_PREFIX, contribute=True))
            imported = self.client.get_bib(iz).linked_nz_mms_id
            found.did.append(f"ran the link job (instance {run.id}) on a set of {iz}")
            found.answered = f"{run.status}; counters {_counters(run)}; the IZ record is " + (
                f"linked to new NZ record {imported}" if imported else "still unlinked")
            kind = "imported" if imported else "skipped"
            self._learn_single_key(run, kind)
            found.value = "imports" if imported else "skips"
            found.conclusion = ("contribute imports a record with no value under the prefix" if imported
                                else "the link job skips a record with no value under the prefix")
            found.nzbot_now = ("the contribute route stays as it is" if imported else
                               "the contribute route is said not to work (start-up and doctor): "
                               "contribute such records in the Metadata Editor")
        finally:
            if imported:
                self._undo_import(iz, imported, before, found)
        return found

    def token_multi_match(self) -> list[Finding]:
        """Facts 1, 2 and the 035 half of 4: a throwaway prefixed 035 on both NZ records and
        the IZ record should make a multi-match, which changes nothing in the catalogue."""
        iz, (a, b) = self.records.iz, self.records.nz
        value = f"{PROBE_PREFIX}{self.token}"
        keys = Finding(COUNTER_KEYS, f"add 035 $a {value} to NZ records {a} and {b} and IZ record {iz}, run the "
                                     f"link job with the other-system profile and prefix {PROBE_PREFIX} (a "
                                     "multi-match: nothing links), then take the 035 off again")
        listed = Finding(MULTI_MATCHES_LIST, "(the same run) read its MULTI_MATCHES list")
        self.say(keys.plan)
        try:
            for nz in (a, b):
                put_token_on_nz(self.client, nz, value)
            _edit_iz(self.client, iz, lambda r: _with(r, "035", value))
            keys.did.append(f"added 035 $a {value} to {a}, {b} and {iz}")
            run = self._run([iz], LinkJobParameters.other_system_number("", PROBE_PREFIX))
            keys.did.append(f"ran the link job (instance {run.id})")
            keys.answered = f"{run.status}; counters {_counters(run)}"
            self._multi_matches_list(run, listed)
            multi = listed.value is True or self._single_key_is(run, "multi_matched", "skipped")
            keys.value = self._keys_seen(run, "multi_matched" if multi else "skipped")
            keys.conclusion = f"the link job's counters: {', '.join(f'{k} = {v}' for k, v in keys.value.items())}"
            keys.nzbot_now = "reports read these keys (with the defaults)"
            self.other_035 = multi
        finally:
            for nz in (a, b):
                take_token_off_nz(self.client, nz, value)
            take_token_off_iz(self.client, iz, value)
            keys.did.append("took the 035 off the three records again")
        return [keys, listed]

    def other_system_024(self) -> Finding:
        iz, (a, b) = self.records.iz, self.records.nz
        value = f"NZBOTPROBE{self.token}"
        found = Finding(OTHER_SYSTEM, f"add 024 $a {value} to NZ records {a} and {b} and IZ record {iz}, run the "
                                      f"link job with the other-system profile and prefix {PROBE_PREFIX} (a "
                                      "multi-match if 024 is matched: nothing links), then take the 024 off again")
        self.say(found.plan)
        try:
            for nz in (a, b):
                edit_record(lambda nz=nz: self.client.get_nz_bib(nz), lambda r, nz=nz: self.client.update_nz_bib(nz, r),
                            lambda bib: _with(bib.marc(), "024", value))
            _edit_iz(self.client, iz, lambda r: _with(r, "024", value))
            found.did.append(f"added 024 $a {value} to {a}, {b} and {iz}")
            run = self._run([iz], LinkJobParameters.other_system_number("", PROBE_PREFIX))
            found.did.append(f"ran the link job (instance {run.id})")
            found.answered = f"{run.status}; counters {_counters(run)}"
            matched = self._single_key_is(run, "multi_matched", "skipped")
            found.value = {"matches_035": self.other_035, "matches_024": matched}
            found.conclusion = ("the other-system profile matches 024 $a too" if matched
                                else "the other-system profile does not match 024 $a")
            found.nzbot_now = ("the doctor and start-up warn that a shared 024 can multi-match the token route"
                               if matched else "nothing changes: the token route matches the 035 alone")
        finally:
            for nz in (a, b):
                edit_record(lambda nz=nz: self.client.get_nz_bib(nz), lambda r, nz=nz: self.client.update_nz_bib(nz, r),
                            lambda bib: _without(bib.marc(), "024", value))
            _edit_iz(self.client, iz, lambda r: _without(r, "024", value))
            found.did.append("took the 024 off the three records again")
        return found

    def version_check_without_005(self) -> Finding:
        iz = self.records.iz
        found = Finding(NO_005_CHECK, f"save IZ record {iz} unchanged but without its 005, asking Alma's "
                                      "version check (stale_version_check=true)")
        self.say(found.plan)
        record = self.client.get_bib(iz).marc()
        for f in record.get_fields("005"):
            record.remove_field(f)
        try:
            self.client.update_bib(iz, record, version_check=True)
            found.answered, found.value = "saved", "saves"
        except RecordChanged as exc:
            found.answered, found.value = f"refused: {exc.code} {exc}", "refuses"
        except AlmaRequestError as exc:
            found.answered, found.value = f"refused: {exc.code} {exc}", "refuses"
        found.did.append(f"saved {iz} without 005, version check asked")
        found.conclusion = ("the check lets a record with no 005 through" if found.value == "saves"
                            else "the check refuses a record with no 005")
        found.nzbot_now = ("records with no 005 are still saved without the check (it compares nothing)"
                           if found.value == "saves" else
                           "records with no 005 are saved without the check; the doctor and start-up say so")
        return found

    # -- the link job ---------------------------------------------------------------------

    def _run(self, members: list[str], params: LinkJobParameters) -> JobInstance:
        """Runs the link job on a set of `members` made for it, waits for the end, deletes the set."""
        made = self.client.create_set(f"nzbot probe {self.token} {secrets.token_hex(3)}", members,
                                      "made by nzbot probe; deleted when its run ends")
        try:
            params = replace(params, set_id=made.id, job_name="nzbot probe")
            started = self.client.run_link_job(params)
            deadline = time.monotonic() + self.wait_seconds
            while True:
                run = self.client.get_job_instance(started.job_id, started.instance_id)
                if run.finished or time.monotonic() > deadline:
                    return run
                time.sleep(self.poll_seconds)
        finally:
            self.client.delete_set(made.id)

    def _multi_matches_list(self, run: JobInstance, found: Finding) -> None:
        try:
            matches = self.client.multi_matches(run.job_id, run.id)
        except AlmaRequestError as exc:
            found.answered = f"refused: {exc.code} {exc}"
            matches = None
        else:
            found.answered = f"{len(matches)} listed: " + "; ".join(
                f"{m.iz_mms_id} -> {', '.join(m.nz_mms_ids)}" for m in matches)
        listed = matches is not None and any(m.iz_mms_id == self.records.iz for m in matches)
        found.did.append(f"read GET /conf/jobs/{run.job_id}/instances/{run.id}/matches?population=MULTI_MATCHES")
        found.value = listed
        found.conclusion = "Alma lists a link job's multi-matches" if listed else "Alma does not list them for the link job"
        found.nzbot_now = ("stored, and shown by the doctor; the re-check after a job still reads the set's unlinked "
                           "members itself (reading this list instead is not built yet)" if listed
                           else "the re-check after a job goes on reading the set's unlinked members")

    def _single_key_is(self, run: JobInstance, kind: str, other: str) -> bool:
        """Whether the one counter at 1 of a one-member run is `kind`'s key rather than
        `other`'s (a key learned in this probe, or the defaults' guess)."""
        key = _one_key(run)
        kinds = {**COUNTER_KINDS, **self.learned_keys}
        if key is None:
            return False
        if kinds.get(key) in (kind, other):
            return kinds[key] == kind
        return other not in self.learned_keys.values()  # not the learned other key: assume kind

    def _learn_single_key(self, run: JobInstance, kind: str) -> None:
        key = _one_key(run)
        if key:
            self.learned_keys[key] = kind

    def _keys_seen(self, run: JobInstance, kind: str) -> dict[str, str]:
        self._learn_single_key(run, kind)
        return dict(self.learned_keys)

    def _undo_import(self, iz: str, nz: str, before: Record, found: Finding) -> None:
        self.client.unlink_from_nz(iz)
        _edit_iz(self.client, iz, lambda r: _marc_as(before, r))
        self.client.delete_nz_bib(nz)
        found.did.append(f"unlinked {iz}, put its MARC back and deleted NZ record {nz}")


def run_probe(probe: Probe) -> Iterator[Finding]:
    """Each experiment in turn: the contribute one first (its answer, imported or skipped,
    is read from the record itself, so it names a counter key for sure)."""
    if probe.records.contribute_iz:
        yield probe.contribute()
    yield from probe.token_multi_match()
    yield probe.other_system_024()
    yield probe.version_check_without_005()


def _one_key(run: JobInstance) -> str | None:
    at_one = [c.key for c in run.counters if c.value == 1]
    return at_one[0] if len(at_one) == 1 else None


def _counters(run: JobInstance) -> str:
    return ", ".join(f"{c.key} = {c.value}" for c in run.counters) or "none"


def _edit_iz(client: AlmaClient, mms_id: str, change: Callable[[Record], Record | None]) -> None:
    edit_record(lambda: client.get_bib(mms_id), lambda r: client.update_bib(mms_id, r),
                lambda bib: change(bib.marc()))


def _carries(record: Record, tag: str, value: str) -> bool:
    return any(value == v.strip() for f in record.get_fields(tag) for v in f.get_subfields("a"))


def _with(record: Record, tag: str, value: str) -> Record | None:
    if _carries(record, tag, value):
        return None
    indicators = ["8", " "] if tag == "024" else [" ", " "]  # 024 first indicator 8: unspecified kind
    record.add_ordered_field(Field(tag=tag, indicators=indicators, subfields=[Subfield("a", value)]))
    return record


def _without(record: Record, tag: str, value: str) -> Record | None:
    if not _carries(record, tag, value):
        return None
    for f in record.get_fields(tag):
        if value in (v.strip() for v in f.get_subfields("a")):
            record.remove_field(f)
    return record


def _marc_as(before: Record, now: Record) -> Record:
    """`before`'s fields with `now`'s 005 (so the version check compares the latest save)."""
    restored = Record(leader=before.leader)
    for f in before.get_fields():
        if f.tag != "005":
            restored.add_field(f)
    for f in now.get_fields("005"):
        restored.add_ordered_field(f)
    return restored
