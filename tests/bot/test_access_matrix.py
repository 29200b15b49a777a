"""The access policy, over HTTP, for every listener nzbot registers: each command, button
and event, sent signed as Slack sends it, by each kind of person (the Program Manager in
their DM, a cataloger of each member in its channel, someone in no member's channel),
on a case of each member. The expected answers are written out here, apart from the
policy's own table, so a change to who may do what shows up as a failing row."""

from __future__ import annotations

import json
import time

import pytest

from alma.simulator import seed
from bot import action_ids as A
from bot.access import DIRECT_MESSAGE, HOME_OPENED, NZ, RULES, subcommand
from bot.listeners.commands.nz import SUBCOMMANDS
from bot.demo.slack_requests import (JSON, block_action_payload, interaction_body, message_action_payload,
                                    post_signed, view_submission_payload)
from tests.bot.conftest import PM, SECRET, block_text
from tests.bot.test_consortium import (OSU_CATALOGER, OSU_CHANNEL, STRAY, UO_CATALOGER, UO_CHANNEL, in_second,
                                       two)  # noqa: F401 (the fixture)

STRANGER = "USTRANGR1"
UO, OSU = "01SIM_UO", "01SIM_OSU"
# who asks, and where
ACTORS = {
    "pm": (PM, "DPROGMGR1"),
    "uo": (UO_CATALOGER, UO_CHANNEL),
    "osu": (OSU_CATALOGER, OSU_CHANNEL),
    "stranger": (STRANGER, STRAY),
}
# the words of each refusal, as the person reads them
WORDS = {
    "no member": "This channel is not linked to an institution",
    "not pm": "Only the Program Manager",
    "not theirs": "belongs to another member institution",
}
ALLOW, NO_MEMBER, NOT_PM, NOT_THEIRS = None, "no member", "not pm", "not theirs"

# /nz subcommands: (pm, uo, osu, stranger)
COMMANDS = {
    "help": (ALLOW, ALLOW, ALLOW, ALLOW),
    "match": (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),
    "preview": (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),
    "jobs": (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),
    "link": (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),
    "cases": (ALLOW, ALLOW, ALLOW, NO_MEMBER),
    "history": (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),
    "schedule": (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),
    "schedules": (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),
    "unschedule": (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),
    "stats": (ALLOW, ALLOW, ALLOW, NO_MEMBER),  # the PM: every member's; a member's channel: its own
}
COMMAND_TEXT = {"help": "help", "match": "match 9999999999", "preview": "preview No such set",
                "jobs": "jobs", "link": "link No such set", "cases": "cases csv", "history": "history 9900000000001",
                "schedule": "schedule No such set daily 02:00", "schedules": "schedules", "unschedule": "unschedule 424242",
                "stats": "stats"}
# buttons on a case: {actor: (on UO's case, on OSU's case)}
DECIDING = {"pm": (ALLOW, ALLOW), "uo": (NOT_PM, NOT_PM), "osu": (NOT_PM, NOT_PM), "stranger": (NOT_PM, NOT_PM)}
CASE_BUTTONS = {
    A.LINK_CANDIDATE: DECIDING,
    A.MERGE_INTO: DECIDING,
    A.CONTRIBUTE_NEW: DECIDING,
    A.SKIP_CASE: DECIDING,
    A.RECHECK_CASE: DECIDING,
    A.ACCEPT_SUGGESTION: DECIDING,
    A.CASE_PAGE: {"pm": (ALLOW, ALLOW), "uo": (ALLOW, NOT_THEIRS), "osu": (NOT_THEIRS, ALLOW),
                  "stranger": (NO_MEMBER, NO_MEMBER)},
}
# buttons on no case: (pm, uo, osu, stranger)
OTHER_BUTTONS = {
    A.SEND_TO_PM: (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),
    A.REVIEW_CASES: (ALLOW, NOT_PM, NOT_PM, NOT_PM),
    A.ACCEPT_ALL: (ALLOW, NOT_PM, NOT_PM, NOT_PM),  # every member's job: the PM's
    A.CASES_PAGE: (ALLOW, ALLOW, ALLOW, NO_MEMBER),
    A.MATCH_LINK: (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),  # a cataloger's own link: job starters only
    A.LINK_SET: (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),  # "Link these N records": job starters only
}
# a modal's submission (its channel in its private_metadata) and a message shortcut: (pm, uo, osu, stranger)
MODALS_AND_SHORTCUTS = {
    A.LINK_MODAL: (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),
    A.CHECK_NZ_MATCHES: (NO_MEMBER, ALLOW, ALLOW, NO_MEMBER),
}


