"""The NZ's SRU searchRetrieve endpoint (/view/sru/<NZ code>), MARCXML only.

CQL support is what nzbot needs: `index=term` clauses joined by OR (and AND, which binds
tighter), terms optionally quoted. Anything else answers a diagnostic, with HTTP 200,
as SRU servers do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from .marc import ocn_in_search_term, with_namespace

if TYPE_CHECKING:
    from .state import State

SRW_NS = "http://www.loc.gov/zing/srw/"
DIAG_NS = "http://www.loc.gov/zing/srw/diagnostic/"
MAX_RECORDS = 50  # a bigger maximumRecords is quietly cut to this, like the real server

# SRU diagnostics (info:srw/diagnostic/1/N): number -> message
DIAG_UNSUPPORTED_OPERATION = (4, "Unsupported operation")
DIAG_MISSING_PARAMETER = (7, "Mandatory parameter not supplied")
DIAG_BAD_VALUE = (6, "Unsupported parameter value")
DIAG_SYNTAX = (10, "Query syntax error")
DIAG_UNSUPPORTED_INDEX = (16, "Unsupported index")
DIAG_OUT_OF_RANGE = (61, "First record position out of range")
DIAG_UNKNOWN_SCHEMA = (66, "Unknown schema for retrieval")

_CLAUSE = re.compile(
    r'\s*(?P<index>[\w.]+)\s*(?P<rel>==|=|\bexact\b|\ball\b|\bany\b)\s*'
    r'(?P<term>"(?:[^"\\]|\\.)*"|[^\s"]+)\s*',
    re.IGNORECASE,
)
_BOOL = re.compile(r"\s*\b(OR|AND)\b\s*", re.IGNORECASE)


@dataclass
class Diagnostic(Exception):
    number: int
    message: str
    details: str = ""


def _lookup(state: "State", name: str, term: str) -> set[str]:
    index = name.lower()
    if index == "alma.oclc_control_number_035_az":
        ocn = ocn_in_search_term(term)
        return set(state.nz_ids_by_ocn(ocn)) if ocn else set()
    if index == "alma.oclc_control_number_035_a":
        ocn = ocn_in_search_term(term)
        return set(state.nz_ids_by_ocn(ocn, include_z=False)) if ocn else set()
    if index == "alma.other_system_number":
        return set(state.nz_ids_by_035a(term))
    if index == "alma.mms_id":
        return {term} if term in state.nz else set()
    if index == "alma.all_for_ui":
        word = term.lower()
        return {m for m, b in state.nz.items() if word in f"{b.marc.title} {b.marc.author}".lower().split()}
    raise Diagnostic(*DIAG_UNSUPPORTED_INDEX, details=name)


def search(state: "State", query: str) -> list[str]:
    """NZ MMS IDs matching a CQL query, sorted (a stable order for paging)."""
    pos, groups, current = 0, [], None  # OR of AND-groups
    while True:
        m = _CLAUSE.match(query, pos)
        if not m:
            raise Diagnostic(*DIAG_SYNTAX, details=query)
        # A one-word term means the same under =, ==, exact, all and any.
        term = m.group("term")
        if term.startswith('"'):
            term = term[1:-1].replace('\\"', '"')
        with state.lock:
            hits = _lookup(state, m.group("index"), term)
        current = hits if current is None else current & hits
        pos = m.end()
        if pos >= len(query):
            groups.append(current)
            break
        op = _BOOL.match(query, pos)
        if not op:
            raise Diagnostic(*DIAG_SYNTAX, details=query[pos:])
        if op.group(1).upper() == "OR":
            groups.append(current)
            current = None
        pos = op.end()
    found: set[str] = set().union(*groups)
    return sorted(found)


def _diagnostic_xml(d: Diagnostic) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
        f'<searchRetrieveResponse xmlns="{SRW_NS}"><version>1.2</version>'
        f"<numberOfRecords>0</numberOfRecords>"
        f'<diagnostics><diagnostic xmlns="{DIAG_NS}">'
        f"<uri>info:srw/diagnostic/1/{d.number}</uri><details>{escape(d.details)}</details>"
        f"<message>{escape(d.message)}</message></diagnostic></diagnostics>"
        f"</searchRetrieveResponse>"
    )


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Diagnostic(*DIAG_BAD_VALUE, details=name) from None
    if value < (1 if name == "startRecord" else 0):
        raise Diagnostic(*DIAG_BAD_VALUE, details=name)
    return value


def respond(state: "State", params: dict[str, str]) -> str:
    """The searchRetrieveResponse XML for one request's query parameters."""
    try:
        if params.get("operation", "searchRetrieve") != "searchRetrieve":
            raise Diagnostic(*DIAG_UNSUPPORTED_OPERATION, details=params.get("operation", ""))
        schema = params.get("recordSchema", "marcxml")
        if schema.lower() not in ("marcxml", "marc21", "info:srw/schema/1/marcxml-v1.1"):
            raise Diagnostic(*DIAG_UNKNOWN_SCHEMA, details=schema)
        query = params.get("query", "").strip()
        if not query:
            raise Diagnostic(*DIAG_MISSING_PARAMETER, details="query")
        start = _int_param(params, "startRecord", 1)
        wanted = min(_int_param(params, "maximumRecords", 10), MAX_RECORDS)
        ids = search(state, query)
        if ids and start > len(ids):
            raise Diagnostic(*DIAG_OUT_OF_RANGE, details=str(start))
    except Diagnostic as d:
        return _diagnostic_xml(d)

    page = ids[start - 1 : start - 1 + wanted]
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f'<searchRetrieveResponse xmlns="{SRW_NS}"><version>1.2</version>',
        f"<numberOfRecords>{len(ids)}</numberOfRecords>",
    ]
    if page:
        parts.append("<records>")
        with state.lock:
            xmls = [state.nz[i].marc.xml for i in page if i in state.nz]
        for position, (mms_id, xml) in enumerate(zip(page, xmls), start=start):
            parts.append(
                "<record><recordSchema>marcxml</recordSchema><recordPacking>xml</recordPacking>"
                f"<recordData>{with_namespace(xml)}</recordData>"
                f"<recordIdentifier>{mms_id}</recordIdentifier>"
                f"<recordPosition>{position}</recordPosition></record>"
            )
        parts.append("</records>")
    if start - 1 + len(page) < len(ids):
        parts.append(f"<nextRecordPosition>{start + len(page)}</nextRecordPosition>")
    parts.append("</searchRetrieveResponse>")
    return "".join(parts)
