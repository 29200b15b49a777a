"""What became of a pick reaches the Program Manager, although the queue message moves
on to the next case after each decision (issue 10 under issue 13's queue): the review
message keeps a line on the case just decided (whom a hand-off went to); a failed link,
a token Alma would not take off an NZ record, and a hand-off each reach the PM once, as
a reply in the thread of the job's queue message; the Home tab says what needs them."""

from __future__ import annotations

from nzbot.access import EVERY_MEMBER
from alma.simulator import seed
from bot import action_ids
from bot.case_notifier import PM_NOTICE_EVENT
from bot.rendering import Message
from nzbot.states import PmNotice
from tests.bot.conftest import CATALOGER, block_text, click, review
from tests.bot.message_checks import check_slack_rules
from tests.bot.test_cases import LINK, case_for, handoffs, link_set, state_of
from tests.bot.test_link_routes import tokens_in_nz, with_nz_key
from tests.bot.test_pm_queue import home_opened, message_at, published


def notices(harness, channel, ts, case_id=None):
    """The PM's replies in the thread of the queue message (channel, ts)."""
    return [m for m in harness.stub.messages(channel)
            if m.get("thread_ts") == ts and (m.get("metadata") or {}).get("event_type") == PM_NOTICE_EVENT
            and (case_id is None or m["metadata"]["event_payload"]["case"] == case_id)]


def within_slack(message: dict) -> None:
    check_slack_rules(Message(text=message["text"], blocks=message["blocks"]))


def two_cases(harness, name):
    """Two multi-match cases of one job; the first has no 035 of its own on any candidate."""
    records = [seed.add_multi_match(harness.sim.state, f"{name} {n}", f"3700000{n}", ("", "")) for n in range(2)]
    link_set(harness, *[iz for iz, _ in records])
    return records, [case_for(harness, iz) for iz, _ in records]


def test_a_hand_off_pick_says_whom_it_went_to_in_the_pms_message_and_in_its_thread_once(harness):
    harness.start()  # no NZ key, no unique 035: the pick goes to the cataloger who started the job
    records, (case, other) = two_cases(harness, "Native plants of Washington")
    channel, ts = review(harness, case)
    click(harness, LINK, f"{case.id}:{records[0][1][0]}", channel=channel, message_ts=ts)
    harness.wait(lambda: handoffs(harness), what="the hand-off to the cataloger")
    line = f"Case {case.id} (Native plants of Washington 0): handed to <@{CATALOGER}> with the Metadata Editor steps"
    shown = harness.wait(lambda: (m := message_at(harness, channel, ts)) and line in block_text(m) and m,
                         what="the review message naming whom it went to")
    assert other.iz_mms_id in block_text(shown)  # and it shows the next case, in place
    within_slack(shown)
    (notice,) = harness.wait(lambda: notices(harness, channel, ts, case.id), what="the PM's reply")
    assert f"<@{CATALOGER}>" in block_text(notice) and "Metadata Editor" in block_text(notice)
    assert "Share with Network" not in block_text(notice)  # the IZ steps are the cataloger's only
    within_slack(notice)
    # deciding the next case replaces the line with that one's
    click(harness, action_ids.SKIP_CASE, str(other.id), channel=channel, message_ts=ts)
    harness.wait(lambda: f"Case {other.id} (" in block_text(message_at(harness, channel, ts)),
                 what="the line on the case decided last")
    within_slack(message_at(harness, channel, ts))
    assert len(notices(harness, channel, ts, case.id)) == 1
    assert len([m for m in harness.stub.messages(channel) if not m.get("thread_ts")]) == 1


