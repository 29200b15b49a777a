"""Alma's payload shapes: error bodies, bibs, sets, jobs and job instances, JSON and XML.

Error codes are those Alma's OpenAPI spec lists for each operation; the few that are the
simulator's own picks say so, and live only here.
"""

from __future__ import annotations

import json
import random
import string
import time
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:
    from .state import IzBib, JobDefinition, JobRun, State, StoredSet

# ---- error codes --------------------------------------------------------------------------
# The errorCodes Alma's OpenAPI spec lists for each operation (bibs.json, conf.json, under
# each operation's 400 answer), quoted; the few that are the simulator's own picks say so.
UNAUTHORIZED = "UNAUTHORIZED"  # Alma: a key lacking a permission (HTTP 400, XML body)
PER_SECOND_THRESHOLD = "PER_SECOND_THRESHOLD"  # Alma, HTTP 429
DAILY_THRESHOLD = "DAILY_THRESHOLD"  # Alma, HTTP 429
# bibs
BIBS_GENERAL_ERROR = "401652"  # "General Error - An error has occurred while processing the request."
MMS_ID_NOT_VALID = "402203"  # GET/PUT /bibs/{mms_id}: "Input parameters mmsId X is not valid."
MMS_ID_NOT_NUMERIC = "402204"  # "Input parameters mmsId X is not numeric."
CATALOGER_LEVEL_TOO_LOW = "4022041"  # PUT /bibs/{mms_id}: "Cannot update this record due to insufficient cataloger level privileges."
NEWER_VERSION_EXISTS = "4022034"  # PUT /bibs/{mms_id}: "A newer version of this record exists in the repository."
MMS_ID_LIST_NOT_VALID = "402203"  # GET /bibs: "Input parameter mmsId list is not valid." (>100 ids)
DELETE_BIB_ERROR = "4022020"  # DELETE /bibs/{mms_id}: "Delete Bib error."
JSON_NOT_SUPPORTED = "60105"  # PUT/POST /bibs/{mms_id}: "JSON is not supported for this API."
# sets
SETS_GENERAL_ERROR = "402119"  # POST /conf/sets: "General Error - ..."
SET_TYPE_NOT_VALID = "402262"  # "Set type is invalid. Only 'ITEMIZED' and 'LOGICAL' ..."
SET_NAME_EXISTS = "402263"  # "The set name already exists. Please choose a different name."
SET_NOT_FOUND = "60107"  # GET/POST /conf/sets/{set_id}: "Invalid set ID."
SET_ID_NOT_VALID = "402264"  # DELETE /conf/sets/{set_id}: "Invalid Set ID."
QUERY_NOT_VALID = "60106"  # GET /conf/sets: "Invalid query format."
PARAMETER_NOT_VALID = "40166410"  # GET /conf/sets, /conf/jobs...: "Parameter value invalid."
SET_OPERATION_NOT_VALID = "60111"  # POST /conf/sets/{set_id}: "Invalid operation."
SET_TYPE_NOT_ITEMIZED = "60112"  # "Invalid set type."
MEMBER_IN_SET = "60115"  # "A member ID is already in the set."
INVALID_MEMBER = "60116"  # "A member ID is not valid for the content." (fail_on_invalid_id)
TOO_MANY_MEMBERS = "60118"  # "Input set member list exceeds limit."
DUPLICATE_MEMBER = "60119"  # "Input set with duplicate member."
# jobs
JOBS_GENERAL_ERROR = "402119"  # GET .../instances/{iid}/matches: "General error."
JOB_NOT_FOUND = "402216"  # "Invalid job id."
DATE_NOT_VALID = "402217"  # GET .../instances: "Invalid date format."
INSTANCE_NOT_FOUND = "402218"  # "Invalid job instance id."
OPERATION_MISSING = "402220"  # POST /conf/jobs/{job_id}: "Operation was not provided."
OPERATION_NOT_SUPPORTED = "402221"  # "Operation is not supported."
# "402222/402223 - Execution threshold reached": which is the 3-running-jobs limit and which
# the 5-runs-an-hour one is unconfirmed; the simulator's split is its own.
JOB_CONCURRENCY_LIMIT = "402222"
JOB_HOURLY_LIMIT = "402223"
JOB_OVERLAPS = "60347"  # "Job overlapps with running job - cannot execute." (sic)
JOB_MISSING_PARAMETER = "402228"  # "Mandatory parameter is missing from input."
JOB_INVALID_PARAMETER = "402229"  # "Mandatory parameter value is empty." (also: not valid)
NOT_FOUND = "404"  # simulator's pick: unknown path
SERVER_ERROR = "INTERNAL_SERVER_ERROR"  # fault injection