def button_value(action_id: str, case) -> str:
    if action_id in (A.LINK_CANDIDATE, A.MERGE_INTO, A.ACCEPT_SUGGESTION):
        return A.value(action_id, case_id=case.id, mms_id=case.candidate_ids[-1])
    if action_id == A.CASE_PAGE:
        return A.value(action_id, case_id=case.id, page=1)
    return A.value(action_id, case_id=case.id)


def test_every_registered_listener_goes_through_the_policy(two):
    """A listener registered without `guarded` (so without a rule) fails here."""
    listeners = two.bot.app._listeners
    assert listeners, "no listeners registered"
    surfaces = []
    for listener in listeners:
        surface = getattr(listener.ack_function, "nzbot_surface", None)
        assert surface is not None, f"{listener.ack_function.__name__} is not guarded by bot.access"
        assert surface in RULES
        surfaces.append(surface)
    tested = {NZ, HOME_OPENED, DIRECT_MESSAGE, *CASE_BUTTONS, *OTHER_BUTTONS, *MODALS_AND_SHORTCUTS}
    assert set(surfaces) == tested, "a listener this matrix does not try"
    # and every subcommand has a rule, and a row here
    assert {subcommand(name) for name in SUBCOMMANDS} | {subcommand("help")} == {
        s for s in RULES if s.startswith(f"{NZ} ")}
    assert set(COMMANDS) == set(SUBCOMMANDS) | {"help"}


def refused_rows(harness) -> set[tuple[str, str, str, str]]:
    """(actor, surface, subject, why) of each refusal in the audit log."""
    return {(r["actor"], r["action"], r["subject"], r["outcome"].removeprefix("refused: "))
            for r in harness.store.audit_rows() if r["outcome"].startswith("refused")}


POLICY_WORDS = {NO_MEMBER: "no member", NOT_PM: "not the program manager", NOT_THEIRS: "not theirs"}


