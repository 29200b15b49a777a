"""What nzbot knows about this Alma beyond the published documentation: five facts that
`nzbot probe --sandbox` settles (nzbot/probe.py) and stores (`alma_facts`), and what nzbot
does with each while it runs. A fact with no stored value is still assumed, as
docs/alma.md ("Unconfirmed") and the README ("What is not confirmed about Alma") say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from nzbot.report import COUNTER_KINDS

COUNTER_KEYS = "link_job_counter_keys"  # {Alma's key: our kind}, the keys a probe's runs showed
MULTI_MATCHES_LIST = "multi_matches_list"  # True: .../matches?population=MULTI_MATCHES lists a link job's
NO_005_CHECK = "no_005_version_check"  # "saves" or "refuses": stale_version_check=true on a record with no 005
OTHER_SYSTEM = "other_system_profile"  # {"matches_035": bool, "matches_024": bool}
CONTRIBUTE = "contribute_without_prefix"  # "imports" or "skips"

# In the order the doctor lists them: (name, what is in question, what nzbot assumes meanwhile)
FACTS: tuple[tuple[str, str, str], ...] = (
    (COUNTER_KEYS, "the link job's counter keys",
     "the keys in nzbot/report.py COUNTER_KINDS; unknown keys are shown as Alma names them"),
    (MULTI_MATCHES_LIST, "whether Alma lists a link job's multi-matches (MULTI_MATCHES)",
     "not listed: the re-check after a job reads the set's unlinked members again"),
    (NO_005_CHECK, "what the version check does to a record with no 005",
     "unknown: such a record is saved without the check"),
    (OTHER_SYSTEM, "what the other-system match profile matches",
     "the prefixed 035 $a only; every link is read back"),
    (CONTRIBUTE, "whether contribute with a prefix no record carries imports the record",
     "it imports (the contribute route relies on it)"),
)


@dataclass(frozen=True)
class AlmaFacts:
    """The facts a probe learned: name -> (value, learned_at)."""

    learned: Mapping[str, tuple[Any, str]]

    @classmethod
    def of(cls, store) -> "AlmaFacts":
        return cls(store.alma_facts())

    def value(self, name: str, default: Any = None) -> Any:
        return self.learned[name][0] if name in self.learned else default


def counter_kinds(facts: AlmaFacts) -> dict[str, str]:
    """Alma's counter key -> our kind: the defaults, and the keys a probe saw (which win)."""
    return {**COUNTER_KINDS, **facts.value(COUNTER_KEYS, {})}


def multi_matches_listed(facts: AlmaFacts) -> bool:
    return facts.value(MULTI_MATCHES_LIST) is True


def route_warnings(facts: AlmaFacts) -> list[str]:
    """What a probe found that stops a link route working as designed: one line each, said
    at start-up and by the doctor."""
    found = []
    other = facts.value(OTHER_SYSTEM) or {}
    if other.get("matches_035") is False:
        found.append("the link job's other-system profile did not match a prefixed 035 $a in the probe: "
                     "the token and unique-035 routes cannot link; decisions go to the hand-off")
    if other.get("matches_024"):
        found.append("the other-system profile also matches 024 $a: a record sharing a 024 with another "
                     "NZ record can multi-match on the token route (every link is read back)")
    if facts.value(NO_005_CHECK) == "refuses":
        found.append("Alma refuses the version check on a record with no 005: such records are saved "
                     "without it, so a save made meanwhile in the Metadata Editor can be overwritten")
    if facts.value(CONTRIBUTE) == "skips":
        found.append("the link job skips, not imports, a record with no value under the match prefix: "
                     "the contribute route cannot add a record to the NZ; contribute it in the Metadata Editor")
    return found


def fact_lines(facts: AlmaFacts) -> list[str]:
    """One line a fact: confirmed (by a probe, with the date and what it found) or assumed."""
    lines = []
    for name, question, assumption in FACTS:
        if name in facts.learned:
            value, at = facts.learned[name]
            lines.append(f"confirmed {at[:10]} by nzbot probe: {question}: {describe(name, value)}")
        else:
            lines.append(f"assumed: {question}: {assumption} (run nzbot probe --sandbox)")
    return lines


def describe(name: str, value: Any) -> str:
    if name == COUNTER_KEYS:
        return ", ".join(f"{key} = {kind}" for key, kind in sorted(value.items())) or "none seen"
    if name == MULTI_MATCHES_LIST:
        return "listed; the re-check after a job could read it" if value else "not listed"
    if name == OTHER_SYSTEM:
        parts = [f"035 $a {'matched' if value.get('matches_035') else 'not matched'}"]
        if "matches_024" in value:
            parts.append(f"024 $a {'matched' if value['matches_024'] else 'not matched'}")
        return ", ".join(parts)
    if name == NO_005_CHECK:
        return "the save goes through" if value == "saves" else "refused"
    return str(value)