WSR_NS = "http://com/exlibris/urm/general/xmlbeans"


def tracking_id() -> str:
    letters = "".join(random.choices(string.ascii_uppercase + string.digits, k=5))
    return f"E01-{time.strftime('%d%H%M%S')}-{letters}-AWAE{random.randint(10**8, 10**10)}"


def error_json(code: str, message: str) -> bytes:
    body = {
        "errorsExist": True,
        "errorList": {
            "error": [{"errorCode": code, "errorMessage": message, "trackingId": tracking_id()}]
        },
        "result": None,
    }
    return json.dumps(body).encode()


def error_xml(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<web_service_result xmlns="{WSR_NS}"><errorsExist>true</errorsExist><errorList>'
        f"<error><errorCode>{escape(code)}</errorCode><errorMessage>{escape(message)}"
        f"</errorMessage><trackingId>{tracking_id()}</trackingId></error></errorList>"
        "</web_service_result>"
    ).encode()


# ---- bibs -----------------------------------------------------------------------------------
# How every real bib's `anies` string opens (seen in Alma JSON from several institutions).
ANIES_DECLARATION = '<?xml version="1.0" encoding="UTF-16"?>'


def _brief_level(leader: str) -> str:
    # Encoding level (Leader/17): blank = full, 7/K = minimal, others in between.
    level = leader[17] if len(leader) > 17 else " "
    return {" ": "10", "1": "09", "4": "07", "7": "03", "K": "03", "8": "01"}.get(level, "05")


def bib_json(state: "State", bib: "IzBib", base: str, *, brief: bool = False) -> dict[str, Any]:
    """One bib as Alma's JSON. Unlinked records get linked_record_id {"value":"","type":""}."""
    marc = state.shown_marc(bib)
    # network_number: all 035 $a/$z values, flat, as Alma lists them (EXLNZ one included).
    network = [v for _, v in marc.ids_035]
    level = _brief_level(marc.leader)
    out: dict[str, Any] = {
        "mms_id": bib.mms_id,
        "record_format": "marc21",
        "linked_record_id": (
            {"value": bib.linked_nz_id, "type": "NZ"}
            if bib.linked_nz_id
            else {"value": "", "type": ""}
        ),
        "title": marc.title,
        "author": marc.author,
        "network_number": network,
        "holdings": {"link": f"{base}/almaws/v1/bibs/{bib.mms_id}/holdings"},
        "created_by": "import",
        "created_date": bib.created_date,
        "last_modified_by": "System",
        "last_modified_date": bib.created_date,
        "suppress_from_publishing": "true" if bib.suppressed else "false",
        "suppress_from_external_search": "false",
        "suppress_from_metadoor": "false",
        "sync_with_oclc": "NONE",
        "sync_with_libraries_australia": "NONE",
        "originating_system": "OCLC" if any("(OCoLC)" in v for v in network) else "ILS",
        "brief_level": {"value": level, "desc": level},
        "link": f"{base}/almaws/v1/bibs/{bib.mms_id}",
    }
    if not brief:
        # Real Alma declares UTF-16 on a str it sends as UTF-8 JSON (docs/alma.md,
        # "How real Alma answers"): the simulator does too, so every client read copes with it.
        out["anies"] = [ANIES_DECLARATION + marc.xml]
    return out


