"""The Slack Web API stub behaves like Slack for what nzbot uses."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from tests.slack.faults import SlackStub

TOKEN = "xoxb-test"


@pytest.fixture(scope="module")
def stub():
    with SlackStub(
        bot_token=TOKEN,
        users={"U_PM": {"real_name": "Pat Manager"}, "U_CAT": {"name": "cat"}},
        channels={"C_REPORT": {"name": "nz-report", "members": ["U_PM", "U_CAT"]}},
    ) as s:
        yield s


@pytest.fixture(autouse=True)
def fresh(stub):
    stub.reset()
    yield


@pytest.fixture
def client(stub):
    return WebClient(token=TOKEN, base_url=stub.api_url)


def test_post_update_and_thread_replies_with_metadata(stub, client):
    metadata = {"event_type": "nz_multi_match", "event_payload": {"mms_id": "991234"}}
    parent = client.chat_postMessage(
        channel="C_REPORT",
        text="Record 991234 has 2 NZ matches",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*991234*"}}],
        metadata=metadata,
    )
    assert parent["ok"] and parent["channel"] == "C_REPORT"
    assert parent["message"]["metadata"] == metadata
    reply1 = client.chat_postMessage(channel="C_REPORT", text="first reply", thread_ts=parent["ts"])
    reply2 = client.chat_postMessage(channel="C_REPORT", text="second reply", thread_ts=parent["ts"])
    other = client.chat_postMessage(channel="C_REPORT", text="unrelated")
    # ts are unique and increase, and look like Slack's
    stamps = [parent["ts"], reply1["ts"], reply2["ts"], other["ts"]]
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 4
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)

    updated = client.chat_update(channel="C_REPORT", ts=parent["ts"], text="Record 991234: linked")
    assert updated["ok"] and updated["text"] == "Record 991234: linked"

    thread = client.conversations_replies(channel="C_REPORT", ts=parent["ts"], include_all_metadata=True)
    texts = [m["text"] for m in thread["messages"]]
    assert texts == ["Record 991234: linked", "first reply", "second reply"]
    assert thread["messages"][0]["metadata"] == metadata  # kept through the update
    assert thread["messages"][0]["reply_count"] == 2
    assert thread["messages"][0]["blocks"][0]["text"]["text"] == "*991234*"  # blocks kept too
    assert all(m["thread_ts"] == parent["ts"] for m in thread["messages"])

    # without include_all_metadata, no metadata
    plain = client.conversations_replies(channel="C_REPORT", ts=parent["ts"])
    assert "metadata" not in plain["messages"][0]

    # replies() from a reply's ts gives the same thread
    again = client.conversations_replies(channel="C_REPORT", ts=reply1["ts"])
    assert [m["ts"] for m in again["messages"]] == [parent["ts"], reply1["ts"], reply2["ts"]]

    # history: top-level only, newest first
    history = client.conversations_history(channel="C_REPORT")
    assert [m["text"] for m in history["messages"]] == ["unrelated", "Record 991234: linked"]

    msgs = stub.messages("C_REPORT")
    assert [m["text"] for m in msgs] == ["Record 991234: linked", "first reply", "second reply", "unrelated"]
    assert msgs[1]["thread_ts"] == parent["ts"] and msgs[0]["metadata"] == metadata
    assert set(msgs[0]) == {"ts", "channel", "text", "blocks", "thread_ts", "metadata", "user"}

    link = client.chat_getPermalink(channel="C_REPORT", message_ts=reply1["ts"])
    assert link["permalink"].endswith(f"p{reply1['ts'].replace('.', '')}?thread_ts={parent['ts']}&cid=C_REPORT")


def test_form_encoded_blocks_and_metadata_are_decoded(stub):
    # Some clients send chat.* as a form with JSON strings inside.
    r = requests.post(
        stub.api_url + "chat.postMessage",
        data={
            "channel": "C_REPORT",
            "text": "hi",
            "blocks": '[{"type": "divider"}]',
            "metadata": '{"event_type": "x", "event_payload": {"a": 1}}',
        },
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert r.json()["ok"]
    call = stub.calls("chat.postMessage")[-1]
    assert call.args["blocks"] == [{"type": "divider"}]
    assert stub.messages("C_REPORT")[-1]["metadata"] == {"event_type": "x", "event_payload": {"a": 1}}
    assert call.headers["Content-Type"].startswith("application/x-www-form-urlencoded")


def test_errors_like_slack(stub, client):
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="C_NOPE", text="x")
    assert e.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as e:
        client.users_info(user="U_NOBODY")
    assert e.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as e:
        client.chat_update(channel="C_REPORT", ts="1.000000", text="x")
    assert e.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as e, pytest.warns(UserWarning, match="text"):
        client.chat_postMessage(channel="C_REPORT")
    assert e.value.response["error"] == "no_text"
    # failed calls are recorded too
    assert [c.ok for c in stub.calls()] == [False, False, False, False]


def test_auth_required(stub):
    with pytest.raises(SlackApiError) as e:
        WebClient(token="xoxb-wrong", base_url=stub.api_url).auth_test()
    assert e.value.response["error"] == "invalid_auth"
    r = requests.post(stub.api_url + "auth.test", timeout=5)
    assert r.status_code == 200 and r.json() == {"ok": False, "error": "not_authed"}
    ok = WebClient(token=TOKEN, base_url=stub.api_url).auth_test()
    assert ok["user_id"] == "U_BOT" and ok["team_id"] == "T1" and ok["bot_id"] == "B_BOT"
    assert stub.calls("auth.test")[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    assert stub.messages("C_REPORT") == []


def test_fail_next(stub, client):
    stub.fail_next("chat.postMessage", "ratelimited")
    with pytest.raises(SlackApiError) as e:
        client.chat_postMessage(channel="C_REPORT", text="x")
    assert e.value.response.status_code == 429
    assert e.value.response.headers.get("Retry-After") == "1"
    assert e.value.response["error"] == "ratelimited"
    # only the next one failed, and nothing was stored by it
    assert client.chat_postMessage(channel="C_REPORT", text="y")["ok"]
    assert [m["text"] for m in stub.messages("C_REPORT")] == ["y"]

    stub.fail_next("users.info", "fatal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as e:
            client.users_info(user="U_PM")
        assert e.value.response.status_code == 200 and e.value.response["error"] == "fatal_error"
    assert client.users_info(user="U_PM")["user"]["real_name"] == "Pat Manager"


def test_users_channels_dms_ephemeral_views(stub, client):
    assert client.users_info(user="U_CAT")["user"]["name"] == "cat"
    info = client.conversations_info(channel="C_REPORT")["channel"]
    assert info["name"] == "nz-report" and info["is_channel"]
    assert client.conversations_members(channel="C_REPORT")["members"] == ["U_PM", "U_CAT"]

    dm = client.conversations_open(users="U_PM")["channel"]["id"]
    assert dm.startswith("D")
    posted = client.chat_postMessage(channel=dm, text="a multi-match needs you")
    assert posted["channel"] == dm and stub.messages(dm)[0]["text"] == "a multi-match needs you"
    # posting to a user id lands in their DM, as on Slack
    assert client.chat_postMessage(channel="U_PM", text="again")["channel"] == dm
    with pytest.raises(SlackApiError):
        client.conversations_open(users="U_GHOST")

    eph = client.chat_postEphemeral(channel="C_REPORT", user="U_CAT", text="only you")
    assert eph["message_ts"]
    assert stub.ephemerals("C_REPORT")[0]["user"] == "U_CAT"
    assert stub.messages("C_REPORT") == []  # ephemeral messages are not channel messages

    assert client.api_call("reactions.add", json={"channel": "C_REPORT", "name": "x"})["ok"]
    assert stub.calls("reactions.add")[0].args["name"] == "x"


def test_response_url_and_wait_for(stub):
    url = stub.response_url("cmd1")
    WebhookClient(url).send(text="Working on it", response_type="ephemeral", replace_original=False)
    [resp] = stub.responses()
    assert resp.name == "cmd1" and resp.args["text"] == "Working on it"
    assert resp.args["response_type"] == "ephemeral" and resp.args["replace_original"] is False

    client = WebClient(token=TOKEN, base_url=stub.api_url)
    timer = threading.Timer(0.2, lambda: client.chat_postMessage(channel="C_REPORT", text="late"))
    timer.start()
    started = time.monotonic()
    call = stub.wait_for("chat.postMessage", lambda c: c.args.get("text") == "late", timeout=5)
    assert call.at >= started and call.ok
    with pytest.raises(AssertionError, match="recorded calls"):
        stub.wait_for("chat.update", timeout=0.2)


def test_more_than_50_blocks_are_refused_as_slack_does(client):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"line {n}"}} for n in range(51)]
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="C_REPORT", text="t", blocks=blocks)
    assert refused.value.response["error"] == "invalid_blocks"
    posted = client.chat_postMessage(channel="C_REPORT", text="t", blocks=blocks[:50])
    with pytest.raises(SlackApiError) as refused:
        client.chat_update(channel="C_REPORT", ts=posted["ts"], text="t", blocks=blocks)
    assert refused.value.response["error"] == "invalid_blocks"


def test_a_modal_is_opened_kept_and_updated_with_slacks_hash_check(stub, client):
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Form"}, "blocks": []}
    with pytest.raises(SlackApiError):
        client.views_open(trigger_id="", view=view)  # a modal needs a trigger
    opened = client.views_open(trigger_id="t1", view=view)["view"]
    assert stub.views() == [{**view, "id": opened["id"], "hash": opened["hash"]}]
    changed = {**view, "title": {"type": "plain_text", "text": "Checked"}}
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)["view"]
    assert updated["hash"] != opened["hash"] and stub.views()[0]["title"]["text"] == "Checked"
    with pytest.raises(SlackApiError) as stale:  # updated since that hash was given
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=view)
    assert stale.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError):
        client.views_update(view_id="V_NONE", view=view)
