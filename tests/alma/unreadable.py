"""IZ records whose MARC Alma holds but no XML parser reads, put into the simulator."""

from __future__ import annotations

from alma.simulator.marc import Marc
from alma.simulator.state import State

LEADER = "00000nam a2200000 i 4500"


def add_unreadable_bib(state: State, title: str, ocn: str, *, how: str = "control") -> str:
    """Adds an IZ record that carries `ocn` in 035 $a but whose MARCXML cannot be parsed:
    with a control character XML forbids (`how="control"`) or cut short ("cut"). The
    simulator serves its stored XML as is, as Alma serves what its catalogue holds."""
    xml = (f"<record><leader>{LEADER}</leader>"
           f'<datafield tag="035" ind1=" " ind2=" "><subfield code="a">(OCoLC){ocn}</subfield></datafield>'
           f'<datafield tag="245" ind1="1" ind2="0"><subfield code="a">{title}</subfield></datafield>'
           "</record>")
    if how == "control":
        xml = xml.replace(title, title[:3] + "\x1f" + title[3:])
    else:
        xml = xml[: xml.index("<datafield tag=\"245\"")] + "<datafield tag="
    marc = Marc(leader=LEADER, title=title, author="", ids_035=(("a", f"(OCoLC){ocn}"),), _xml=xml)
    bib = state.add_iz(marc)
    return bib.mms_id
