"""Seed data, all hand-made: a small catalogue with every case the bot must handle, and a
generator for big catalogues.

    state = sample_state()
    state.iz[CASES["multi"]]          # the IZ record meant to multi-match
    state.sets[SETS["unlinked"]]      # "Unlinked sample records"
"""

from __future__ import annotations

import random
from functools import partial
from xml.sax.saxutils import escape

from pymarc import Record

from .marc import Marc, build_record, datafield
from .state import JobDefinition, State

LINK_JOB_ID = "M85"
BOOK_LEADER = "01234nam a2200385 i 4500"
MINIMAL_BOOK_LEADER = "00845nam a22002417i 4500"  # Leader/17 "7": minimal level
SERIAL_LEADER = "01890cas a2200433 a 4500"
OTHER_MEMBERS = ("01SIM_PSU", "01SIM_UW", "01SIM_OSU", "01SIM_WWU")

# The 035 $a prefix of the "other system number" networks (docs/alma.md, "Linking to the NZ").
OTHER_SYSTEM_PREFIX = "(AT-OBV)"

# Filled by sample_state(): readable case name -> IZ MMS ID / NZ MMS ID / set id.
CASES: dict[str, str] = {}
NZ_RECORDS: dict[str, str] = {}
SETS: dict[str, str] = {}


def _record(
    mms_id: str,
    title: str,
    f035: list[tuple[str, ...]],
    *,
    subtitle: str = "",
    author: str = "Hanford, Margaret",
    leader: str = BOOK_LEADER,
    year: str = "2015",
    place: str = "Portland, Oregon",
    publisher: str = "Cascade Press",
    pages: str = "xii, 312 pages",
    edition: str = "",
    language: str = "eng",
    issn: str = "",
    holders: tuple[str, ...] = (),
    local: bool = False,
    online: bool = False,
    f019: tuple[str, ...] = (),
) -> Record:
    """A realistic MARC record. f035 lists 035 fields as flat (code, value, ...) tuples.
    `online`: an e-book or e-journal (337 c, 338 cr, 008 form of item o); `f019`: OCLC
    numbers merged into this record (019 $a)."""
    serial = leader[7] == "s"
    # 008: entered, date type, dates, place, 17 material-specific positions (for a book:
    # 23 form of item, 24 nature of contents "b" bibliographies, 31 index), language
    form = "o" if online else " "
    material = (f"qr p {form}     0   a0" if serial else f"     {form}b    001 0 ").ljust(17)
    f008 = f"150312{'c' if serial else 's'}{year}{'9999' if serial else '    '}oru{material}{language} d"
    fields = [datafield("019", "  ", *[x for n in f019 for x in ("a", n)])] if f019 else []
    fields += [datafield("035", "  ", *pairs) for pairs in f035]
    fields += [
        datafield("040", "  ", "a", "ORU", "b", language, "e", "rda", "c", "ORU"),
        datafield("100", "1 ", "a", author),
        datafield("245", "10", "a", title + (" :" if subtitle else "."), *(("b", subtitle + ".") if subtitle else ())),
        datafield("264", " 1", "a", f"{place} :", "b", f"{publisher},", "c", f"{year}."),
        datafield("300", "  ", "a", pages, "c", "24 cm"),
        datafield("336", "  ", "a", "text", "b", "txt", "2", "rdacontent"),
        datafield("337", "  ", "a", *(("computer", "b", "c") if online else ("unmediated", "b", "n")), "2", "rdamedia"),
        datafield("338", "  ", "a", *(("online resource", "b", "cr") if online else ("volume", "b", "nc")), "2",
                  "rdacarrier"),
    ]
    if edition:
        fields.append(datafield("250", "  ", "a", edition))
    if issn:
        fields.append(datafield("022", "0 ", "a", issn))
    for code in holders:
        fields.append(datafield("852", "01", "a", code))
    if local:
        fields.append(datafield("590", "  ", "a", "Gift of the Friends of the Library."))
        fields.append(datafield("949", "  ", "a", "Local processing note", "b", "rush"))
    return build_record(leader, {"001": mms_id, "005": "20240105120000.0", "008": f008}, fields)


