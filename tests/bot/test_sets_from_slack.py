"""Sets from Slack, over HTTP: `/nz link` with no set opens a modal; pasted MMS IDs become
an Alma set, previewed with "Link these N records", or linked at once; bad pastes get the
modal's field errors and make nothing; a chosen set links; those who may not start link
jobs are refused; and the "Check NZ matches" shortcut answers a message's identifiers."""

from __future__ import annotations

import time

from alma.simulator import seed
from bot import action_ids
from bot.demo.slack_requests import (interaction_body, message_action_payload, post_signed,
                                     view_submission_payload)
from tests.bot.conftest import CATALOGER, REPORT, SECRET, block_text, click

OUTSIDER = "UOTHER001"


# -- talking to the modal, as Slack does -----------------------------------------------------

def open_modal(harness, text: str = "link", *, user: str = CATALOGER) -> dict:
    """`/nz link` with no set: the view Slack was asked to open."""
    trigger = f"trigger-{len(harness.stub.calls('views.open'))}-{user}"
    answer, _ = harness.command(text, user=user, trigger_id=trigger)
    assert answer.status_code == 200
    return harness.stub.wait_for("views.open", lambda c: c.args.get("trigger_id") == trigger).args["view"]


def form_values(*, set_id: str | None = None, paste: str | None = None, contribute: bool = False,
                preview: bool = True) -> dict:
    """The modal's state.values as Slack sends them, keyed by block id then action id."""
    def ticked(name: str, on: bool) -> dict:
        chosen = [{"text": {"type": "plain_text", "text": name}, "value": name}] if on else []
        return {name: {name: {"type": "checkboxes", "selected_options": chosen}}}

    chosen = {"text": {"type": "plain_text", "text": "a set"}, "value": set_id} if set_id else None
    return {"set": {"set": {"type": "static_select", "selected_option": chosen}},
            "ids": {"ids": {"type": "plain_text_input", "value": paste}},
            **ticked("contribute", contribute), **ticked("preview", preview)}


def submit(harness, view: dict, values: dict, *, user: str = CATALOGER) -> dict:
    """Submits the modal; the ack's JSON ({} when the modal just closes)."""
    body = interaction_body(view_submission_payload(view, values, user_id=user))
    answer = post_signed(harness.server.url, body, SECRET)
    assert answer.status_code == 200
    return answer.json() if answer.content else {}


def ephemerals(harness, user: str = CATALOGER) -> list[str]:
    return [block_text(e) for e in harness.stub.ephemerals(REPORT) if e["user"] == user]


def said(harness, words: str, user: str = CATALOGER, timeout: float = 20) -> str:
    return harness.wait(lambda: next((e for e in ephemerals(harness, user) if words in e), None),
                        timeout=timeout, what=f"an answer saying {words!r}")


def link_set_button(harness) -> dict:
    """The "Link these N records" button of the last preview posted to the cataloger."""
    previews = [e for e in harness.stub.ephemerals(REPORT) if "Link job preview" in block_text(e)]
    return next(el for b in previews[-1]["blocks"] if b["type"] == "actions" for el in b["elements"]
                if el["action_id"] == action_ids.LINK_SET)


def made_sets(harness) -> dict[str, list[str]]:
    return {s.name: list(s.members) for s in harness.sim.state.sets.values() if s.name.startswith("nzbot ")}


def runs_on(harness, set_id: str) -> list:
    return [r for r in harness.sim.state.runs.values() if r.params.get("set_id") == set_id]


PASTED = [seed.CASES["unique"], seed.CASES["multi"], seed.CASES["no_match"]]


# -- the modal -------------------------------------------------------------------------------

def test_the_modal_offers_sets_of_link_jobs_and_alma_with_preview_on_and_contribute_off(harness):
    harness.start()
    view = open_modal(harness)
    assert view["callback_id"] == action_ids.LINK_MODAL
    assert action_ids.read(action_ids.LINK_MODAL, view["private_metadata"]).channel == REPORT
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["ids"]["element"]["multiline"] and blocks["ids"]["element"]["max_length"] == 3000
    assert "initial_options" in blocks["preview"]["element"]  # preview first: on
    assert "initial_options" not in blocks["contribute"]["element"]  # contribute: off
    assert "duplicate" in blocks["contribute"]["element"]["options"][0]["description"]["text"]
    # the member's Alma sets follow in one call, by views.update
    update = harness.stub.wait_for("views.update").args
    offered = [o["value"] for b in update["view"]["blocks"] if b.get("block_id") == "set"
               for g in b["element"]["option_groups"] for o in g["options"]]
    assert seed.SETS["link_test"] in offered
    assert harness.sim.calls.get("GET /almaws/v1/conf/sets", 0) == 1


def test_link_contribute_with_no_set_opens_the_form_with_contribute_ticked(harness):
    harness.start()
    view = open_modal(harness, "link CONTRIBUTE")
    (contribute,) = [b for b in view["blocks"] if b.get("block_id") == "contribute"]
    assert [o["value"] for o in contribute["element"]["initial_options"]] == ["contribute"]
    assert not harness.store.link_jobs()