def test_a_failed_link_reaches_the_pm_once_with_its_buttons_and_is_back_in_the_queue(harness):
    harness.sim.job_seconds = 1.5
    with_nz_key(harness).start()
    records, (case, other) = two_cases(harness, "Failing link")
    (iz, (chosen, elsewhere)) = records[0]
    channel, ts = review(harness, case)
    click(harness, LINK, f"{case.id}:{chosen}", channel=channel, message_ts=ts)
    harness.wait(lambda: harness.store.case(case.id).linking_job, what="the token route's link job")
    harness.sim.state.link(iz, elsewhere)  # meanwhile someone links it elsewhere in Alma's UI
    failed = state_of(harness, case.id, "failed", "linked")
    assert failed.state == "failed" and elsewhere in failed.note
    (notice,) = harness.wait(lambda: notices(harness, channel, ts, case.id), what="the PM told")
    text = block_text(notice)
    assert f"Case {case.id}" in text and elsewhere in text and "back in your queue" in text
    assert f"{action_ids.LINK_CANDIDATE}:1" in {e["action_id"] for b in notice["blocks"]
                                                if b["type"] == "actions" for e in b["elements"]}
    within_slack(notice)
    # back in the queue: the next to review, and counted as waiting again
    assert harness.store.next_case_to_review(case.link_job).id == case.id
    assert harness.store.case_counts(case.link_job, scope=EVERY_MEMBER).get("failed") == 1
    # told once: a retry, and a retry after a crash between Slack storing the reply and
    # nzbot recording it, find the reply instead of posting another
    notifier = harness.bot.services.cases.notifier
    notifier.tell_pm(harness.store.case(case.id), PmNotice.FAILED)
    key = f"pm_notice:{case.id}:failed:{failed.decided_at}:{channel}:{ts}"
    harness.store.begin_post(key)  # the intent only, as before a crash
    notifier.tell_pm(harness.store.case(case.id), PmNotice.FAILED)
    harness.restart()
    harness.wait(lambda: harness.store.link_tokens(case_id=case.id)[0].state == "removed", what="the token off")
    assert len(notices(harness, channel, ts, case.id)) == 1
    # its buttons work from the thread: decided again there, the reply follows
    click(harness, action_ids.SKIP_CASE, str(case.id), channel=channel, message_ts=notice["ts"])
    state_of(harness, case.id, "skipped")
    harness.wait(lambda: "skipped" in block_text(message_at(harness, channel, notice["ts"])).lower(),
                 what="the reply updated")


def test_a_token_stuck_on_an_nz_record_reaches_the_pm_once_with_the_exact_035(harness):
    harness.sim.job_seconds = 1.0
    with_nz_key(harness).start()
    records, (case, other) = two_cases(harness, "Stuck token")
    (iz, (_, chosen)) = records[0]
    channel, ts = review(harness, case)
    click(harness, LINK, f"{case.id}:{chosen}", channel=channel, message_ts=ts)
    harness.wait(lambda: harness.store.case(case.id).state == "linking", what="the token on")
    harness.sim.faults.refuse_put.add(chosen)  # from now on Alma will not save that NZ record
    assert state_of(harness, case.id, "linked", "failed").state == "linked"
    (token,) = harness.store.link_tokens(case_id=case.id)
    (notice,) = harness.wait(lambda: notices(harness, channel, ts, case.id), what="the PM told")
    text = block_text(notice)
    assert f"`035 $a {token.token}`" in text and f"NZ record `{chosen}`" in text and "Network Zone" in text
    within_slack(notice)
    # the Home tab: needs your attention, naming the record and the field
    seen = len(harness.stub.calls("views.publish"))
    home_opened(harness)
    view = harness.wait(lambda: next((c.args["view"] for c in published(harness, seen)
                                      if "Needs your attention: 1" in block_text(c.args["view"])), None),
                        what="the Home tab's attention list")
    assert token.token in block_text(view) and chosen in block_text(view) and len(view["blocks"]) <= 100
    # nzbot keeps trying; every refusal is one more round, never one more message
    rounds = harness.sim.calls.get("PUT /almaws/v1/bibs/{mms_id}", 0)
    harness.wait(lambda: harness.sim.calls.get("PUT /almaws/v1/bibs/{mms_id}", 0) >= rounds + 2,
                 what="two more tries")
    assert len(notices(harness, channel, ts, case.id)) == 1
    harness.sim.faults.refuse_put.clear()
    harness.wait(lambda: harness.store.link_token(token.id).state == "removed", what="the token off")
    assert tokens_in_nz(harness.sim) == []
    seen = len(harness.stub.calls("views.publish"))
    home_opened(harness)
    view = harness.wait(lambda: next((c.args["view"] for c in published(harness, seen)), None), what="the Home tab")
    assert "Needs your attention" not in block_text(view)
