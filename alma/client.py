"""The Alma REST and NZ SRU client nzbot uses. Thread-safe; one HTTP session.

Every method validates its input before sending anything, and returns the typed shapes
of alma.models. Alma's JSON quirks (string booleans, list wrappers, MARCXML strings in
`anies`) stop here.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
from contextlib import contextmanager
import xml.etree.ElementTree as ET
from datetime import date, datetime
from typing import Iterable, Iterator, Sequence
from xml.sax.saxutils import unescape

from pymarc import Field, Record, Subfield

from alma.calls import reading
from alma.config import JOB_ID, AlmaSettings
from alma.errors import (
    AlmaRequestError,
    AlmaServerError,
    BadInput,
    JobNotFound,
    JobStartUncertain,
    NotABibSet,
    NotSru,
    RecordChanged,
    RecordNotFound,
    SetNameTaken,
    SetNotFound,
    SruError,
    quoted,
)
from alma.http import AlmaHttp, body_excerpt
from alma.marc import (
    UnreadableRecord,
    record_from_element,
    record_from_xml,
    record_to_xml,
    strip_forbidden_characters,
    without_declaration,
)
from alma.models import (
    LINK_JOB_NAME,
    AlmaSet,
    Bib,
    Counter,
    Job,
    JobInstance,
    JobRun,
    LinkJobParameters,
    MultiMatch,
    SetMember,
    SruPage,
)

log = logging.getLogger(__name__)

API = "/almaws/v1"
BIBS_PER_CALL = 100  # Alma's limit for GET /bibs?mms_id=
MEMBERS_PER_PAGE = 100  # Alma's limit for set members
LIST_PAGE = 100  # Alma's largest page (limit) for the conf lists
MEMBERS_PER_UPDATE = 1000  # Alma's limit for add/replace members
SRU_PAGE = 50  # the usual SRU page; larger pages are not assumed to be honoured
# OCLC numbers OR-ed into one SRU query: ~60 URL characters each keeps the URL near 6 KB.
SRU_TERMS_PER_QUERY = 100

SRW_NS = "{http://www.loc.gov/zing/srw/}"  # SRU 1.2 (what Alma's /view/sru answers)
SRU2_NS = "{http://docs.oasis-open.org/ns/search-ws/sruResponse}"  # SRU 2.0 (OASIS)
SRU_NAMESPACES = (SRW_NS, SRU2_NS)
DIAG_NS = "{http://www.loc.gov/zing/srw/diagnostic/}"
DIAG_NAMESPACES = (DIAG_NS, "{http://docs.oasis-open.org/ns/search-ws/diagnostic}")

# ASCII digits only (\d would take other scripts' digits), matched whole (fullmatch: "$"
# would let a trailing newline through).
_MMS_ID = re.compile(r"[0-9]{6,25}")
_SET_ID = re.compile(r"[0-9]{1,25}")
# "Job no. 9563643080000561 triggered on ...": a run's answer names its instance here too.
_JOB_NO = re.compile(r"\bJob no\.?\s*([0-9]+)", re.IGNORECASE)

# The errorCodes that mean "no such thing" for each operation we call, as Alma's OpenAPI
# spec lists them (bibs.json, conf.json: each operation's 400 answer), with the error they
# become. Every other 400 (a key lacking a permission, a general error) stays what it is:
# never read as not found.
_NO_BIB = "There is no bib record with MMS ID {mms_id} in your institution zone."
_NO_SET = "There is no set with id {set_id}."
_NO_JOB = "There is no job {job_id} in Alma."
NOT_FOUND_CODES: dict[str, tuple[frozenset[str], type[AlmaRequestError], str]] = {
    # "402203 - Input parameters mmsId X is not valid."
    "GET /bibs/{mms_id}": (frozenset({"402203"}), RecordNotFound, _NO_BIB),
    "PUT /bibs/{mms_id}": (frozenset({"402203"}), RecordNotFound, _NO_BIB),
    # "60107 - Invalid set ID."
    "GET /conf/sets/{set_id}": (frozenset({"60107"}), SetNotFound, _NO_SET),
    "GET /conf/sets/{set_id}/members": (frozenset({"60107"}), SetNotFound, _NO_SET),
    "POST /conf/sets/{set_id}": (frozenset({"60107"}), SetNotFound, _NO_SET),
    # "402216 - Invalid job id.", "402218 - Invalid job instance id."
    "GET /conf/jobs/{job_id}": (frozenset({"402216"}), JobNotFound, _NO_JOB),
    "GET /conf/jobs/{job_id}/instances": (frozenset({"402216"}), JobNotFound, _NO_JOB),
    "GET /conf/jobs/{job_id}/instances/{instance_id}": (
        frozenset({"402216", "402218"}), JobNotFound,
        "There is no run {instance_id} of job {job_id} in Alma."),
}
SET_NAME_TAKEN = "402263"  # POST /conf/sets: "The set name already exists."
RECORD_CHANGED = "4022034"  # PUT /bibs/{mms_id}: "A newer version of this record exists in the repository."
MEMBER_ALREADY_IN_SET = "60115"  # POST /conf/sets/{set_id}: "A member ID is already in the set."



def check_mms_id(value: str) -> str:
    """An MMS ID is all digits (Alma's begin with 99); anything else is refused here."""
    value = (value or "").strip()
    if not _MMS_ID.fullmatch(value):
        raise BadInput(
            f"{quoted(value)} is not an MMS ID: an MMS ID is a long number made of digits only, "
            "such as 9949620601852."
        )
    return value


def check_mms_ids(values: Iterable[str]) -> list[str]:
    ids = [check_mms_id(v) for v in values]
    if not ids:
        raise BadInput("No MMS IDs were given.")
    return ids


def check_set_id(value: str) -> str:
    value = (value or "").strip()
    if not _SET_ID.fullmatch(value):
        raise BadInput(f"{quoted(value)} is not a set id: a set id is made of digits only.")
    return value


def check_job_id(value: str) -> str:
    value = (value or "").strip()
    if not JOB_ID.fullmatch(value):
        raise BadInput(f"{quoted(value)} is not an Alma job id (for example M85).")
    return value


class AlmaClient:
    def __init__(self, settings: AlmaSettings, http: AlmaHttp | None = None, nz: "AlmaClient | None" = None) -> None:
        self.settings = settings
        self.http = http or AlmaHttp(
            settings.api_key,
            requests_per_second=settings.requests_per_second,
            timeout_seconds=settings.timeout_seconds,
            max_retries=settings.max_retries,
            quota_floor=settings.quota_floor,
        )
        self.background = False
        self._link_job: Job | None = None
        # The Network Zone's own API, with its own key on the same gateway (the token route).
        # `nz`: one shared by every member IZ (consortium mode): the NZ's 25 calls/s are the NZ's.
        self._nz: AlmaClient | None = nz
        if nz is None and settings.nz_api_key:
            self._nz = AlmaClient(dataclasses.replace(settings, api_key=settings.nz_api_key, nz_api_key=""))

    @classmethod
    def from_env(cls) -> "AlmaClient":
        return cls(AlmaSettings.from_env())

    def for_background(self) -> "AlmaClient":
        """The same client (session, limiter, quota) for work nobody is waiting on:
        it stops when Alma's daily quota falls below the floor kept for people."""
        clone = copy.copy(self)
        clone.background = True
        return clone

    def close(self) -> None:
        self.http.close()
        if self._nz is not None:
            self._nz.close()

    # -- the Network Zone's own API (ALMA_NZ_API_KEY) ------------------------------------

    @property
    def has_nz_key(self) -> bool:
        return self._nz is not None

    def _nz_client(self) -> "AlmaClient":
        if self._nz is None:
            raise BadInput("ALMA_NZ_API_KEY is not set: nzbot cannot change NZ records.")
        return self._nz

    def get_nz_bib(self, nz_mms_id: str) -> Bib:
        """An NZ record as the NZ's own API gives it (the NZ key)."""
        try:
            return self._nz_client().get_bib(nz_mms_id)
        except RecordNotFound as exc:
            raise RecordNotFound(f"There is no NZ record with MMS ID {nz_mms_id} in the network zone "
                                 "(or ALMA_NZ_API_KEY is not the network zone's key).",
                                 status=exc.status, code=exc.code, tracking_id=exc.tracking_id) from exc

    def update_nz_bib(self, nz_mms_id: str, record: Record) -> Bib:
        """Replaces an NZ record's MARC with the NZ key (XML, as every bib update)."""
        return self._nz_client().update_bib(nz_mms_id, record)

    # -- plumbing ----------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.settings.api_url}{API}{path}"

    def _get(self, path: str, params: dict | None = None) -> dict:
        with missing("GET", path):
            return self._object(
                self.http.request("GET", self._url(path), params=params, background=self.background))

    def _object(self, response) -> dict:
        """The JSON object of a success answer; anything else is Alma misbehaving."""
        with reading():
            data = self.http.json(response)
        if not isinstance(data, dict):
            raise AlmaServerError(
                f"Alma answered HTTP {response.status_code} with JSON that is not an object: "
                f"{body_excerpt(response.text, limit=60)}.", status=response.status_code)
        return data

    def _list_page(self, path: str, key: str, params: dict, offset: int,
                   limit: int = LIST_PAGE) -> tuple[list[dict], int | None]:
        """One page of an Alma list: its items and total_record_count (None when missing).
        With no hits Alma sends {"total_record_count": 0} and no list key at all."""
        data = self._get(path, {**params, "limit": limit, "offset": offset})
        return as_list(data.get(key)), total_of(data)

    def _paged(self, path: str, key: str, params: dict, limit: int = LIST_PAGE,
               offset: int = 0) -> Iterator[dict]:
        """Every item of an Alma list from `offset` on, page after page: the one paging
        loop. It stops at total_record_count; when Alma leaves the total out, it goes on
        while pages come back full."""
        while True:
            items, total = self._list_page(path, key, params, offset, limit)
            yield from items
            offset += len(items)
            if not items or (offset >= total if total is not None else len(items) < limit):
                return

    def _get_one(self, path: str, not_found: type[AlmaRequestError], message: str) -> dict:
        """One object by id; Alma's "no such id" code for this call becomes `not_found`."""
        with missing("GET", path, not_found, message):
            return self._get(path)

    def _post(self, path: str, params: dict | None = None, body: object = None) -> dict:
        with missing("POST", path):
            response = self.http.request(
                "POST", self._url(path), params=params, json_body=body, background=self.background
            )
        return {} if response.status_code == 204 else self._object(response)

    # -- bibs --------------------------------------------------------------------------

    def get_bibs(self, mms_ids: Sequence[str], *, brief: bool = False, linked_marc: bool = True) -> list[Bib]:
        """The bibs that exist among `mms_ids`, 100 ids per call. `linked_marc=False`: a bib
        already linked to the NZ comes without its MARC read (record None), for the passes
        over a set that only count it as linked: after a link job most of a set is, and
        reading MARC was most of a consortium bot's CPU."""
        ids = check_mms_ids(mms_ids)
        bibs: list[Bib] = []
        for start in range(0, len(ids), BIBS_PER_CALL):
            chunk = ids[start : start + BIBS_PER_CALL]
            params = {"mms_id": ",".join(chunk), "view": "brief" if brief else "full"}
            data = self._get("/bibs", params)
            with reading():
                bibs.extend(bib_from_json(item, linked_marc) for item in as_list(data.get("bib")))
        return bibs

    def get_bib(self, mms_id: str) -> Bib:
        mms_id = check_mms_id(mms_id)
        return bib_from_json(self._get_one(
            f"/bibs/{mms_id}", RecordNotFound,
            f"There is no bib record with MMS ID {mms_id} in your institution zone."))

    def get_bib_linked_to(self, nz_mms_id: str) -> Bib | None:
        """The IZ bib linked to NZ record `nz_mms_id`, if any. (Not called yet: kept for
        verifying a link from the NZ side, when NZ duplicates are merged, issue 10.)"""
        data = self._get("/bibs", {"nz_mms_id": check_mms_id(nz_mms_id)})
        bibs = as_list(data.get("bib"))
        return bib_from_json(bibs[0]) if bibs else None

    def update_bib(self, mms_id: str, record: Record, *, version_check: bool | None = None) -> Bib:
        """Replaces the bib's MARC (Alma takes bib updates as XML only). Alma is asked to
        refuse the save if the record was saved by anyone since `record` was read (its 005
        is no longer the one stored): RecordChanged, and nobody's edit is overwritten.
        `version_check` None: asked when the record has a 005 (`nzbot probe` asks it of a
        record without one, to learn what Alma does then)."""
        mms_id = check_mms_id(mms_id)
        body = f"<bib>{record_to_xml(record)}</bib>"
        # a record with no 005 has no version to compare: saved as before (what Alma's
        # check makes of it is the fact "no_005_version_check", nzbot/facts.py)
        if version_check is None:
            version_check = bool(record.get_fields("005"))
        params = {"stale_version_check": "true"} if version_check else None
        with missing("PUT", f"/bibs/{mms_id}"):
            try:
                response = self.http.request(
                    "PUT",
                    self._url(f"/bibs/{mms_id}"),
                    params=params,
                    xml_body=body,
                    accept="application/xml",
                    background=self.background,
                )
            except AlmaRequestError as exc:
                if exc.code != RECORD_CHANGED:
                    raise
                raise RecordChanged(f"Record {mms_id} was saved in Alma by someone else meanwhile.",
                                    status=exc.status, code=exc.code, tracking_id=exc.tracking_id) from exc
        try:
            return bib_from_xml(response.text)
        except (ET.ParseError, ValueError):
            raise AlmaServerError(
                f"Alma answered the update of bib {mms_id} with HTTP {response.status_code} but not with a <bib>: "
                f"{body_excerpt(response.text, secrets=(self.settings.api_key,))}.",
                status=response.status_code) from None

    def unlink_from_nz(self, mms_id: str) -> Bib:
        """POST /bibs/{mms_id}?op=unlink_from_nz (XML only; bibs.json): the IZ record keeps
        the MARC it shows. Only `nzbot probe` calls it, to undo an import it caused."""
        mms_id = check_mms_id(mms_id)
        with missing("POST", f"/bibs/{mms_id}"):
            response = self.http.request("POST", self._url(f"/bibs/{mms_id}"), params={"op": "unlink_from_nz"},
                                         xml_body="<bib/>", background=self.background)
        return bib_from_json(self._object(response))

    def delete_nz_bib(self, nz_mms_id: str) -> None:
        """DELETE /bibs/{mms_id} with the NZ key (bibs.json): only `nzbot probe` calls it,
        for an NZ record its own experiment imported."""
        nz_mms_id = check_mms_id(nz_mms_id)
        nz = self._nz_client()
        with missing("DELETE", f"/bibs/{nz_mms_id}"):
            nz.http.request("DELETE", nz._url(f"/bibs/{nz_mms_id}"), background=self.background)

    # -- sets --------------------------------------------------------------------------

    def delete_set(self, set_id: str) -> None:
        """DELETE /conf/sets/{set_id} (conf.json): a set `nzbot probe` made for itself."""
        set_id = check_set_id(set_id)
        with missing("DELETE", f"/conf/sets/{set_id}"):
            self.http.request("DELETE", self._url(f"/conf/sets/{set_id}"), background=self.background)

    def get_set(self, set_id: str) -> AlmaSet:
        set_id = check_set_id(set_id)
        return set_from_json(self._get_one(
            f"/conf/sets/{set_id}", SetNotFound, f"There is no set with id {set_id}."))

    def find_sets(self, name: str) -> list[AlmaSet]:
        """Bib sets whose name contains `name` (Alma's q=name~ search)."""
        name = (name or "").strip()
        if not name:
            raise BadInput("Give a set id or a set name.")
        items = self._paged("/conf/sets", "set", {"q": f"name~{name}", "content_type": "BIB_MMS"})
        return [set_from_json(item) for item in items]

    def bib_sets_page(self, limit: int = LIST_PAGE) -> list[AlmaSet]:
        """The first `limit` bib sets Alma lists (one call, in Alma's order): for choosing
        one, where reading every set of an institution would cost a call per 100."""
        items, _ = self._list_page("/conf/sets", "set", {"content_type": "BIB_MMS"}, 0, min(limit, LIST_PAGE))
        return [set_from_json(item) for item in items]

    def find_set(self, id_or_name: str) -> AlmaSet:
        """A set by id (digits) or by exact name, refused unless it holds bib records."""
        value = (id_or_name or "").strip()
        if not value:
            raise BadInput("Give a set id or a set name.")
        if _SET_ID.fullmatch(value):
            found = self.get_set(value)
        else:
            exact = [s for s in self.find_sets(value) if s.name == value]
            if not exact:
                raise self._no_set_named(value)
            if len(exact) > 1:
                ids = ", ".join(s.id for s in exact)
                raise BadInput(f"More than one set is named {quoted(value, 80)} ({ids}): give the set id.")
            found = exact[0]
        if found.content != "BIB_MMS":
            raise not_a_bib_set(found)
        return found

    def _no_set_named(self, name: str) -> Exception:
        """Why no bib set has exactly this name, as nearly as Alma lets us say: a set of
        other records has it, or a bib set's name differs only in letter case. One more
        call (sets of any content), on this failure path only."""
        named = [set_from_json(i) for i in self._paged("/conf/sets", "set", {"q": f"name~{name}"})]
        same = [s for s in named if s.name == name]
        if same:
            return not_a_bib_set(same[0])
        close = [s for s in named if s.content == "BIB_MMS" and s.name.casefold() == name.casefold()]
        hint = f"; did you mean {quoted(close[0].name, 80)} ({close[0].id})?" if len(close) == 1 else "."
        return SetNotFound(f"There is no set named {quoted(name, 80)}{hint}")

    def set_members_page(self, set_id: str, offset: int = 0) -> tuple[list[SetMember], int | None]:
        """One page (up to 100) of a set's members and the set's total (None when Alma
        left total_record_count out)."""
        items, total = self._list_page(
            f"/conf/sets/{check_set_id(set_id)}/members", "member", {}, offset, MEMBERS_PER_PAGE)
        return [member_from_json(m) for m in items], total

    def set_members(self, set_id: str, offset: int = 0) -> Iterator[SetMember]:
        path = f"/conf/sets/{check_set_id(set_id)}/members"
        for item in self._paged(path, "member", {}, MEMBERS_PER_PAGE, offset):
            yield member_from_json(item)

    def create_set(self, name: str, members: Sequence[str] = (), description: str = "",
                   *, reuse: bool = False) -> AlmaSet:
        """An itemized set of bib records, filled with `members` (1,000 per call). Alma
        refuses a name another set has (SetNameTaken); with `reuse`, that set is taken
        instead and its members replaced: the retry of a creation a crash interrupted."""
        if not (name or "").strip():
            raise BadInput("A new set needs a name.")
        ids = list(dict.fromkeys(check_mms_id(m) for m in members))
        body = {
            "name": name,
            "description": description,
            "type": {"value": "ITEMIZED"},
            "content": {"value": "BIB_MMS"},
            "private": {"value": "false"},
            "status": {"value": "ACTIVE"},
        }
        try:
            created = set_from_json(self._post("/conf/sets", body=body))
        except AlmaRequestError as exc:
            if exc.code != SET_NAME_TAKEN:
                raise
            taken = SetNameTaken(f"A set named {quoted(name, 80)} exists already.", status=exc.status,
                                 code=exc.code, tracking_id=exc.tracking_id)
            same = [s for s in self.find_sets(name) if s.name == name] if reuse else []
            if len(same) != 1:  # not asked to reuse it, or not ours to: several, or gone
                raise taken from exc
            return self.replace_set_members(same[0].id, ids) if ids else same[0]
        if ids:
            created = self.add_set_members(created.id, ids)
        return created

    def add_set_members(self, set_id: str, mms_ids: Sequence[str]) -> AlmaSet:
        return self._change_members(set_id, mms_ids, first_op="add_members")

    def replace_set_members(self, set_id: str, mms_ids: Sequence[str]) -> AlmaSet:
        return self._change_members(set_id, mms_ids, first_op="replace_members")

    def _change_members(self, set_id: str, mms_ids: Sequence[str], first_op: str) -> AlmaSet:
        """Alma refuses a request naming a member twice (60119), and an added member the
        set has already (60115): ids are sent once each, and on 60115 (a retry after a
        crash) the set's members are read and only the missing ones added."""
        set_id = check_set_id(set_id)
        ids = list(dict.fromkeys(check_mms_ids(mms_ids)))
        result: AlmaSet | None = None
        for start in range(0, len(ids), MEMBERS_PER_UPDATE):
            chunk = ids[start : start + MEMBERS_PER_UPDATE]
            op = first_op if start == 0 else "add_members"
            try:
                result = self._post_members(set_id, op, chunk)
            except AlmaRequestError as exc:
                if exc.code != MEMBER_ALREADY_IN_SET or op != "add_members":
                    raise
                have = {m.id for m in self.set_members(set_id)}
                rest = [i for i in chunk if i not in have]
                result = self._post_members(set_id, op, rest) if rest else self.get_set(set_id)
        assert result is not None
        return result

    def _post_members(self, set_id: str, op: str, ids: list[str]) -> AlmaSet:
        body = {"id": set_id, "members": {"member": [{"id": i} for i in ids]}}
        return set_from_json(
            self._post(f"/conf/sets/{set_id}", {"op": op, "fail_on_invalid_id": "false"}, body)
        )

    # -- jobs --------------------------------------------------------------------------

    def list_jobs(self, job_type: str = "MANUAL") -> list[Job]:
        return [job_from_json(item) for item in self._paged("/conf/jobs", "job", {"type": job_type})]

    def find_link_job(self) -> Job:
        """The 'Link a set of records to the Network Zone' job: from ALMA_LINK_JOB_ID, or
        found by name among the manual jobs (its id differs per installation)."""
        if self._link_job is None:
            if self.settings.link_job_id:
                job_id = check_job_id(self.settings.link_job_id)
                self._link_job = job_from_json(self._get(f"/conf/jobs/{job_id}"))
            else:
                named = [j for j in self.list_jobs() if j.name.strip() == LINK_JOB_NAME]
                if not named:
                    raise AlmaRequestError(
                        f"No manual job named {LINK_JOB_NAME!r} was found in Alma: set "
                        "ALMA_LINK_JOB_ID to its job id, or check the API key's permissions."
                    )
                self._link_job = named[0]
        return self._link_job

    def run_job(self, job_id: str, parameters: dict[str, str]) -> JobRun:
        job_id = check_job_id(job_id)
        body = {"parameter": [{"name": {"value": k}, "value": v} for k, v in parameters.items()]}
        data = self._post(f"/conf/jobs/{job_id}", {"op": "run"}, body)
        instance_id = run_instance_id(data)
        if not instance_id:
            raise JobStartUncertain(
                f"Alma accepted a run of job {job_id} but did not say which run it is; "
                "nzbot looks for it among the job's runs.")
        return JobRun(job_id=job_id, instance_id=instance_id)

    def run_link_job(self, parameters: LinkJobParameters) -> JobRun:
        check_set_id(parameters.set_id)
        return self.run_job(self.find_link_job().id, parameters.as_alma_parameters())

    def get_job_instance(self, job_id: str, instance_id: str) -> JobInstance:
        job_id = check_job_id(job_id)
        instance_id = check_set_id(instance_id)
        return instance_from_json(self._get(f"/conf/jobs/{job_id}/instances/{instance_id}"), job_id)

    def multi_matches(self, job_id: str, instance_id: str) -> list[MultiMatch]:
        """A run's multi-matches from GET .../instances/{iid}/matches?population=MULTI_MATCHES
        (conf.json documents it for import jobs: match[] with incoming_record_id and mms_ids
        "a, b"); whether it answers for the link job is what `nzbot probe` learns."""
        path = f"/conf/jobs/{check_job_id(job_id)}/instances/{check_set_id(instance_id)}/matches"
        items = list(self._paged(path, "match", {"population": "MULTI_MATCHES"}))
        return [MultiMatch(str(m.get("incoming_record_id") or ""),
                           tuple(i.strip() for i in str(m.get("mms_ids") or "").split(",") if i.strip()))
                for m in items]

    def list_job_instances(self, job_id: str, since: date | datetime) -> list[JobInstance]:
        """Runs of a job submitted on or after the day of `since` (Alma filters by day)."""
        job_id = check_job_id(job_id)
        day = since.date() if isinstance(since, datetime) else since
        items = self._paged(f"/conf/jobs/{job_id}/instances", "job_instance",
                            {"submit_date_from": day.isoformat()})
        return [instance_from_json(item, job_id) for item in items]

    # -- the NZ's SRU endpoint ---------------------------------------------------------

    def sru_page(self, query: str, start: int = 1, maximum: int = SRU_PAGE) -> SruPage:
        if not self.settings.nz_sru_url:
            raise BadInput("ALMA_NZ_SRU_URL is not set: give the SRU address of your network zone.")
        params = {
            "version": "1.2",
            "operation": "searchRetrieve",
            "recordSchema": "marcxml",
            "query": query,
            "startRecord": start,
            "maximumRecords": maximum,
        }
        try:
            response = self.http.request(
                "GET",
                self.settings.nz_sru_url,
                params=params,
                accept="application/xml",
                background=self.background,
                authorized=False,  # SRU is public; the API key stays with the API
            )
        except AlmaRequestError as exc:  # a 4xx at the SRU address: the address is wrong
            raise NotSru(
                f"The NZ's SRU address {self.settings.nz_sru_url} did not answer with SRU: "
                f"{exc.message.removeprefix('Alma answered ')} Check ALMA_NZ_SRU_URL: "
                "https://<your Alma host>/view/sru/<NZ code>.", status=exc.status) from exc
        with reading():
            return sru_page_from_xml(response.content, self.settings.nz_sru_url)

    def sru_search(self, query: str) -> Iterator[Record]:
        """Every record answering `query`, page after page until numberOfRecords."""
        start = 1
        while True:
            page = self.sru_page(query, start)
            yield from page.records
            # Records neither parsed nor read leniently still took a place on the page.
            read = len(page.records) + sum(1 for u in page.unreadable if u == "unknown")
            start += read
            if not read or start > page.number_of_records:
                return

    def oclc_queries(self, oclc_numbers: Iterable[str]) -> list[str]:
        """CQL queries OR-ing the OCLC numbers, SRU_TERMS_PER_QUERY to a query."""
        index = self.settings.sru_oclc_index
        numbers = list(dict.fromkeys(n for n in oclc_numbers if n))
        return [
            " OR ".join(f"{index}=(OCoLC){n}" for n in numbers[i : i + SRU_TERMS_PER_QUERY])
            for i in range(0, len(numbers), SRU_TERMS_PER_QUERY)
        ]

    def nz_records_with_oclc(self, oclc_numbers: Iterable[str]) -> Iterator[Record]:
        """NZ records carrying any of the (normalised) OCLC numbers, in 035 $a or $z."""
        for query in self.oclc_queries(oclc_numbers):
            yield from self.sru_search(query)


_ID_AFTER = {"bibs": "mms_id", "sets": "set_id", "jobs": "job_id", "instances": "instance_id"}


def operation(method: str, path: str) -> tuple[str, dict[str, str]]:
    """('GET /conf/sets/{set_id}', {'set_id': '123'}) for GET /conf/sets/123: the spec's
    name of the call, and the ids in its path."""
    parts = path.split("?", 1)[0].rstrip("/").split("/")
    ids = {_ID_AFTER[before]: part for before, part in zip([""] + parts, parts)
           if before in _ID_AFTER and part}
    named = ["{" + _ID_AFTER[before] + "}" if before in _ID_AFTER and part else part
             for before, part in zip([""] + parts, parts)]
    return f"{method.upper()} " + "/".join(named), ids


@contextmanager
def missing(method: str, path: str, not_found: type[AlmaRequestError] | None = None,
            message: str | None = None):
    """Turns Alma's "no such id" codes for this call (NOT_FOUND_CODES) into its error (or
    `not_found` with `message`); every other error passes as it came."""
    try:
        yield
    except AlmaRequestError as exc:
        name, ids = operation(method, path)
        codes, error, text = NOT_FOUND_CODES.get(name, (frozenset(), AlmaRequestError, ""))
        if exc.code in codes:
            raise (not_found or error)(message or text.format(**ids), status=exc.status,
                                       code=exc.code, tracking_id=exc.tracking_id) from exc
        raise


# -- Alma JSON and XML to models ---------------------------------------------------------


def run_instance_id(data: dict) -> str:
    """The instance a run's answer names: additional_info.link (".../instances/N"), else
    the "Job no. N triggered on ..." text of additional_info.value; "" when neither."""
    info = data.get("additional_info") or {}
    if isinstance(info, str):
        info = {"value": info}
    link = str(info.get("link") or "")
    if "/instances/" in link:
        found = link.rstrip("/").rsplit("/", 1)[-1]
        if _SET_ID.fullmatch(found):
            return found
    number = _JOB_NO.search(str(info.get("value") or ""))
    return number.group(1) if number else ""


def as_list(value: object) -> list:
    """Alma gives a list, a single object, or nothing, depending on the count."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def as_int(value: object, default: int = 0) -> int:
    if isinstance(value, dict):
        value = value.get("value")
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def as_percent(value: object) -> int:
    """A job's progress, whole or with decimals ("50.776" -> 50), within 0-100."""
    if isinstance(value, dict):
        value = value.get("value")
    try:
        return max(0, min(100, int(float(str(value).strip()))))
    except (TypeError, ValueError, OverflowError):
        return 0


def total_of(data: dict) -> int | None:
    """A list's total_record_count, or None when the answer has none (then the client
    pages on while pages come back full)."""
    value = data.get("total_record_count") if isinstance(data, dict) else None
    return None if value is None or value == "" else as_int(value)


def member_from_json(data: dict) -> SetMember:
    return SetMember(id=str(data.get("id", "")), description=str(data.get("description") or ""))


def value_of(node: object) -> str:
    """Alma's {"value": .., "desc": ..} objects, or a plain string."""
    if isinstance(node, dict):
        return str(node.get("value") or "")
    return "" if node is None else str(node)


def bib_from_json(data: dict, linked_marc: bool = True) -> Bib:
    """A bib from Alma's JSON; `linked_marc=False` leaves a linked bib's MARC unread."""
    linked = data.get("linked_record_id")
    linked_id = None
    if isinstance(linked, dict) and linked.get("value") and (linked.get("type") or "NZ") == "NZ":
        linked_id = str(linked["value"]).strip() or None
    elif isinstance(linked, str) and linked.strip():
        linked_id = linked.strip()
    anies = as_list(data.get("anies"))
    mms_id = str(data.get("mms_id", ""))
    record, unreadable = None, None
    if anies and anies[0] and (linked_marc or not linked_id):
        try:
            record = record_from_xml(str(anies[0]))
        except UnreadableRecord as exc:
            # One broken record must not sink its batch: it travels as unreadable.
            unreadable = str(exc)
            log.warning("bib %s: its MARC cannot be read: %s", mms_id, unreadable)
    return Bib(
        mms_id=mms_id,
        title=str(data.get("title") or ""),
        linked_nz_mms_id=linked_id,
        record=record,
        network_numbers=tuple(str(n) for n in as_list(data.get("network_number"))),
        unreadable=unreadable,
    )


def bib_from_xml(text: str) -> Bib:
    """A <bib> from Alma's XML: ET.ParseError when it is not XML, ValueError when it is
    XML but not a <bib>."""
    root = ET.fromstring(text)
    if root.tag != "bib":
        raise ValueError(f"<{root.tag}> is not a <bib>")
    linked = root.find("linked_record_id")
    linked_id = (linked.text or "").strip() if linked is not None else ""
    if linked is not None and linked.get("type", "NZ") not in ("NZ", ""):
        linked_id = ""
    record_el = root.find("record")
    return Bib(
        mms_id=(root.findtext("mms_id") or "").strip(),
        title=(root.findtext("title") or "").strip(),
        linked_nz_mms_id=linked_id or None,
        record=record_from_element(record_el) if record_el is not None else None,
        network_numbers=tuple(
            (n.text or "").strip() for n in root.iter("network_number") if n.text
        ),
    )


def set_from_json(data: dict) -> AlmaSet:
    return AlmaSet(
        id=str(data.get("id", "")),
        name=str(data.get("name") or ""),
        type=value_of(data.get("type")),
        content=value_of(data.get("content")),
        number_of_members=as_int(data.get("number_of_members")),
        description=str(data.get("description") or ""),
    )


def job_from_json(data: dict) -> Job:
    return Job(
        id=str(data.get("id", "")),
        name=str(data.get("name") or ""),
        type=value_of(data.get("type")) or "MANUAL",
    )


def instance_from_json(data: dict, job_id: str) -> JobInstance:
    status = data.get("status") or {}
    counters = tuple(
        Counter(
            key=value_of(c.get("type")),
            desc=str((c.get("type") or {}).get("desc") or "") if isinstance(c.get("type"), dict) else "",
            value=as_int(c.get("value")),
        )
        for c in as_list(data.get("counter"))
    )
    alerts = tuple(
        str(a.get("desc") or a.get("value") or "") if isinstance(a, dict) else str(a)
        for a in as_list(data.get("alert"))
    )
    job_info = data.get("job_info") or {}
    return JobInstance(
        id=str(data.get("id", "")),
        job_id=str(job_info.get("id") or job_id),
        status=value_of(status),
        status_desc=str(status.get("desc") or "") if isinstance(status, dict) else "",
        progress=as_percent(data.get("progress")),
        name=str(data.get("name") or ""),
        submitted_by=value_of(data.get("submitted_by")),
        submit_time=str(data.get("submit_time") or ""),
        start_time=str(data.get("start_time") or ""),
        end_time=str(data.get("end_time") or ""),
        counters=counters,
        alerts=alerts,
    )


def sru_page_from_xml(content: bytes, url: str = "the SRU address") -> SruPage:
    """One searchRetrieveResponse (SRU 1.2 or 2.0). A 200 that is not one (a sign-in page
    from a wrong ALMA_NZ_SRU_URL) is NotSru naming the URL, never "0 records"; a
    diagnostic in either version's namespace is an SruError; a record that cannot be parsed
    does not sink the page: it is read leniently and named in `unreadable`."""
    unreadable: list[str] = []
    try:
        root = ET.fromstring(content)
        chunks: list[str] | None = None
    except ET.ParseError:
        root, chunks = _envelope_without_records(content, url)
    ns = _namespace(root.tag)
    if _local_name(root.tag) != "searchRetrieveResponse" or ns not in SRU_NAMESPACES:
        raise not_sru(url, content)
    for diag_ns in DIAG_NAMESPACES:
        diagnostic = root.find(f".//{diag_ns}diagnostic")
        if diagnostic is not None:
            message = diagnostic.findtext(f"{diag_ns}message") or "SRU error"
            details = diagnostic.findtext(f"{diag_ns}details") or ""
            uri = diagnostic.findtext(f"{diag_ns}uri") or ""
            raise SruError(f"The NZ search failed: {message}" + (f" ({details})" if details else ""),
                           code=uri or None)
    total = as_int(root.findtext(f"{ns}numberOfRecords"))
    records = []
    if chunks is None:
        for data in root.iter(f"{ns}recordData"):
            marc = next((e for e in data if _local_name(e.tag) == "record"), None)
            if marc is not None:
                records.append(record_from_element(marc))
    else:
        for chunk in chunks:
            record, broken = _nz_record_from_text(chunk)
            if record is not None:
                records.append(record)
            if broken:
                unreadable.append(broken)
    next_position = root.findtext(f"{ns}nextRecordPosition")
    return SruPage(
        number_of_records=total,
        records=tuple(records),
        next_record_position=as_int(next_position) if next_position else None,
        unreadable=tuple(unreadable),
    )


_RECORD_DATA = re.compile(r"(<((?:[\w.-]+:)?recordData)\b[^>]*>)(.*?)(</\2\s*>)", re.DOTALL)
_CONTROL_001 = re.compile(r'<(?:[\w.-]+:)?controlfield[^>]*tag="001"[^>]*>\s*([^<\s]+)')
_DATAFIELD = re.compile(
    r'<(?:[\w.-]+:)?datafield\b[^>]*\btag="(035|245)"[^>]*>(.*?)</(?:[\w.-]+:)?datafield\s*>', re.DOTALL)
_SUBFIELD = re.compile(r'<(?:[\w.-]+:)?subfield\b[^>]*\bcode="(\w)"[^>]*>([^<]*)</(?:[\w.-]+:)?subfield\s*>')


def _envelope_without_records(content: bytes, url: str) -> tuple[ET.Element, list[str]]:
    """When a page does not parse as a whole, one record is usually to blame: parse the
    envelope with each recordData emptied, and each record on its own."""
    text = content.decode("utf-8", errors="replace")
    chunks = [m.group(3) for m in _RECORD_DATA.finditer(text)]
    envelope = _RECORD_DATA.sub(lambda m: m.group(1) + m.group(4), text)
    try:
        return ET.fromstring(without_declaration(envelope)), chunks
    except ET.ParseError:
        raise not_sru(url, content) from None


def _nz_record_from_text(chunk: str) -> tuple[Record | None, str | None]:
    """An NZ record from its recordData text, and its MMS ID when it could not be parsed.

    NZ records are only read, never written back, so dropping a control character cannot
    change what we send to Alma. A record broken past that is read leniently for its 001,
    035s and 245: Alma's link job matches on its own database, not on this XML, so leaving
    the record out would predict "no NZ match" and invite a duplicate."""
    if not chunk.strip():
        return None, None
    for text in (chunk, strip_forbidden_characters(chunk)):
        try:
            return record_from_xml(text), None
        except UnreadableRecord:
            continue
    found = _CONTROL_001.search(chunk)
    mms_id = found.group(1) if found else None
    log.warning("NZ record %s in an SRU answer is broken MARCXML; read for its 001 and 035s only",
                mms_id or "(no 001)")
    if mms_id is None:
        return None, "unknown"
    record = Record()
    record.add_field(Field(tag="001", data=mms_id))
    for tag, inner in _DATAFIELD.findall(strip_forbidden_characters(chunk)):
        subfields = [Subfield(code, unescape(value)) for code, value in _SUBFIELD.findall(inner)]
        if subfields:
            record.add_ordered_field(Field(tag=tag, indicators=[" ", " "], subfields=subfields))
    return record, mms_id


def not_a_bib_set(found: AlmaSet) -> NotABibSet:
    return NotABibSet(
        f"Set {found.name!r} ({found.id}) holds {found.content or 'unknown'} records, "
        "not bib records (All Titles): the link job needs a set of bib records."
    )


def not_sru(url: str, content: bytes) -> NotSru:
    return NotSru(
        f"The NZ's SRU address {url} did not answer with SRU (no searchRetrieveResponse); it sent "
        f"{body_excerpt(content.decode('utf-8', errors='replace'), limit=80)}. Check ALMA_NZ_SRU_URL: "
        "https://<your Alma host>/view/sru/<NZ code>."
    )


def _namespace(tag: str) -> str:
    return tag[: tag.index("}") + 1] if tag.startswith("{") else ""


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