def _ocn(value: str) -> tuple[str, str]:
    return ("a", value)


def sample_state(*, link_job_id: str = LINK_JOB_ID, network_code: str | None = None,
                 institution_code: str | None = None, iz_id_end: str | None = None) -> State:
    """The hand-made catalogue. CASES/NZ_RECORDS/SETS name what each record is for."""
    state = State(link_job_id=link_job_id, **({"network_code": network_code} if network_code else {}),
                  **({"institution_code": institution_code} if institution_code else {}))
    if iz_id_end:
        state.iz_id_end = iz_id_end
    me = state.institution_code
    for names in (CASES, NZ_RECORDS, SETS):
        names.clear()

    def nz(name: str, title: str, f035, **kw) -> str:
        mms_id = state.new_nz_id()
        kw.setdefault("holders", (OTHER_MEMBERS[0],))
        state.add_nz(_record(mms_id, title, f035, **kw), mms_id=mms_id, case=name)
        NZ_RECORDS[name] = mms_id
        return mms_id

    def iz(name: str, title: str, f035, *, linked_to: str | None = None, suppressed=False, **kw) -> str:
        mms_id = state.new_iz_id()
        kw.setdefault("local", True)
        state.add_iz(
            _record(mms_id, title, f035, **kw),
            mms_id=mms_id,
            case=name,
            linked_nz_id=linked_to,
            suppressed=suppressed,
        )
        CASES[name] = mms_id
        return mms_id

    # --- one NZ match each -------------------------------------------------------------
    t = "The Columbia River Gorge"
    nz("unique", t, [("a", "(OCoLC)41234567")], subtitle="a natural history", holders=OTHER_MEMBERS[:3])
    iz("unique", t, [("a", "(OCoLC)41234567")], subtitle="a natural history")
    t = "Salmon fishing on the Columbia"
    nz("unique_2", t, [("a", "(OCoLC)52345678")], author="Ortiz, Ramon")
    iz("unique_2", t, [("a", "(OCoLC)52345678")], author="Ortiz, Ramon")
    t = "Volcanoes of the Cascade Range"
    nz("unique_3", t, [("a", "(OCoLC)53456789")], edition="2nd edition.", year="2018")
    iz("unique_3", t, [("a", "(OCoLC)53456789")], edition="2nd edition.", year="2018")
    t = "Lighthouses of the Oregon coast"
    nz("unique_suppressed", t, [("a", "(OCoLC)47777777")])
    iz("unique_suppressed", t, [("a", "(OCoLC)47777777")], suppressed=True)

    # --- NZ duplicates: two or more records share one OCN -------------------------------
    t = "Birds of the Pacific Northwest"
    nz("multi_a", t, [("a", "(OCoLC)61111111")], holders=OTHER_MEMBERS[:3], pages="xii, 312 pages")
    nz("multi_b", t, [("a", "(OCoLC)61111111")], holders=OTHER_MEMBERS[3:], pages="312 p.",
       leader=MINIMAL_BOOK_LEADER)
    iz("multi", t, [("a", "(OCoLC)61111111")])
    t = "Native plants of Washington"
    # each duplicate also carries a member's own system number, which singles it out:
    # the route by which a Program Manager's pick is linked automatically
    for n, suffix in enumerate("abc"):
        nz(f"multi_three_{suffix}", t, [("a", "(OCoLC)62222222"), ("a", f"(OrU)b2000{n}47x")],
           year="2009")
    iz("multi_three", t, [("a", "(OCoLC)62222222")], year="2009")
    # the second duplicate carries the OCN only as a cancelled number ($z): still a match
    t = "Rivers and streams of Idaho"
    nz("multi_via_z_a", t, [("a", "(OCoLC)63333333")])
    # OCLC merged the first's number into the second (035 $z and 019): the second survives
    nz("multi_via_z_b", t, [("a", "(OCoLC)69999999", "z", "(OCoLC)63333333")], f019=("63333333",))
    iz("multi_via_z", t, [("a", "(OCoLC)63333333")])
    # parallel records per language of cataloging (040 $b) are allowed in the NZ
    t = "Geology of the Pacific Northwest"
    nz("multi_language_eng", t, [("a", "(OCoLC)64444444")])
    nz("multi_language_fre", t, [("a", "(OCoLC)64444444")], language="fre")
    iz("multi_language", t, [("a", "(OCoLC)64444444")])

    # --- no NZ match ---------------------------------------------------------------------
    iz("no_match", "Small farms of the Willamette Valley", [("a", "(OCoLC)71111111")])
    iz("no_match_2", "A history of Astoria", [("a", "(OCoLC)72222222")], year="1998")
    iz("no_oclc", "Community cookbook of Bend", [("a", "(CaOONL)0012345X")], publisher="Self-published")
    iz("no_oclc_local", "Library annual report 2023", [("a", "(SIM-LOCAL)b1234567", "9", "LOCAL")])

    # --- already linked (with local fields that survive the link) ------------------------
    t = "Mount Hood: a climbing guide"
    linked_nz = nz("already_linked", t, [("a", "(OCoLC)81111111")], holders=(me, OTHER_MEMBERS[0]))
    iz("already_linked", t, [("a", "(OCoLC)81111111"), ("a", "(SIM-LOCAL)b7654321", "9", "LOCAL")],
       linked_to=linked_nz)

    # --- serials (Leader/07 = s, with 022) ------------------------------------------------
    t = "Journal of Northwest water studies"
    nz("serial_unique", t, [("a", "(OCoLC)91111111")], leader=SERIAL_LEADER, issn="1477-8920",
       pages="volumes", year="2003")
    iz("serial_unique", t, [("a", "(OCoLC)91111111")], leader=SERIAL_LEADER, issn="1477-8920",
       pages="volumes", year="2003")
    t = "Pacific forestry quarterly"
    for suffix in "ab":
        nz(f"serial_multi_{suffix}", t, [("a", "(OCoLC)92222222")], leader=SERIAL_LEADER,
           issn="0012-3456", pages="volumes", year="1987")
    iz("serial_multi", t, [("a", "(OCoLC)92222222")], leader=SERIAL_LEADER, issn="0012-3456",
       pages="volumes", year="1987")

    # --- cancelled numbers (035 $z) ------------------------------------------------------
    # IZ's own $z must not be matched from: its $z number is in an NZ $a, yet: no match.
    t = "Ferries of Puget Sound"
    nz("cancelled_in_iz_target", t, [("a", "(OCoLC)74444444")])
    iz("cancelled_in_iz", t, [("a", "(OCoLC)73333333", "z", "(OCoLC)74444444")])
    # the NZ side's $z does count (Alma's 035_az index): unique match
    t = "Bridges of Portland"
    nz("cancelled_in_nz", t, [("a", "(OCoLC)76666666", "z", "(OCoLC)75555555")])
    iz("cancelled_in_nz", t, [("a", "(OCoLC)75555555")])

    # --- older OCN forms and repeats -----------------------------------------------------
    nz("ocm_form", "Oregon Trail diaries", [("a", "(OCoLC)12345")], year="1975")
    iz("ocm_form", "Oregon Trail diaries", [("a", "(OCoLC)ocm00012345")], year="1975")
    nz("ocn_form", "Timber towns", [("a", "(OCoLC)123456789")], year="2008")
    iz("ocn_form", "Timber towns", [("a", "(OCoLC)ocn123456789")], year="2008")
    nz("on_form", "Rain: a Seattle story", [("a", "(OCoLC)1234567890")], year="2020")
    iz("on_form", "Rain: a Seattle story", [("a", "(OCoLC)on1234567890")], year="2020")
    t = "Coastal tide pools"
    nz("same_ocn_twice", t, [("a", "(OCoLC)44444444")])
    iz("same_ocn_twice", t, [("a", "(OCoLC)44444444"), ("a", "(OCoLC)ocm44444444")])
    t = "High desert wildflowers"
    nz("nz_several_ocns", t, [("a", "(OCoLC)45555555"), ("a", "(OCoLC)46666666")])
    iz("nz_several_ocns", t, [("a", "(OCoLC)46666666")])

    # --- look like OCNs but are not (each has a trap NZ record a sloppy parser would hit) ---
    nz("trap_112267", "Trap record (digits of TGPSM11-B2267)", [("a", "(OCoLC)112267")])
    iz("not_ocn_tgpsm", "Technical guide TGPSM11", [("a", "(OCoLC)TGPSM11-B2267")])
    nz("trap_6114599", "Trap record (digits of ocmDCLC6114599B)", [("a", "(OCoLC)6114599")])
    iz("not_ocn_ocm_letters", "Catalog of maps, 1961", [("a", "(OCoLC)ocmDCLC6114599B")])
    nz("trap_12345678", "Trap record (12345678)", [("a", "(OCoLC)12345678")])
    iz("not_ocn_ocolc_m", "Proceedings of the river conference", [("a", "(OCoLC-M)12345678")])
    iz("not_ocn_ocolc_i", "Index to river proceedings", [("a", "(OCoLC-I)12345678")])
    iz("not_ocn_bare", "Unnumbered pamphlet", [("a", "12345678")])

    # --- other system number (035 $a with a network prefix, e.g. (AT-OBV)) ----------------
    t = "Alpine lakes of Austria"
    nz("other_system", t, [("a", f"{OTHER_SYSTEM_PREFIX}AC01234567")], language="ger")
    iz("other_system", t, [("a", f"{OTHER_SYSTEM_PREFIX}AC01234567")], language="ger")
    iz("other_system_none", "Danube travels", [("a", f"{OTHER_SYSTEM_PREFIX}AC09999999")])

    # --- an e-book beside the print (last, so that the records above keep their ids) ------
    # Both carry the print's OCLC number, as e-book records wrongly do; the print record
    # is the one for a print IZ record, though more members hold the e-book.
    t = "Salmon runs of the Columbia Basin"
    nz("multi_ebook_online", t, [("a", "(OCoLC)65555555")], online=True, holders=OTHER_MEMBERS[:3], year="2012")
    nz("multi_ebook_print", t, [("a", "(OCoLC)65555555")], year="2012")
    iz("multi_ebook", t, [("a", "(OCoLC)65555555")], year="2012")

    # --- sets ----------------------------------------------------------------------------
    unlinked = [m for m, b in state.iz.items() if not b.linked_nz_id]
    SETS["unlinked"] = state.make_set("Unlinked sample records", unlinked,
                                      description="Linked Institution Not Equals Network").id
    SETS["link_test"] = state.make_set(
        "Link job test set",
        [CASES[c] for c in ("unique", "unique_2", "multi", "no_match", "already_linked",
                            "serial_unique", "cancelled_in_iz", "cancelled_in_nz", "ocm_form")],
    ).id
    SETS["other_system"] = state.make_set(
        "Other system number test set", [CASES["other_system"], CASES["other_system_none"]]
    ).id
    items = state.make_set("Sample items (not bibs)", content="ITEM")
    items.members.update({"23189116110006391": "35025038158016", "23189197500006391": "35025038157992"})
    SETS["items"] = items.id
    SETS["logical"] = state.make_set(
        "Sample records (logical)",
        [CASES["unique"], CASES["multi"]],
        type="LOGICAL",
        query='BIB_MMS where BIB_MMS ((linked_to_network_zone EQUALS "false"))',
    ).id
    SETS["empty"] = state.make_set("Empty set").id
    _add_jobs(state, link_job_id)
    return state