def test_pasted_ids_make_a_set_of_exactly_those_records_previewed_then_linked(harness):
    harness.start()
    view = open_modal(harness)
    before = set(harness.sim.state.sets)
    paste = "\n".join([*PASTED, f"  {seed.CASES['unique']}  ", ""])  # a repeat, spaces, a blank line
    assert submit(harness, view, form_values(paste=paste)) == {}  # the modal closes
    made = said(harness, "Made Alma set")
    assert "1 repeated MMS ID was dropped" in made and "Previewing it" in made
    (new_id,) = set(harness.sim.state.sets) - before
    new = harness.sim.state.sets[new_id]
    assert sorted(new.members) == sorted(PASTED)
    assert new.name.startswith(f"nzbot {CATALOGER} ") and new.name.endswith(" 1")
    preview = said(harness, "Link job preview")
    assert "Records in the set:* 3" in preview and "No NZ match" in preview
    button = link_set_button(harness)
    assert button["text"]["text"] == "Link these 3 records"
    assert not runs_on(harness, new_id)  # nothing runs before the press
    _, name = click(harness, button["action_id"], button["value"], user=CATALOGER, channel=REPORT)
    harness.wait(lambda: runs_on(harness, new_id), what="the link job run on the new set")
    (job,) = [j for j in harness.store.link_jobs() if j.set_id == new_id]
    assert job.requested_by == CATALOGER and not job.contribute
    (run,) = runs_on(harness, new_id)
    assert run.params["contribute_nz"] == "false"
    harness.wait(lambda: any("The link job on set" in block_text(c.args) for c in harness.stub.responses(name)),
                 what="the press answered")
    # a second paste the same day gets the next number
    submit(harness, open_modal(harness), form_values(paste=seed.CASES["unique_2"]))
    harness.wait(lambda: any(n.endswith(" 2") for n in made_sets(harness)), what="the second set")


def test_without_preview_the_job_starts_at_once_with_the_contribute_choice(harness):
    harness.start()
    before = set(harness.sim.state.sets)
    submit(harness, open_modal(harness), form_values(paste="\n".join(PASTED), contribute=True, preview=False))
    harness.wait(lambda: set(harness.sim.state.sets) - before, what="the set made")
    (new_id,) = set(harness.sim.state.sets) - before
    harness.wait(lambda: runs_on(harness, new_id), what="the link job run at once")
    assert runs_on(harness, new_id)[0].params["contribute_nz"] == "true"
    said(harness, "The link job on set")
    assert not [e for e in ephemerals(harness) if "Link job preview" in e]


def test_choosing_a_recent_set_links_it(harness):
    harness.start()
    chosen = seed.SETS["link_test"]
    harness.command(f"link {chosen}")  # once before: now a recent set of this member's
    harness.wait(lambda: runs_on(harness, chosen), what="the first run")
    harness.wait(lambda: all(r.finished for r in runs_on(harness, chosen)), timeout=30, what="the first run over")
    view = open_modal(harness)
    recent = [o for b in view["blocks"] if b.get("block_id") == "set"
              for g in b["element"]["option_groups"] if g["label"]["text"] == "Used in link jobs here"
              for o in g["options"]]
    assert [o["value"] for o in recent] == [chosen]  # from nzbot's records, before Alma answers
    sets_before = set(harness.sim.state.sets)
    assert submit(harness, view, form_values(set_id=chosen, preview=False)) == {}
    harness.wait(lambda: len(runs_on(harness, chosen)) == 2, timeout=30, what="the chosen set linked again")
    assert set(harness.sim.state.sets) == sets_before  # no set made


# -- bad input: field errors, and no set made ---------------------------------------------------

def refused_in_field(harness, values: dict, block: str, words: str) -> None:
    view = open_modal(harness)
    sets_before = {k: list(v.members) for k, v in harness.sim.state.sets.items()}
    ack = submit(harness, view, values)
    assert ack["response_action"] == "errors" and words in ack["errors"][block], ack
    assert {k: list(v.members) for k, v in harness.sim.state.sets.items()} == sets_before
    assert not harness.store.link_jobs()


def test_text_that_is_not_an_mms_id_is_named_in_the_field(harness):
    harness.start()
    refused_in_field(harness, form_values(paste=f"{seed.CASES['unique']}\nocm12345\n12"), "ids",
                     "Not MMS IDs: ocm12345, 12.")


def test_an_id_that_is_no_record_of_this_iz_is_named_in_the_field(harness):
    harness.start()
    harness.sim.reset_calls()
    refused_in_field(harness, form_values(paste=f"{seed.CASES['unique']}\n99999999906391"), "ids",
                     "Not IZ records of your institution: 99999999906391.")
    assert harness.sim.calls.get("GET /almaws/v1/bibs", 0) == 1  # both ids in one batched read


def test_an_empty_paste_is_refused(harness):
    harness.start()
    refused_in_field(harness, form_values(paste=" \n\n  "), "ids", "The paste holds no MMS IDs")