def bib_xml(bib: dict[str, Any]) -> str:
    """The <bib> XML form of bib_json's dict, with the MARC <record> inline."""
    parts = ["<bib>"]
    for key, value in bib.items():
        if key == "anies":  # inline in XML: no declaration inside the <bib>
            parts.extend(v.removeprefix(ANIES_DECLARATION) for v in value)
        elif key == "linked_record_id":
            if value.get("value"):
                parts.append(f'<linked_record_id type="NZ">{escape(value["value"])}</linked_record_id>')
            else:
                parts.append("<linked_record_id/>")
        elif key == "network_number":
            items = "".join(f"<network_number>{escape(v)}</network_number>" for v in value)
            parts.append(f"<network_numbers>{items}</network_numbers>")
        elif key == "link":
            continue  # becomes an attribute below
        else:
            parts.append(_element(key, value))
    parts.append("</bib>")
    xml = "".join(parts)
    return xml.replace("<bib>", f'<bib link={quoteattr(bib["link"])}>', 1)


# ---- sets -----------------------------------------------------------------------------------
CONTENT_DESC = {"BIB_MMS": "All Titles", "ITEM": "Physical items", "IEP": "Physical titles"}
TYPE_DESC = {"ITEMIZED": "Itemized", "LOGICAL": "Logical"}


def set_json(s: "StoredSet", base: str) -> dict[str, Any]:
    link = f"{base}/almaws/v1/conf/sets/{s.id}"
    out: dict[str, Any] = {
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "type": {"value": s.type, "desc": TYPE_DESC.get(s.type, s.type)},
        "content": {"value": s.content, "desc": CONTENT_DESC.get(s.content, s.content)},
        "private": {"value": "false", "desc": "No"},
        "status": {"value": "ACTIVE", "desc": "Active"},
        "origin": {"value": "UI", "desc": "Institution only"},
        "status_date": s.created_date,
        "created_by": {"value": s.created_by, "desc": s.created_by},
        "created_date": s.created_date,
        "number_of_members": {"value": len(s.members), "link": f"{link}/members"},
        "link": link,
    }
    if s.type == "LOGICAL":
        out["query"] = {"value": s.query, "desc": s.query}
    return out


def member_json(state: "State", s: "StoredSet", member_id: str, base: str) -> dict[str, str]:
    description = s.members.get(member_id, "")
    if s.content == "BIB_MMS":
        bib = state.iz.get(member_id)
        if not description and bib is not None:
            nz = state.nz.get(bib.linked_nz_id) if bib.linked_nz_id else None
            description = (nz.marc if nz else bib.marc).title
        link = f"{base}/almaws/v1/bibs/{member_id}"
    else:
        link = f"{base}/almaws/v1/items?item_pid={member_id}"
    return {"id": member_id, "description": description, "link": link}


# ---- jobs -----------------------------------------------------------------------------------
def job_json(job: "JobDefinition", base: str) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "description": job.description,
        "type": {"value": job.type, "desc": job.type.title()},
        "category": {"value": job.category[0], "desc": job.category[1]},
        "content": {"value": job.content[0], "desc": job.content[1]},
        "link": f"{base}/almaws/v1/conf/jobs/{job.id}",
    }


def _counter_key(prefix: str, key: str) -> str:
    """A link-job counter key under this Alma's prefix (link_bib_to_nz.linked -> <prefix>.linked)."""
    head, dot, name = key.partition(".")
    return f"{prefix}.{name}" if dot and head == "link_bib_to_nz" else key