def add_multi_match(state: State, title: str, ocn: str, system_numbers: tuple[str, ...]) -> tuple[str, list[str]]:
    """An unlinked IZ record and one NZ duplicate per system number, all sharing `ocn`;
    each duplicate also carries its own prefixed 035 (e.g. "(OrU)b123"), or none for "".
    Returns (IZ MMS ID, NZ MMS IDs)."""
    nz_ids = []
    for number in system_numbers:
        nz_id = state.new_nz_id()
        f035 = [("a", f"(OCoLC){ocn}")] + ([("a", number)] if number else [])
        state.add_nz(_record(nz_id, title, f035, holders=OTHER_MEMBERS[:2]), mms_id=nz_id, case="multi")
        nz_ids.append(nz_id)
    iz_id = state.new_iz_id()
    state.add_iz(_record(iz_id, title, [("a", f"(OCoLC){ocn}")], local=True), mms_id=iz_id, case="multi")
    return iz_id, nz_ids


def _add_jobs(state: State, link_job_id: str) -> None:
    state.add_job(JobDefinition(
        link_job_id, "Link a set of records to the Network Zone",
        "Link a set of records to the Network Zone", ("REPOSITORY", "Repository"),
        links_records=True))
    state.add_job(JobDefinition("M28", "Export Bibliographic Records", "Export Bibliographic Records",
                                ("EXPORT", "Export")))
    state.add_job(JobDefinition("M26", "Delete Bibliographic records", "Delete Bibliographic records"))
    state.add_job(JobDefinition("M44", "Withdraw items", "Withdraw items", ("PHYSICAL", "Physical"),
                                ("ITEM", "Physical items")))
    state.add_job(JobDefinition("S1", "Publishing Platform Job", "Publishing Platform Job",
                                ("PUBLISHING", "Publishing"), type="SCHEDULED"))