def test_neither_a_set_nor_a_paste_is_refused(harness):
    harness.start()
    refused_in_field(harness, form_values(), "ids", "Choose a set above, or paste")


def test_both_a_set_and_a_paste_are_refused(harness):
    harness.start()
    refused_in_field(harness, form_values(set_id=seed.SETS["link_test"], paste=seed.CASES["unique"]), "ids",
                     "not both")


def test_a_check_slower_than_the_ack_says_checking_and_shows_the_problem_in_the_form(harness):
    harness.start()
    view = open_modal(harness)
    harness.stub.wait_for("views.update")  # the Alma sets, before Alma slows down
    harness.sim.faults.latency = 2.5  # past the ack's budget
    paste = f"{seed.CASES['unique']}\n99999999906391"
    ack = submit(harness, view, form_values(paste=paste))
    assert ack["response_action"] == "update" and "Checking in Alma" in block_text(ack["view"])
    update = harness.stub.wait_for("views.update", lambda c: "Not IZ records" in block_text(c.args["view"]),
                                   timeout=15).args["view"]
    (ids,) = [b for b in update["blocks"] if b.get("block_id") == "ids"]
    assert ids["element"]["initial_value"] == paste  # the paste kept, to correct
    assert not made_sets(harness)


# -- who may ------------------------------------------------------------------------------------

def test_an_outsiders_submission_and_press_are_refused_and_change_nothing(harness):
    harness.overrides["allowed_users"] = (CATALOGER,)  # only the cataloger starts link jobs
    harness.start()
    view = open_modal(harness)  # the cataloger's modal, submitted by someone else
    sets_before = set(harness.sim.state.sets)
    ack = submit(harness, view, form_values(paste="\n".join(PASTED), preview=False), user=OUTSIDER)
    assert ack["response_action"] == "update" and "Link jobs are started only in" in block_text(ack["view"])
    value = action_ids.value(action_ids.LINK_SET, set_id=seed.SETS["link_test"], contribute=False)
    _, name = click(harness, action_ids.LINK_SET, value, user=OUTSIDER, channel=REPORT)
    assert "Link jobs are started only in" in block_text(harness.response(name).args)
    # the outsider's own /nz link opens nothing
    answer, _ = harness.command("link", user=OUTSIDER, trigger_id="outsider-trigger")
    assert "Link jobs are started only in" in block_text(answer.json())
    assert not harness.stub.calls("views.open")[1:]  # only the cataloger's
    assert set(harness.sim.state.sets) == sets_before and not harness.store.link_jobs()
    assert not harness.sim.state.runs
    refused = {(r["actor"], r["action"]) for r in harness.store.audit_rows() if r["outcome"].startswith("refused")}
    assert {(OUTSIDER, action_ids.LINK_MODAL), (OUTSIDER, action_ids.LINK_SET)} <= refused


# -- the "Check NZ matches" shortcut ------------------------------------------------------------

def shortcut(harness, text: str, *, user: str = CATALOGER, channel: str = REPORT) -> str:
    name = f"shortcut-{len(harness.stub.calls())}"
    payload = message_action_payload(action_ids.CHECK_NZ_MATCHES, text, user_id=user, channel_id=channel,
                                     response_url=harness.stub.response_url(name))
    assert post_signed(harness.server.url, interaction_body(payload), SECRET).status_code == 200
    return name


def test_the_shortcut_answers_two_mms_ids_and_an_oclc_number(harness):
    harness.start()
    ocn = next(v for v in harness.sim.state.iz[seed.CASES["unique"]].marc.values_035("a") if "OCoLC" in v)
    text = f"Could someone link {seed.CASES['unique']} and {seed.CASES['multi']}? Also {ocn}."
    shortcut(harness, text)
    header = said(harness, "NZ matches for 3 identifiers")
    assert "left out" not in header
    answers = harness.wait(lambda: [e for e in ephemerals(harness) if e.startswith("IZ record")
                                    or e.startswith("OCLC number")] if len(ephemerals(harness)) >= 4 else None,
                           what="three match answers")
    assert any(a.startswith(f"IZ record {seed.CASES['unique']}") and "Will link" in a for a in answers)
    assert any(a.startswith(f"IZ record {seed.CASES['multi']}") and "Multi-match" in a for a in answers)
    assert any(a.startswith("OCLC number") for a in answers)


def test_the_shortcut_checks_ten_and_says_how_many_were_left_out(harness):
    harness.start()
    ids = list(seed.CASES.values())[:13]
    shortcut(harness, "\n".join(ids))
    header = said(harness, "NZ matches for 10 identifiers")
    assert "3 more identifiers were left out" in header and ids[12] in header
    harness.wait(lambda: len(ephemerals(harness)) >= 11, timeout=30, what="ten answers")
    time.sleep(0.5)  # an 11th answer would show now
    assert len(ephemerals(harness)) == 11
    assert not any(ids[10] in e for e in ephemerals(harness)[1:])