def run_json(run: "JobRun", job: "JobDefinition", base: str, counter_prefix: str = "link_bib_to_nz") -> dict[str, Any]:
    """A job instance, in the shape of Alma's GET /conf/jobs/{id}/instances/{iid};
    `counter_prefix`: the link job's counter keys as this Alma names them (AlmaAnswers)."""
    from .jobs import COUNTER_DESC, STATUS_DESC
    from .state import now_iso

    out: dict[str, Any] = {
        "id": run.id,
        "name": run.name,
        # Alma gives a running instance's progress as a decimal ("50.776", as a public job
        # instance answer shows); a finished one's as a whole number (100, conf.json's example).
        "progress": f"{run.progress:.3f}" if run.progress % 1 else int(run.progress),
        "status": {"value": run.status, "desc": STATUS_DESC.get(run.status, run.status)},
        "external_id": run.id,
        "submitted_by": {"value": run.submitted_by[0], "desc": run.submitted_by[1]},
        "submit_time": now_iso(run.submit_time),
    }
    if run.start_time:
        out["start_time"] = now_iso(run.start_time)
    if run.end_time:
        out["end_time"] = now_iso(run.end_time)
        out["status_date"] = run.end_time.strftime("%Y-%m-%dZ")
    out["alert"] = [{"value": code, "desc": desc} for code, desc in run.alerts]
    out["counter"] = [
        {"type": {"value": _counter_key(counter_prefix, key), "desc": COUNTER_DESC.get(key, key)},
         "value": str(value)}
        for key, value in run.counters.items()
    ]
    out["job_info"] = job_json(job, base)
    out["link"] = f"{base}/almaws/v1/conf/jobs/{job.id}/instances/{run.id}"
    return out


# ---- lists ----------------------------------------------------------------------------------
def without_empty_list(obj: dict[str, Any]) -> dict[str, Any]:
    """A list answer as Alma sends it: with no hits, {"total_record_count": 0} and no list
    key at all (docs/alma.md, "How real Alma answers"). Other objects pass unchanged."""
    if "total_record_count" not in obj:
        return obj
    return {k: v for k, v in obj.items() if k == "total_record_count" or v != []}


# ---- generic JSON -> Alma-style XML (for the conf endpoints when XML is asked for) ------------
_PLURAL = {"parameter": "parameters", "counter": "counters", "alert": "alerts", "member": "members"}


def _element(tag: str, value: Any) -> str:
    if value is None:
        return f"<{tag}/>"
    if isinstance(value, bool):
        return f"<{tag}>{'true' if value else 'false'}</{tag}>"
    if isinstance(value, dict):
        # Alma puts {value, desc} / {value, link} as text plus an attribute.
        scalar = {k: v for k, v in value.items() if not isinstance(v, (dict, list))}
        if "value" in scalar and set(scalar) == set(value) <= {"value", "desc", "link", "type"}:
            attrs = "".join(
                f" {k}={quoteattr(str(v))}" for k, v in scalar.items() if k != "value"
            )
            return f"<{tag}{attrs}>{escape(str(value['value']))}</{tag}>"
        attrs = f" link={quoteattr(value['link'])}" if "link" in value else ""
        inner = "".join(_element(k, v) for k, v in value.items() if k != "link")
        return f"<{tag}{attrs}>{inner}</{tag}>"
    if isinstance(value, list):
        return "".join(_element(tag, v) for v in value)
    return f"<{tag}>{escape(str(value))}</{tag}>"


def to_xml(root: str, obj: dict[str, Any]) -> str:
    """Alma-style XML for a conf object or a list wrapper ({"set": [...], total_record_count})."""
    if "total_record_count" in obj:  # list wrapper: <sets total_record_count="N"><set>..</set>
        items = "".join(_element(k, v) for k, v in obj.items() if k != "total_record_count")
        count = obj["total_record_count"]
        return f'<{root} total_record_count="{count}">{items}</{root}>'
    body = dict(obj)
    link = body.pop("link", None)
    parts = []
    for key, value in body.items():
        if key in _PLURAL and isinstance(value, list):
            parts.append(f"<{_PLURAL[key]}>{_element(key, value)}</{_PLURAL[key]}>")
        else:
            parts.append(_element(key, value))
    attrs = f" link={quoteattr(link)}" if link else ""
    return f"<{root}{attrs}>{''.join(parts)}</{root}>"