# ==========================================================================================
# The generator
# ==========================================================================================
GENERATED_CASES = ("unique", "multi", "none", "no_oclc", "linked")
DEFAULT_MIX = {"unique": 0.70, "multi": 0.08, "none": 0.12, "no_oclc": 0.05, "linked": 0.05}
GENERATED_SET_NAME = "Generated records"
_BOOK_MATERIAL = "      b    000 0 ".ljust(17)  # 008/18-34 of a book: 24 "b" bibliographies

_WORDS = ("river", "forest", "harbor", "mountain", "valley", "prairie", "island", "canyon",
          "meadow", "glacier", "coast", "desert", "orchard", "lake", "trail", "bridge")
_TOPICS = ("A history of the", "Field guide to the", "Stories from the", "The ecology of the",
           "Maps of the", "Poems of the", "Life on the", "Letters from the")


def _generated_xml(mms_id: str, title: str, f035: tuple[tuple[str, str], ...], year: int,
                   holders: tuple[str, ...], local: bool) -> str:
    """Compact MARCXML for a generated record, built from a template (fast, no pymarc)."""
    ids = "".join(
        f'<datafield ind1=" " ind2=" " tag="035"><subfield code="{c}">{escape(v)}</subfield></datafield>'
        for c, v in f035
    )
    held = "".join(
        f'<datafield ind1="0" ind2="1" tag="852"><subfield code="a">{h}</subfield></datafield>'
        for h in holders
    )
    loc = ('<datafield ind1=" " ind2=" " tag="949"><subfield code="a">Generated local note</subfield>'
           "</datafield>") if local else ""
    return (
        f"<record><leader>{BOOK_LEADER}</leader>"
        f'<controlfield tag="001">{mms_id}</controlfield>'
        f'<controlfield tag="008">150312s{year}    oru{_BOOK_MATERIAL}eng d</controlfield>{ids}'
        '<datafield ind1=" " ind2=" " tag="040"><subfield code="a">ORU</subfield>'
        '<subfield code="b">eng</subfield><subfield code="e">rda</subfield></datafield>'
        f'<datafield ind1="1" ind2="0" tag="245"><subfield code="a">{escape(title)}.</subfield></datafield>'
        '<datafield ind1=" " ind2="1" tag="264"><subfield code="a">Portland, Oregon :</subfield>'
        f'<subfield code="b">Cascade Press,</subfield><subfield code="c">{year}.</subfield></datafield>'
        f'<datafield ind1=" " ind2=" " tag="300"><subfield code="a">{100 + year % 300} pages</subfield></datafield>'
        '<datafield ind1=" " ind2=" " tag="336"><subfield code="a">text</subfield><subfield code="b">txt</subfield>'
        '<subfield code="2">rdacontent</subfield></datafield>'
        f"{held}{loc}</record>"
    )