def test_each_listener_against_each_actor_and_each_members_case(two):
    uo_case, _ = two.bot.services.members[UO].cases.send_to_pm(seed.CASES["multi_three"], UO_CATALOGER)
    osu_case, _ = two.bot.services.members[OSU].cases.send_to_pm(in_second(seed.CASES["multi_three"]),
                                                                 OSU_CATALOGER)
    assert (uo_case.institution, osu_case.institution) == (UO, OSU)
    expected: set[tuple[str, str, str, str]] = set()
    answers: list[tuple[str, str, str | None]] = []  # (what, response name or ack text, expected refusal)

    for name, row in COMMANDS.items():
        for (who, (user, channel)), refusal in zip(ACTORS.items(), row):
            answer, _ = two.command(COMMAND_TEXT[name], user=user, channel=channel)
            assert answer.status_code == 200
            ack = block_text(answer.json()) if answer.content else ""
            said = [w for key, w in WORDS.items() if w in ack]
            assert said == ([WORDS[refusal]] if refusal else []), (name, who, ack)
            if refusal:
                expected.add((user, subcommand(name), "", POLICY_WORDS[refusal]))

    def press(action_id: str, value: str, who: str, refusal: str | None) -> None:
        user, channel = ACTORS[who]
        name = f"m{time.monotonic_ns()}"
        payload = block_action_payload(A.suffixed(action_id, 1) if action_id in (A.LINK_CANDIDATE, A.MERGE_INTO)
                                       else action_id, value, user_id=user, channel_id=channel,
                                       response_url=two.stub.response_url(name))
        assert post_signed(two.server.url, interaction_body(payload), SECRET).status_code == 200
        answers.append((f"{action_id} by {who} ({value})", name, refusal))
        if refusal:
            expected.add((user, action_id, value, POLICY_WORDS[refusal]))

    for action_id, by_actor in CASE_BUTTONS.items():
        for who, (on_uo, on_osu) in by_actor.items():
            press(action_id, button_value(action_id, uo_case), who, on_uo)
            press(action_id, button_value(action_id, osu_case), who, on_osu)
    for action_id, row in OTHER_BUTTONS.items():
        value = {A.SEND_TO_PM: seed.CASES["multi"], A.REVIEW_CASES: "all", A.ACCEPT_ALL: "all", A.CASES_PAGE: "1",
                 A.MATCH_LINK: A.value(A.MATCH_LINK, iz_mms_id="9900000000001", mms_id="9900000000002"),
                 A.LINK_SET: A.value(A.LINK_SET, set_id="99999999", contribute=False)}[action_id]
        for who, refusal in zip(ACTORS, row):
            press(action_id, value, who, refusal)

    for who, refusal in zip(ACTORS, MODALS_AND_SHORTCUTS[A.LINK_MODAL]):
        user, channel = ACTORS[who]
        # submitted empty: allowed, it gets a field error; refused, the modal says why
        view = {"type": "modal", "callback_id": A.LINK_MODAL, "private_metadata": A.value(A.LINK_MODAL, channel=channel)}
        ack = post_signed(two.server.url, interaction_body(view_submission_payload(view, {}, user_id=user)), SECRET)
        said = block_text({"blocks": ack.json().get("view", {}).get("blocks", [])}) if ack.content else ""
        if refusal:
            assert WORDS[refusal] in said, who
            expected.add((user, A.LINK_MODAL, "", POLICY_WORDS[refusal]))
        else:
            assert ack.json()["response_action"] == "errors", who
    for who, refusal in zip(ACTORS, MODALS_AND_SHORTCUTS[A.CHECK_NZ_MATCHES]):
        user, channel = ACTORS[who]
        name = f"s{time.monotonic_ns()}"
        payload = message_action_payload(A.CHECK_NZ_MATCHES, "no identifiers here", user_id=user,
                                         channel_id=channel, response_url=two.stub.response_url(name))
        assert post_signed(two.server.url, interaction_body(payload), SECRET).status_code == 200
        answers.append((f"shortcut by {who}", name, refusal))
        if refusal:
            expected.add((user, A.CHECK_NZ_MATCHES, "", POLICY_WORDS[refusal]))

    # every refusal, and only those, is in the audit log...
    two.wait(lambda: len(refused_rows(two)) >= len(expected), what="the refusals audited")
    time.sleep(0.5)  # an allowed request refused late would show now
    assert refused_rows(two) == expected
    # ...and each refused person was told why, in words
    for what, name, refusal in answers:
        if refusal:
            said = block_text(two.response(name).args)
            assert WORDS[refusal] in said, what
    # nothing a refused button names changed (the PM's own presses may have)
    assert two.store.case(uo_case.id).decided_by in (None, PM)
    assert two.store.case(osu_case.id).decided_by in (None, PM)


def home_opened(harness, user: str):
    body = json.dumps({
        "type": "event_callback", "team_id": "T1", "api_app_id": "A_NZBOT", "token": "verification-token",
        "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": user, "channel": f"D{user[1:]}", "tab": "home",
                  "event_ts": f"{time.time():.6f}"},
    })
    return post_signed(harness.server.url, body, SECRET, content_type=JSON)


@pytest.mark.parametrize("who", list(ACTORS))
def test_the_home_tab_shows_the_queue_to_the_program_manager_only(two, who):
    two.bot.services.members[OSU].cases.send_to_pm(in_second(seed.CASES["multi_three"]), OSU_CATALOGER)
    user, _ = ACTORS[who]
    assert home_opened(two, user).status_code == 200
    call = two.stub.wait_for("views.publish", lambda c: c.args.get("user_id") == user)
    text = block_text(call.args["view"])
    if who == "pm":
        assert "waiting for a decision" in text and "Review next" in text and "Sent from lookups" in text
    else:
        assert "only the Program Manager sees" in text
        assert "Multi-match cases" not in text and "waiting for a decision" not in text
        assert "Review next" not in text and "Sent from lookups" not in text
