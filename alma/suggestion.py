"""The suggested pick among an IZ record's NZ candidates, with its reasons.

What consortia's guidance says a cataloger weighs when an OCLC number matches several NZ
records (Orbis Cascade, CSU, UC SILS, Libraries Australia practice; the decision-ready
cases issue): the same kind of resource as the record in hand; the same language of
cataloging, since parallel records are allowed and must not be mixed; OCLC's surviving
record, since many NZ duplicates come from OCLC merges; a full record before a minimal one;
and the record most members already use. The rules run in a fixed order, and a later rule
only separates candidates the earlier ones left level. When the best candidate is not
strictly ahead of the next, there is no suggestion: the candidates look like true
duplicates, which a merge resolves. A consortium may reorder or drop rules
(NZBOT_SUGGESTION_RULES). Reads only the cards already fetched: no Alma call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from alma.cards import RecordCard, member_institutions


class Rule(StrEnum):
    SAME_KIND = "same_kind"
    SAME_LANGUAGE = "same_language"
    OCLC_SURVIVOR = "oclc_survivor"
    ENCODING_LEVEL = "encoding_level"
    MORE_HOLDINGS = "more_holdings"

    @property
    def words(self) -> str:
        return RULE_WORDS[self]


RULE_WORDS = {
    Rule.SAME_KIND: "same kind of resource",
    Rule.SAME_LANGUAGE: "same language of cataloging",
    Rule.OCLC_SURVIVOR: "OCLC's surviving record",
    Rule.ENCODING_LEVEL: "higher encoding level",
    Rule.MORE_HOLDINGS: "more members hold it",
}

DEFAULT_RULES: tuple[Rule, ...] = tuple(Rule)

# Leader/17 ranked (the table): full, core, less than full, anything else.
_FULL, _CORE, _LESS = frozenset(" 1I"), frozenset("4L"), frozenset("2357KM")
DEFAULT_CATALOGING_LANGUAGE = "eng"  # 040 $b absent means English (MARC 21, 040)


def encoding_rank(code: str) -> int:
    if not code:
        return 0
    return 3 if code in _FULL else 2 if code in _CORE else 1 if code in _LESS else 0


def cataloging_language(card: RecordCard) -> str:
    return (card.cataloging_language or DEFAULT_CATALOGING_LANGUAGE).strip().lower()


def same_carrier(a: RecordCard, b: RecordCard) -> bool:
    """Compared on the most specific carrier both records state: 338 $b, else 337 $b,
    else 008's form of item; when they share none, by whether each is online."""
    for codes in (lambda c: c.carrier_codes, lambda c: c.media_codes,
                  lambda c: (c.form_of_item,) if c.form_of_item else ()):
        if codes(a) and codes(b):
            return set(codes(a)) == set(codes(b))
    return a.online == b.online


def same_kind(iz: RecordCard, card: RecordCard) -> bool:
    """Leader/06-07 and the carrier; an unknown format on either side is no difference."""
    formats_agree = not iz.record_format or not card.record_format or iz.record_format == card.record_format
    return formats_agree and same_carrier(iz, card)


def superseded_by(card: RecordCard, others: Sequence[RecordCard]) -> RecordCard | None:
    """The candidate that lists this one's current OCLC number as cancelled or merged
    (035 $z, 019 $a): OCLC merged this record into that one."""
    current = set(card.current_oclc_numbers)
    return next((o for o in others if o is not card and current & set(o.cancelled_oclc_numbers)), None)


def from_oclc_merge(candidates: Sequence[RecordCard]) -> bool:
    """A multi-match that comes from an OCLC merge: one candidate carries another's number
    as cancelled or merged, so OCLC's surviving record is the mechanical pick."""
    return any(superseded_by(c, candidates) is not None for c in candidates)


@dataclass(frozen=True)
class Suggestion:
    """The suggested NZ record: the rule that set it ahead of the next best, and one
    reason per other candidate, in catalogers' words."""

    nz_mms_id: str
    position: int  # 1-based, as the candidates are numbered on screen
    rule: Rule
    reasons: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"nz_mms_id": self.nz_mms_id, "rule": self.rule.value, "reasons": list(self.reasons)}

    @property
    def summary(self) -> str:
        """"Suggested: candidate 2. Candidate 1 is …; …"."""
        return f"Suggested: candidate {self.position}. " + "; ".join(self.reasons) + "."


@dataclass(frozen=True)
class Recommendation:
    """What the rules say of a set of candidates: a suggestion, or the candidates they
    leave level (true duplicates: merging them is the way)."""

    suggestion: Suggestion | None
    level: tuple[int, ...] = ()  # 1-based positions of the candidates no rule separates

    @property
    def tie_words(self) -> str:
        return (f"No suggestion: candidates {_listed(self.level)} look like true duplicates; "
                "nothing nzbot compares sets one ahead")