def _lazy(mms_id: str, title: str, f035: tuple[tuple[str, str], ...], year: int,
          holders: tuple[str, ...] = (), local: bool = False) -> Marc:
    return Marc.lazy(
        partial(_generated_xml, mms_id, title, f035, year, holders, local),
        leader=BOOK_LEADER, title=f"{title}.", author="", ids_035=f035,
    )


def _counts(n: int, mix: dict[str, float]) -> dict[str, int]:
    """Split n records by share, rounding so the counts add up to n exactly."""
    total = sum(mix.values())
    exact = {case: n * share / total for case, share in mix.items()}
    counts = {case: int(v) for case, v in exact.items()}
    for case in sorted(exact, key=lambda c: exact[c] - counts[c], reverse=True)[: n - sum(counts.values())]:
        counts[case] += 1
    return counts


def generate_state(n: int, mix: dict[str, float] | None = None, seed: int = 0,
                   *, link_job_id: str = LINK_JOB_ID) -> State:
    """N IZ records with a mix of cases, the NZ records they need, and one set of them all.

    Deterministic for a given seed. Each IZ record's `case` says which case it is.
    """
    mix = dict(mix or DEFAULT_MIX)
    unknown = set(mix) - set(GENERATED_CASES)
    if unknown:
        raise ValueError(f"unknown cases {sorted(unknown)}; choose from {GENERATED_CASES}")
    rng = random.Random(seed)
    plan = [case for case, count in _counts(n, mix).items() for _ in range(count)]
    rng.shuffle(plan)

    state = State(link_job_id=link_job_id)
    holders_pool = OTHER_MEMBERS
    members: list[str] = []
    for i, case in enumerate(plan):
        title = f"{_TOPICS[i % len(_TOPICS)]} {_WORDS[(i // 8) % 16]} {_WORDS[(i // 128) % 16]}, volume {i + 1}"
        year = 1950 + rng.randrange(75)
        ocn = str(20_000_000 + i)
        f035 = (("a", f"(OCoLC){ocn}"),) if case != "no_oclc" else (("a", f"(SIM-LOCAL)g{i:07d}"),)
        linked = None
        copies = {"unique": 1, "linked": 1, "multi": 2}.get(case, 0)
        for c in range(copies):
            nz_id = state.new_nz_id()
            held = holders_pool[: 1 + (i + c) % len(holders_pool)]
            state.add_nz(_lazy(nz_id, title, (("a", f"(OCoLC){ocn}"),), year, held), mms_id=nz_id, case=case)
            linked = nz_id if case == "linked" else None
        iz_id = state.new_iz_id()
        state.add_iz(_lazy(iz_id, title, f035, year, local=True), mms_id=iz_id, linked_nz_id=linked, case=case)
        members.append(iz_id)
    state.make_set(GENERATED_SET_NAME, members, description=f"{n} generated records (seed {seed})")
    _add_jobs(state, link_job_id)
    return state


# Fill CASES / NZ_RECORDS / SETS at import: ids are deterministic, so the names are valid
# for every sample_state() (and usable before one is built, e.g. against a CLI simulator).
sample_state()


def consortium_states(n: int) -> list[State]:
    """`n` member IZs sharing one NZ, each the sample catalogue with its own institution
    code (01SIM_INST, 01SIM_INST2, ...) and MMS IDs (ending 06391, 06392, ...).
CASES/NZ_RECORDS/SETS name the first's; the others' are the same records, ids ending theirs."""
    # the first is the plain sample catalogue, made last so that the names are its
    members = [sample_state(institution_code=f"01SIM_INST{i + 1}", iz_id_end=f"{6391 + i:05d}") if i
               else sample_state() for i in range(n - 1, -1, -1)][::-1]
    for member in members[1:]:
        member.share_nz(members[0])
    return members
