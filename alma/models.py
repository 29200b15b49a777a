"""The shapes the Alma client hands to the rest of nzbot: plain, typed, read-only."""

from __future__ import annotations

from dataclasses import dataclass

from pymarc import Record

from alma.errors import RecordUnreadable

# The job's display name in Alma; its id differs per installation (M85 is seen in the wild).
LINK_JOB_NAME = "Link a set of records to the Network Zone"

# Match profiles the link job accepts (seen in working code; docs/alma.md, "Linking to the NZ").
UNIQUE_OCLC_PROFILE = "com.exlibris.repository.mms.match.uniqueOCLC"
OTHER_SYSTEM_PROFILE = "com.exlibris.repository.mms.match.OtherSystemOrStandardNumberMatchProfile"
OTHER_SYSTEM_SERIAL_PROFILE = (
    "com.exlibris.repository.mms.match.OtherSystemOrStandardNumberSerialMatchProfile"
)

# Job instance statuses after which nothing more will happen.
FINISHED_STATUSES = frozenset(
    {
        "COMPLETED_SUCCESS",
        "COMPLETED_WARNING",
        "COMPLETED_FAILED",
        "COMPLETED_NO_BULKS",
        "FAILED",
        "MANUAL_HANDLING_REQUIRED",
        "SKIPPED",
        "SYSTEM_ABORTED",
        "USER_ABORTED",
    }
)


@dataclass(frozen=True)
class Bib:
    """One bib record as Alma returns it."""

    mms_id: str
    title: str
    linked_nz_mms_id: str | None
    record: Record | None  # None when fetched with view=brief, or unreadable
    network_numbers: tuple[str, ...] = ()
    unreadable: str | None = None  # why its MARC could not be parsed (record is None then)

    def marc(self) -> Record:
        """The MARC record, to change it; a clear error when Alma's copy cannot be read."""
        if self.record is None:
            raise RecordUnreadable(unreadable_message(self.mms_id, self.unreadable))
        return self.record


def unreadable_message(mms_id: str, reason: str | None) -> str:
    """What a cataloger is told about an IZ record whose MARC cannot be read."""
    why = f" ({reason})" if reason else ""
    return (f"The IZ record {mms_id} can't be read: its MARC is broken{why}. Open it in the "
            "Metadata Editor, correct it (often a stray control character), save, and try again.")


@dataclass(frozen=True)
class AlmaSet:
    id: str
    name: str
    type: str  # ITEMIZED or LOGICAL
    content: str  # BIB_MMS for bib records
    number_of_members: int
    description: str = ""


@dataclass(frozen=True)
class SetMember:
    id: str
    description: str = ""


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    type: str = "MANUAL"


@dataclass(frozen=True)
class Counter:
    key: str  # Alma's counter type value
    desc: str  # Alma's description of it
    value: int


@dataclass(frozen=True)
class JobInstance:
    id: str
    job_id: str
    status: str
    status_desc: str = ""
    progress: int = 0
    name: str = ""
    submitted_by: str = ""
    submit_time: str = ""
    start_time: str = ""
    end_time: str = ""
    counters: tuple[Counter, ...] = ()
    alerts: tuple[str, ...] = ()  # Alma's alert descriptions

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


@dataclass(frozen=True)
class LinkJobParameters:
    """What the link job is run with. Defaults follow the consortium's guidance."""

    set_id: str
    contribute: bool = False
    # Unique OCLC by default; the 035 "other system number" profile matches on `prefix`.
    non_serial_match_profile: str = UNIQUE_OCLC_PROFILE
    serial_match_profile: str = UNIQUE_OCLC_PROFILE
    match_prefix: str = ""
    ignore_resource_type: bool = False
    job_name: str | None = None

    @classmethod
    def other_system_number(cls, set_id: str, prefix: str, **kwargs) -> "LinkJobParameters":
        return cls(
            set_id=set_id,
            non_serial_match_profile=OTHER_SYSTEM_PROFILE,
            serial_match_profile=OTHER_SYSTEM_SERIAL_PROFILE,
            match_prefix=prefix,
            **kwargs,
        )

    def as_alma_parameters(self) -> dict[str, str]:
        params = {
            "set_id": self.set_id,
            "non_serial_match_profile": self.non_serial_match_profile,
            "serial_match_profile": self.serial_match_profile,
            "non_serial_match_prefix": self.match_prefix,
            "serial_match_prefix": self.match_prefix,
            "ignoreResourceType": "true" if self.ignore_resource_type else "false",
            "contribute_nz": "true" if self.contribute else "false",
        }
        if self.job_name:
            params["job_name"] = self.job_name
        return params


@dataclass(frozen=True)
class SruPage:
    """One page of an SRU searchRetrieve answer."""

    number_of_records: int
    records: tuple[Record, ...]
    next_record_position: int | None = None
    # MMS IDs of records whose MARC is broken (read for 001/035/245 only), "unknown" for
    # one without a readable 001 (left out)
    unreadable: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobRun:
    """A run of a job that Alma accepted: the instance to follow."""

    job_id: str
    instance_id: str


@dataclass(frozen=True)
class MultiMatch:
    """One record of a run's MULTI_MATCHES list: the IZ record and the NZ records it matched."""

    iz_mms_id: str
    nz_mms_ids: tuple[str, ...]