def _listed(positions: Sequence[int]) -> str:
    words = [str(p) for p in positions]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _scores(rule: Rule, iz: RecordCard | None, cards: Sequence[RecordCard]) -> list[int]:
    if rule == Rule.SAME_KIND:
        return [int(iz is None or same_kind(iz, c)) for c in cards]
    if rule == Rule.SAME_LANGUAGE:
        return [int(iz is None or cataloging_language(c) == cataloging_language(iz)) for c in cards]
    if rule == Rule.OCLC_SURVIVOR:
        return [int(superseded_by(c, cards) is None) for c in cards]
    if rule == Rule.ENCODING_LEVEL:
        return [encoding_rank(c.encoding_level) for c in cards]
    return [c.holding_count for c in cards]


def recommend(iz: RecordCard | None, candidates: Sequence[RecordCard],
              rules: Sequence[Rule] = DEFAULT_RULES) -> Recommendation:
    """The suggestion for an IZ record (None: a bare OCLC number, the rules that compare
    with the IZ record leave all level) among two or more candidates."""
    cards = list(candidates)
    if len(cards) < 2 or not rules:
        return Recommendation(None)
    table = {rule: _scores(rule, iz, cards) for rule in rules}
    keys = [tuple(table[rule][i] for rule in rules) for i in range(len(cards))]
    order = sorted(range(len(cards)), key=lambda i: keys[i], reverse=True)
    best, runner_up = order[0], order[1]
    if keys[best] == keys[runner_up]:
        return Recommendation(None, tuple(sorted(i + 1 for i in order if keys[i] == keys[best])))
    deciding = next(rule for rule in rules if table[rule][best] != table[rule][runner_up])
    reasons = tuple(_reason(_first_loss(rules, table, best, i), iz, cards, best, i)
                    for i in range(len(cards)) if i != best)
    return Recommendation(Suggestion(cards[best].mms_id, best + 1, deciding, reasons))


def _first_loss(rules: Sequence[Rule], table: dict[Rule, list[int]], best: int, other: int) -> Rule:
    return next(rule for rule in rules if table[rule][best] != table[rule][other])


def _reason(rule: Rule, iz: RecordCard | None, cards: Sequence[RecordCard], best: int, other: int) -> str:
    card, winner = cards[other], cards[best]
    n, w = other + 1, best + 1
    return REASONS[rule](iz, card, winner, n, w, cards)


def _kind_reason(iz, card, winner, n, w, cards) -> str:
    return f"Candidate {n} is {card.kind or 'another kind of resource'}; the IZ record is {iz.kind or 'not'}"


def _language_reason(iz, card, winner, n, w, cards) -> str:
    return (f"Candidate {n} is cataloged in {cataloging_language(card)} (040 $b), "
            f"the IZ record in {cataloging_language(iz)}")


def _survivor_reason(iz, card, winner, n, w, cards) -> str:
    later = superseded_by(card, cards)
    into = cards.index(later) + 1 if later is not None else w
    numbers = ", ".join(sorted(set(card.current_oclc_numbers) & set(later.cancelled_oclc_numbers))) if later else ""
    return f"OCLC merged candidate {n}'s number {numbers} into candidate {into}'s".replace("  ", " ")


def _level_reason(iz, card, winner, n, w, cards) -> str:
    return (f"Candidate {n}'s encoding level is {card.encoding_level_name or 'unknown'} (Leader/17), "
            f"candidate {w}'s {winner.encoding_level_name}")


def _holdings_reason(iz, card, winner, n, w, cards) -> str:
    return (f"Candidate {w} is held by {member_institutions(winner.holding_count)}, "
            f"candidate {n} by {card.holding_count}")


REASONS: dict[Rule, Callable[..., str]] = {
    Rule.SAME_KIND: _kind_reason,
    Rule.SAME_LANGUAGE: _language_reason,
    Rule.OCLC_SURVIVOR: _survivor_reason,
    Rule.ENCODING_LEVEL: _level_reason,
    Rule.MORE_HOLDINGS: _holdings_reason,
}


def parse_rules(text: str) -> tuple[Rule, ...]:
    """NZBOT_SUGGESTION_RULES: rule names in order, comma-separated; "off" for none.
    ValueError naming the known rules for anything else."""
    text = text.strip()
    if not text:
        return DEFAULT_RULES
    if text.lower() == "off":
        return ()
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in {r.value for r in Rule}]
    if unknown:
        raise ValueError(f"unknown rule {unknown[0]!r}: choose from {', '.join(r.value for r in Rule)}, or off")
    if len(set(names)) != len(names):
        raise ValueError("a rule is named twice")
    return tuple(Rule(n) for n in names)
