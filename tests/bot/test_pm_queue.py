"""The Program Manager's queue: one message per job (how many cases, from which set,
"Review cases"), one case at a time in that message with the next in place after each
decision, and the Home tab showing the queue by job with "Review next"."""

from __future__ import annotations

import json
import time

from alma.simulator import seed
from bot import action_ids
from bot.demo.slack_requests import JSON, block_action_payload, interaction_body, post_signed
from tests.bot.conftest import CATALOGER, PM, SECRET, block_text, click, queue_message

LINK = f"{action_ids.LINK_CANDIDATE}:1"


def three_cases(harness):
    records = [seed.add_multi_match(harness.sim.state, f"Queued title {n}", f"3500000{n}",
                                    (f"(OrU)q{n}01", f"(OrU)q{n}02")) for n in range(3)]
    set_id = harness.sim.state.make_set("Queue test set", [iz for iz, _ in records]).id
    harness.command(f"link {set_id}")
    harness.wait(lambda: len(harness.store.cases()) == 3, what="three cases")
    return records, harness.store.cases()


def message_at(harness, channel, ts):
    return next(m for m in harness.stub.messages(channel) if m["ts"] == ts)


def actions_in(message):
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_one_message_per_job_and_the_next_case_in_place_after_each_decision(harness):
    harness.start()
    records, cases = three_cases(harness)
    channel, ts = queue_message(harness, cases[0].link_job)
    summary = block_text(message_at(harness, channel, ts))
    assert "3 multi-match cases" in summary and "Queue test set" in summary
    assert [b["action_id"] for b in actions_in(message_at(harness, channel, ts))] == [action_ids.REVIEW_CASES]

    _, refused = click(harness, action_ids.REVIEW_CASES, str(cases[0].link_job), user=CATALOGER,
                       channel=channel, message_ts=ts)
    assert "Only the Program Manager" in block_text(harness.response(refused).args)

    click(harness, action_ids.REVIEW_CASES, str(cases[0].link_job), channel=channel, message_ts=ts)
    for n, case in enumerate(cases):  # oldest first, each in the same message
        harness.wait(lambda: harness.store.case_messages(case.id) == [(channel, ts)],
                     what=f"case {case.id} in the queue message")
        text = block_text(message_at(harness, channel, ts))
        assert case.iz_mms_id in text and f"Reviewing {3 - n} case" in text
        if n == 1:
            click(harness, LINK, f"{case.id}:{records[1][1][0]}", channel=channel, message_ts=ts)
        else:
            click(harness, action_ids.SKIP_CASE, str(case.id), channel=channel, message_ts=ts)
    harness.wait(lambda: "every one has been decided" in block_text(message_at(harness, channel, ts)),
                 what="the queue message, all decided")
    assert actions_in(message_at(harness, channel, ts)) == []
    assert len(harness.stub.messages(channel)) == 1, "one message for the job, never one per case"
    assert [harness.store.case(c.id).state for c in cases][0::2] == ["skipped", "skipped"]
    assert harness.store.case(cases[1].id).state in ("deciding", "linking", "linked")


def home_opened(harness, user=PM):
    body = json.dumps({
        "type": "event_callback", "team_id": "T1", "api_app_id": "A_NZBOT", "token": "verification-token",
        "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": user, "channel": "D0000PM01", "tab": "home",
                  "event_ts": f"{time.time():.6f}"},
    })
    return post_signed(harness.server.url, body, SECRET, content_type=JSON)


def published(harness, after: int = 0):
    return [c for c in harness.stub.calls("views.publish")[after:] if c.args.get("user_id") == PM]


def test_the_home_tab_shows_the_queue_and_reviews_from_it(harness):
    harness.start()
    records, cases = three_cases(harness)
    queue_message(harness, cases[0].link_job)
    seen = len(harness.stub.calls("views.publish"))
    assert home_opened(harness).status_code == 200
    call = harness.wait(lambda: next((c for c in published(harness, seen)
                                      if "Queue test set" in block_text(c.args["view"])), None),
                        what="the Home tab published")
    view = call.args["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = block_text(view)
    assert "3 to decide" in text and "3 cases waiting" in text
    assert [b["value"] for b in actions_in(view)] == ["all"]

    # "Review next" from the Home tab: a message in the PM's DM, showing the oldest case
    payload = block_action_payload(action_ids.REVIEW_CASES, "all", user_id=PM)
    payload["container"] = {"type": "view", "view_id": "V1"}
    payload.pop("channel", None), payload.pop("message", None), payload.pop("response_url", None)
    payload["view"] = {"id": "V1", "type": "home"}
    from tests.bot.conftest import SECRET as secret
    assert post_signed(harness.server.url, interaction_body(payload), secret).status_code == 200
    ((channel, ts),) = harness.wait(lambda: harness.store.case_messages(cases[0].id), what="the oldest case shown")
    assert cases[0].iz_mms_id in block_text(message_at(harness, channel, ts))
    click(harness, action_ids.SKIP_CASE, str(cases[0].id), channel=channel, message_ts=ts)
    harness.wait(lambda: harness.store.case_messages(cases[1].id) == [(channel, ts)], what="the next case in place")

    # the Home tab follows the change (debounced), without being opened again
    harness.wait(lambda: any("2 to decide" in block_text(c.args["view"]) for c in published(harness, seen)),
                 timeout=15, what="the Home tab updated")
