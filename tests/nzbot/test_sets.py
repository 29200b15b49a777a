"""Sets from Slack, Slack-free: reading a paste, naming the set, and finding identifiers in a message."""

from __future__ import annotations

from datetime import date

from alma.simulator import seed
from nzbot.lookups import identifiers_in
from nzbot.sets import make_pasted_set, read_paste, set_name


def test_a_paste_is_read_one_id_a_line_with_repeats_counted_and_bad_lines_named():
    paste = read_paste("9949620601852\n\n  9949620601852 \nocm123\n99100000106391\n12")
    assert paste.ids == ("9949620601852", "99100000106391")
    assert paste.repeats == 1 and paste.not_mms_ids == ("ocm123", "12")
    assert read_paste(" \n ").ids == ()


def test_sets_of_a_day_are_numbered(client):
    day = date(2026, 1, 2)
    first = make_pasted_set(client, "U1", (seed.CASES["unique"],), day)
    second = make_pasted_set(client, "U1", (seed.CASES["multi"],), day)
    assert (first.name, second.name) == (set_name("U1", day, 1), set_name("U1", day, 2)) == (
        "nzbot U1 2026-01-02 1", "nzbot U1 2026-01-02 2")
    assert second.number_of_members == 1


def test_identifiers_in_a_message_in_order_each_once():
    text = ("link 9949620601852 please (see <https://x.example/9949620601852>); OCLC #52467191, "
            "also (OCoLC)52467191 and ocm00012345; not 12345 nor 1999")
    assert identifiers_in(text) == ["9949620601852", "52467191", "ocm00012345"]
