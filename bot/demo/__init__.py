"""`nzbot demo`: the real bot, played through on this computer alone.

For someone deciding whether to install nzbot, with no Slack app and no Alma key yet. It
runs the bot exactly as ``nzbot run`` does in HTTP mode (``create_bot`` and
``SlackHttpServer``, unmodified), pointed at the Alma simulator (the sample catalogue) and
at the local Slack stand-in (``bot.demo.local_slack.SlackStub``), all on 127.0.0.1 with free
ports, a temporary database and quick clocks. Then it does what a cataloger and the
Program Manager would do, sending signed requests exactly as Slack sends them:

1. ``/nz help``
2. ``/nz match`` on a record with one NZ match
3. ``/nz match`` on a multi-match (three NZ duplicates), with its "Send to the Program
   Manager" button
4. ``/nz preview`` of the set of unlinked records
5. ``/nz link`` of that set: the start message, its progress, the report in its thread
6. the Program Manager's message about the multi-match, the click on "Link to this
   record", and the verified link (the message updated, and a reply in the job's thread)
7. a pick of a candidate that no 035 singles out: the token route, with the NZ's own API
   key; the token is seen put on the NZ record and taken off again
8. a second member institution of the consortium, served by the same bot (NZBOT_CONFIG's
   consortium mode): its cataloger's lookup reads its own IZ, its link job's multi-match
   reaches the same Program Manager's queue naming the institution, and the pick links the
   record in that member's IZ
9. ``/nz schedule`` of the set every Monday at 02:00, and ``/nz schedules`` listing it

The conversation is printed as it happens, read from what the bot sent to the Slack
stand-in, and written as an HTML transcript. Every wait is bounded: a step that does not
happen in time stops the demo with a message naming it (``DemoFailed``).
"""

from __future__ import annotations

import logging
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, TextIO, TypeVar

from bot.demo.blocks import buttons, everything_said
from bot.demo.transcript import Transcript


def link_button(message: dict, nz_mms_id: str) -> dict | None:
    """The "Link to this record" button under NZ record `nz_mms_id`, its value read with the
    bot's own codec (bot/action_ids.py), as the bot will read the click."""
    from bot import action_ids

    for button in buttons(message):
        action_id = str(button.get("action_id"))
        if (action_ids.base(action_id) == action_ids.LINK_CANDIDATE
                and action_ids.read(action_id, button.get("value")).mms_id == nz_mms_id):
            return button
    return None

CATALOGER = "UCATALOG1"
PM = "UPROGMGR1"
REPORT = "CREPORT01"
CATALOGER_2 = "UCATALOG2"  # a cataloger of the second member institution
REPORT_2 = "CREPORT02"
NAMES = {CATALOGER: "cataloger", PM: "Program Manager", REPORT: "nz-report", "U_BOT": "nzbot",
         CATALOGER_2: "cataloger-2", REPORT_2: "college-nz"}
MEMBER_2 = "Second College"

# Quick clocks, so the whole story takes seconds (the real defaults are minutes).
POLL_SECONDS = 0.3  # how often the bot checks running jobs and cases
CASE_BATCH_SECONDS = 0.5  # how long a decision waits for others to share its link-job run
DISCOVER_SECONDS = 5.0  # how often it looks for runs started in Alma's UI
JOB_SECONDS = 2.0  # how long the simulator's link job takes

# Bounded waits (seconds).
ANSWER_TIMEOUT = 15.0  # an answer to a command
JOB_TIMEOUT = 30.0  # a link job from request to report
CASE_TIMEOUT = 30.0  # the Program Manager's message, and a decision to its verified link
SETTLE_SECONDS = 0.5  # after the last step, for messages still on their way

DEFAULT_OUT = "nzbot-demo.html"

T = TypeVar("T")


class DemoFailed(Exception):
    """A step of the demo did not happen (in time, or as it should)."""


class Demo:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.secret = secrets.token_hex(16)
        self.webhook_secret = secrets.token_hex(16)  # Alma's Webhooks integration profile's
        self.bot_token = "xoxb-demo-" + secrets.token_hex(8)
        self.api_key = "demo-" + secrets.token_hex(8)
        self.nz_api_key = "demo-nz-" + secrets.token_hex(8)
        self.api_key_2 = "demo-2-" + secrets.token_hex(8)  # the second member's IZ
        self.zone_2 = None
        self.transcript = Transcript(stream, NAMES)
        self.sim = self.stub = self.bot = self.server = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._quiet: list[tuple[logging.Logger, int]] = []
        self.step_number = 0
        self.step_title = ""

    # ------------------------------------------------------------------ set-up

    def start(self) -> None:
        from dataclasses import replace

        from alma.config import AlmaSettings
        from alma.simulator import Simulator, seed
        from nzbot.institutions import Institution
        from bot.app import create_bot
        from bot.demo.local_slack import SlackStub
        from bot.server import SlackHttpServer
        from nzbot.settings import BotSettings

        # APScheduler says so each time a 0.3 s round is still busy; not news in a demo.
        for name in ("apscheduler", "apscheduler.scheduler", "apscheduler.executors.default"):
            logger = logging.getLogger(name)
            self._quiet.append((logger, logger.level))
            logger.setLevel(logging.ERROR)
        self._tmp = tempfile.TemporaryDirectory(prefix="nzbot-demo-")
        # two member IZs sharing one NZ; the second made first, so seed's names are the first's
        second = seed.sample_state(institution_code="01DEMO_COLLEGE", iz_id_end="06392")
        self.sim = Simulator(state=seed.sample_state(), api_key=self.api_key, job_seconds=JOB_SECONDS,
                             seed=1, nz_api_key=self.nz_api_key)
        self.zone_2 = self.sim.add_institution(second, self.api_key_2)
        self.sim.state.institution_code = "01DEMO_UNIV"  # as Alma names it in its JOB_END webhook
        self.sim.start()
        self.stub = SlackStub(
            bot_token=self.bot_token,
            users={CATALOGER: {"name": "cataloger", "real_name": "Cataloger"},
                   CATALOGER_2: {"name": "cataloger-2", "real_name": "Cataloger at the college"},
                   PM: {"name": "program.manager", "real_name": "Program Manager"}},
            channels={REPORT: {"name": "nz-report", "members": [CATALOGER, PM]},
                      REPORT_2: {"name": "college-nz", "members": [CATALOGER_2, PM]}},
        ).start()
        alma = AlmaSettings(api_key=self.api_key, api_url=self.sim.base_url, nz_sru_url=self.sim.sru_url,
                            timeout_seconds=10.0, max_retries=2, quota_floor=0, nz_api_key=self.nz_api_key)
        # consortium mode, as NZBOT_CONFIG sets it: two members, one Program Manager
        members = (Institution(code="01DEMO_UNIV", name="Demo University", alma=alma, channels=(REPORT,)),
                   Institution(code="01DEMO_COLLEGE", name=MEMBER_2, alma=replace(alma, api_key=self.api_key_2),
                               channels=(REPORT_2,)))
        settings = BotSettings(
            alma=alma,
            members=members,
            bot_token=self.bot_token,
            signing_secret=self.secret,
            slack_api_url=self.stub.api_url,
            report_channel=REPORT,
            pm_users=(PM,),
            db_path=str(Path(self._tmp.name) / "nzbot.db"),
            poll_seconds=POLL_SECONDS,
            discover_seconds=DISCOVER_SECONDS,
            case_batch_seconds=CASE_BATCH_SECONDS,
            alma_webhook_secret=self.webhook_secret,
        )
        self.bot = create_bot(settings)
        self.server = SlackHttpServer(self.bot.app, host="127.0.0.1", port=0,
                                      alma_webhook=self.bot.alma_webhook).start()
        # each member's Alma calls the bot's /alma/webhook when a job ends, as its profile says
        self.sim.send_webhooks(f"http://127.0.0.1:{self.server.port}/alma/webhook", self.webhook_secret)
        self.say(
            "nzbot demo: the real bot, on this computer only (nothing goes to Slack or to Alma).\n"
            f"  nzbot, in HTTP mode as `nzbot run`: {self.server.url}\n"
            f"  Alma simulator with the sample catalogue: {self.sim.base_url}, calling the bot's "
            "/alma/webhook when a job ends (Alma's JOB_END webhook)\n"
            f"  Slack stand-in: {self.stub.base_url}\n"
            f"  Who: {NAMES[CATALOGER]} types /nz in #nz-report (Demo University), {NAMES[CATALOGER_2]} in "
            f"#college-nz ({MEMBER_2}); the {NAMES[PM]} decides both members' multi-matches."
        )

    def stop(self) -> None:
        """Stops everything that was started; safe after a partial start."""
        steps: list[Callable[[], Any]] = []
        if self.server is not None:
            steps.append(self.server.stop)
        if self.bot is not None:
            steps += [self.bot.stop, self.bot.services.store.close]
        if self.stub is not None:
            steps.append(self.stub.stop)
        if self.sim is not None:
            steps.append(self.sim.stop)
        for stop in steps:
            try:
                stop()
            except Exception as exc:  # keep stopping the rest
                print(f"nzbot demo: while stopping: {exc}", file=sys.stderr)
        self.server = self.bot = self.stub = self.sim = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        for logger, level in self._quiet:
            logger.setLevel(level)
        self._quiet = []

    # ------------------------------------------------------------------ helpers

    def say(self, text: str) -> None:
        self.transcript.write(text + "\n")

    def in_alma(self, text: str) -> None:
        """What the demo saw in Alma (the simulator) itself: printed and in the HTML."""
        self.transcript.note(text)

    def step(self, title: str) -> None:
        self.step_number += 1
        self.step_title = title
        self.transcript.step(self.step_number, title)

    def pump(self) -> None:
        self.transcript.follow(self.stub.calls())

    def wait(self, condition: Callable[[], T], timeout: float, what: str) -> T:
        """Follows the conversation until ``condition()`` is true; DemoFailed after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            value = condition()
            if value:
                self.pump()
                return value
            if time.monotonic() >= deadline:
                raise DemoFailed(f"step {self.step_number} ({self.step_title}): {what} did not happen "
                                 f"within {timeout:g} s")
            time.sleep(0.05)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            raise DemoFailed(f"step {self.step_number} ({self.step_title}): {what}")

    def first_call(self, method: str, predicate: Callable[[Any], bool]) -> Any:
        return next((c for c in self.stub.calls(method) if predicate(c)), None)

    def _post(self, body: str, response_name: str) -> None:
        from bot.demo.slack_requests import post_signed

        try:
            answer = post_signed(self.server.url, body, self.secret, timeout=ANSWER_TIMEOUT)
        except Exception as exc:
            raise DemoFailed(f"step {self.step_number} ({self.step_title}): nzbot did not answer "
                             f"the request: {exc}") from exc
        self.check(answer.status_code == 200, f"nzbot answered HTTP {answer.status_code}, not 200")
        self.transcript.acked(response_name, answer.status_code, answer.text,
                              answer.headers.get("Content-Type", ""))

    def command(self, text: str, user: str = CATALOGER, channel: str = REPORT) -> str:
        """Sends ``/nz text`` from the cataloger in #nz-report (or `user` in `channel`);
        returns its response_url name."""
        from bot.demo.slack_requests import slash_command_body

        self.pump()
        name = f"cmd{self.step_number}-{secrets.token_hex(4)}"
        body = slash_command_body(text, user_id=user, user_name=NAMES[user], channel_id=channel,
                                  channel_name=NAMES[channel], response_url=self.stub.response_url(name),
                                  team_id=self.stub.team_id, api_app_id=self.stub.app_id)
        self.transcript.command(user, channel, f"/nz {text}", name)
        self._post(body, name)
        return name

    def answer(self, name: str, what: str, timeout: float = ANSWER_TIMEOUT) -> dict[str, Any]:
        """The (first) message nzbot sent to a request's response_url."""
        call = self.wait(lambda: next(iter(self.stub.responses(name)), None), timeout, what)
        return call.args

    # ------------------------------------------------------------------ the story

    def play(self) -> None:
        from alma.simulator import seed
        from bot import action_ids
        from bot.notifier import REPORT_EVENT

        unique, multi = seed.CASES["unique"], seed.CASES["multi_three"]
        the_set = seed.SETS["unlinked"]

        self.step("a cataloger asks what the bot does")
        self.command("help")
        help_shown = [e for e in self.transcript.entries if e.kind == "message"]
        self.check(bool(help_shown) and "/nz match" in everything_said(help_shown[-1].message),
                   "/nz help showed no list of commands")

        self.step("look up a record with exactly one NZ match")
        said = everything_said(self.answer(self.command(f"match {unique}"), "the answer to /nz match"))
        self.check(seed.NZ_RECORDS["unique"] in said,
                   f"the answer did not name NZ record {seed.NZ_RECORDS['unique']}")

        self.step("look up a multi-match: several NZ records carry its OCLC number")
        shown = self.answer(self.command(f"match {multi}"), "the answer to /nz match")
        said = everything_said(shown)
        for suffix in "abc":
            self.check(seed.NZ_RECORDS[f"multi_three_{suffix}"] in said,
                       f"the answer did not name NZ record {seed.NZ_RECORDS[f'multi_three_{suffix}']}")
        self.check(any(b.get("action_id") == action_ids.SEND_TO_PM for b in buttons(shown)),
                   "the answer had no 'Send to the Program Manager' button")

        self.step("preview what the link job would do to the set of unlinked records")
        said = everything_said(self.answer(self.command(f"preview {the_set}"), "the preview",
                                           timeout=ANSWER_TIMEOUT * 2))
        self.check("Multi-match" in said and "Will link" in said, "the preview had no counts per verdict")

        self.step("run the link job on the set")
        started = self.answer(self.command(f"link {the_set}"), "the answer to /nz link")
        self.check(not any(word in everything_said(started).lower() for word in ("could not", "error")),
                   f"the link job did not start: {everything_said(started)[:200]}")
        report = self.wait(
            lambda: self.first_call("chat.postMessage", lambda c: c.ok and c.args.get("thread_ts")
                                    and (c.args.get("metadata") or {}).get("event_type") == REPORT_EVENT),
            JOB_TIMEOUT, "the link job's report in #nz-report")
        job_ts = report.args["thread_ts"]

        self.step("the cataloger asks for the figures: week by week, from nzbot's own records")
        said = everything_said(self.answer(self.command("stats"), "the answer to /nz stats"))
        self.check("Linked records and open cases" in said and "Link jobs" in said and "Total" in said,
                   f"/nz stats showed no figures: {said[:200]}")

        self.step(f"the {NAMES[PM]} reviews the job's cases and decides a multi-match")
        queue_call = self.wait(
            lambda: self.first_call("chat.postMessage", lambda c: c.ok and str(c.response.get("channel", ""))
                                    .startswith("D") and any(b.get("action_id") == action_ids.REVIEW_CASES
                                                             for b in buttons(c.args))),
            CASE_TIMEOUT, f"the {NAMES[PM]}'s message about the job's cases")
        dm, queue_ts = queue_call.response["channel"], queue_call.response["ts"]

        def queue_message() -> dict[str, Any] | None:
            return next((m for m in self.stub.messages(dm) if m["ts"] == queue_ts), None)

        message = queue_message()
        self.check(message is not None, "the Program Manager's message is not in the DM")
        review = next(b for b in buttons(message) if b.get("action_id") == action_ids.REVIEW_CASES)
        self.click(PM, dm, message, review, "on the queue message")
        chosen = seed.NZ_RECORDS["multi_three_b"]
        token_iz = seed.CASES["multi"]  # its suggestion accepted: the token route, below

        def case_to_decide(*done: str) -> dict[str, Any]:
            """The queue message once it shows a case to decide, none of `done` (decided)."""
            return self.wait(lambda: (lambda m: m if m and not any(iz in everything_said(m) for iz in done) and any(
                action_ids.base(str(b.get("action_id"))) in (action_ids.LINK_CANDIDATE, action_ids.SKIP_CASE)
                for b in buttons(m)) else None)(queue_message()), CASE_TIMEOUT, "a case in the message")

        def skip_to(*iz_ids: str, done: tuple[str, ...] = ()) -> dict[str, Any]:
            """The queue message once it shows one of `iz_ids`, the cases before it skipped."""
            message = case_to_decide(*done)
            for _ in range(20):
                if any(iz in everything_said(message) for iz in iz_ids):
                    return message
                skip = next(b for b in buttons(message) if action_ids.base(str(b.get("action_id"))) == action_ids.SKIP_CASE)
                self.click(PM, dm, message, skip, "on the case")
                with self.sim.state.lock:
                    records = list(self.sim.state.iz)
                done = (*done, next(iz for iz in records if iz in everything_said(message)))
                message = case_to_decide(*done)
            self.check(False, f"the review never showed IZ record {' or '.join(iz_ids)}")
            return message

        message = skip_to(token_iz, multi)
        if token_iz in everything_said(message):  # shown first: its suggestion accepted first
            self.play_token_route(dm, message)
            message = skip_to(multi, done=(token_iz,))
        self.step(f"no suggestion for true duplicates: the {NAMES[PM]} picks the candidate an 035 singles out")
        said = everything_said(message)
        self.check("look like true duplicates" in said, "the case of three alike NZ records made a suggestion")
        button = link_button(message, chosen)
        self.check(button is not None, f"the message had no 'Link to this record' button for NZ record {chosen}")
        self.click(PM, dm, message, button, f"under NZ record {chosen}")
        self.wait(lambda: self.first_call("chat.postMessage", lambda c: c.ok and c.args.get("thread_ts") == job_ts
                                          and multi in everything_said(c.args)
                                          and "verified" in everything_said(c.args)),
                  CASE_TIMEOUT, f"the verified link of IZ record {multi} in the link job's thread")
        self.wait(lambda: self.first_call("chat.postMessage", lambda c: c.ok and c.args.get("thread_ts") == job_ts
                                          and f"<@{PM}>" in everything_said(c.args)),
                  CASE_TIMEOUT, "the reply in the link job's thread")
        linked_to = self.sim.state.linked_nz_id_of(multi)
        self.check(linked_to == chosen, f"Alma shows IZ record {multi} linked to {linked_to}, not {chosen}")
        self.in_alma(f"\u2714 In Alma (the simulator), IZ record {multi} is now linked to NZ record {chosen}.")
        self.play_accept_all(dm, queue_message)
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            self.pump()
            time.sleep(0.05)
        self.play_second_member(dm)
        self.play_method_2()
        self.play_schedule(the_set)
        self.play_digest()

    def play_schedule(self, the_set: str) -> None:
        """A cataloger schedules the link job on the set weekly and lists the schedules. The
        run itself is not waited for (its time is days away): the tests show it firing."""
        self.step("a cataloger schedules the link job on the set every Monday night")
        made = everything_said(self.answer(self.command(f"schedule {the_set} weekly mon 02:00"),
                                           "the answer to /nz schedule"))
        self.check("schedule 1, weekly mon 02:00" in made, f"the schedule was not made: {made[:200]}")
        self.command("schedules")  # answered in the ack: no Alma call
        listed = everything_said([e for e in self.transcript.entries if e.kind == "message"][-1].message)
        self.check("Schedule 1" in listed and "Next run: Mon" in listed, f"/nz schedules did not list it: {listed[:200]}")

    def play_digest(self) -> None:
        """The weekly digest, posted now by the code the scheduler's round calls when its hour
        comes (NZBOT_DIGEST): each member's to its report channel, every member's to the PM."""
        from datetime import datetime, timezone

        from bot.digest import DIGEST_EVENT
        from nzbot import digest

        self.step("the weekly digest (posted now, as the scheduler posts it each Monday at 08:00)")
        settings = self.bot.services.settings
        period = digest.due(settings.digest or digest.parse(digest.DEFAULT), datetime.now(timezone.utc),
                            datetime(2000, 1, 1, tzinfo=timezone.utc), settings.zone)
        self.bot.scheduler.digest.post(period)
        posted = self.wait(lambda: self.first_call("chat.postMessage", lambda c: c.ok and (
            c.args.get("metadata") or {}).get("event_type") == DIGEST_EVENT), ANSWER_TIMEOUT, "the weekly digest")
        self.check("Weekly digest" in everything_said(posted.args), "the digest had no title")

    def play_method_2(self) -> None:
        """A cataloger links a record themselves from /nz match (the guidance's Method 2): the
        press goes the way of a Program Manager's pick and is read back before it is said."""
        from alma.simulator import seed
        from bot import action_ids

        self.step("a cataloger links a record themselves from /nz match (the guidance's Method 2)")
        iz, nz_ids = seed.add_multi_match(self.sim.state, "Ferns of the Cascades", "37000001",
                                          ("(OrU)b3700011x", "(OrU)b3700012x"))
        name = self.command(f"match {iz}")
        shown = self.answer(name, "the answer to /nz match")
        chosen = nz_ids[1]
        button = next((b for b in buttons(shown) if action_ids.base(str(b.get("action_id"))) == action_ids.MATCH_LINK
                       and str(b.get("value", "")).endswith(f":{chosen}")), None)
        self.check(button is not None, f"the answer had no 'Link to this record' button for NZ record {chosen}")
        self.check("$9 LOCAL" in str(button.get("confirm")), "the button asked for no confirmation")
        pressed = self.click_answer(CATALOGER, REPORT, name, button, f"under NZ record {chosen}")
        self.wait(lambda: any("verified in Alma" in everything_said(c.args) for c in self.stub.responses(pressed)),
                  CASE_TIMEOUT, f"the cataloger's answer saying IZ record {iz} is linked")
        linked_to = self.sim.state.linked_nz_id_of(iz)
        self.check(linked_to == chosen, f"Alma shows IZ record {iz} linked to {linked_to}, not {chosen}")
        self.in_alma(f"\u2714 In Alma (the simulator), IZ record {iz} is linked to NZ record {chosen}: the "
                     "cataloger's own pick, by the same route as a Program Manager's, and its MARC kept before "
                     f"the link (`/nz history {iz}`).")

    def click_answer(self, user: str, channel: str, response_name: str, button: dict[str, Any], about: str) -> str:
        """Presses a button on nzbot's (ephemeral) answer to a command; returns the press's
        response_url name."""
        from bot.demo.slack_requests import block_action_payload, interaction_body

        entry = self.transcript.answer_to(response_name)
        self.check(entry is not None, "the answer to click on was not seen")
        name = f"click{self.step_number}-{secrets.token_hex(4)}"
        payload = block_action_payload(
            str(button["action_id"]), str(button.get("value", "")), user_id=user, channel_id=channel,
            response_url=self.stub.response_url(name), team_id=self.stub.team_id, api_app_id=self.stub.app_id,
            button_text=str((button.get("text") or {}).get("text") or ""))
        payload["container"]["is_ephemeral"] = True
        self.transcript.click(user, entry, button, name, about)
        self._post(interaction_body(payload), name)
        return name

    def play_second_member(self, dm: str) -> None:
        """The consortium: a second member's cataloger, in its own channel, reads its own IZ;
        its multi-match reaches the same Program Manager's queue, and links in its IZ."""
        from alma.simulator import seed
        from bot import action_ids

        own = seed.CASES["multi_three"][:-5] + "06392"  # the college's copy: its MMS IDs end 06392
        self.step(f"a second member institution, {MEMBER_2}, in its own channel: its own IZ")
        said = everything_said(self.answer(self.command(f"match {own}", CATALOGER_2, REPORT_2),
                                           "the answer to /nz match in #college-nz"))
        self.check(own in said and seed.NZ_RECORDS["multi_three_a"] in said,
                   f"the answer did not read {MEMBER_2}'s IZ record {own}")
        set_id = self.zone_2.state.make_set("College multi-matches", [own]).id
        self.command(f"link {set_id}", CATALOGER_2, REPORT_2)
        self.step(f"the same {NAMES[PM]}'s queue gets {MEMBER_2}'s case, and the pick links in its IZ")
        queued = self.wait(
            lambda: next((m for m in self.stub.messages(dm) if "College multi-matches" in everything_said(m)
                          and any(b.get("action_id") == action_ids.REVIEW_CASES for b in buttons(m))), None),
            JOB_TIMEOUT + CASE_TIMEOUT, f"the {NAMES[PM]}'s queue message for {MEMBER_2}'s job")
        self.check(MEMBER_2 in everything_said(queued), f"the queue message did not name {MEMBER_2}")
        review = next(b for b in buttons(queued) if b.get("action_id") == action_ids.REVIEW_CASES)
        self.click(PM, dm, queued, review, "on the queue message")
        message = self.wait(
            lambda: next((m for m in self.stub.messages(dm) if m["ts"] == queued["ts"]
                          and own in everything_said(m)), None),
            CASE_TIMEOUT, f"{MEMBER_2}'s IZ record {own} in the queue message")
        self.check(MEMBER_2 in everything_said(message), f"the case did not name {MEMBER_2}")
        chosen = seed.NZ_RECORDS["multi_three_c"]
        button = next((b for b in buttons(message)
                       if action_ids.base(str(b.get("action_id"))) == action_ids.LINK_CANDIDATE
                       and str(b.get("value", "")).endswith(f":{chosen}")), None)
        self.check(button is not None, f"the message had no 'Link to this record' button for NZ record {chosen}")
        self.click(PM, dm, message, button, f"under NZ record {chosen}")
        self.wait(lambda: self.zone_2.state.linked_nz_id_of(own) == chosen, CASE_TIMEOUT,
                  f"IZ record {own} linked to NZ record {chosen} in {MEMBER_2}'s IZ")
        self.wait(lambda: self.first_call("chat.postMessage", lambda c: c.ok and c.args.get("channel") == REPORT_2
                                          and own in everything_said(c.args) and "verified" in everything_said(c.args)),
                  CASE_TIMEOUT, f"the verified link of IZ record {own} in #college-nz's job thread")
        self.say(f"\n\u2714 In {MEMBER_2}'s IZ (the simulator), IZ record {own} is linked to NZ record {chosen}; "
                 "one bot, one Program Manager, each member's own Alma.")

    def play_token_route(self, dm: str, message: dict[str, Any]) -> None:
        """A pick of a candidate that no 035 singles out: nzbot puts a token on it with the
        NZ's key, links by it, and takes it off again."""
        from alma.simulator import seed

        from bot import action_ids

        iz, chosen = seed.CASES["multi"], seed.NZ_RECORDS["multi_a"]
        self.step(f"the {NAMES[PM]} accepts the suggested pick, which no 035 singles out: the token route")
        said = everything_said(message)
        self.check("Suggested: candidate 1." in said and "Minimal" in said,
                   "the case did not suggest the full record over the minimal one")
        button = next((b for b in buttons(message) if b.get("action_id") == action_ids.ACCEPT_SUGGESTION), None)
        self.check(button is not None, "the case message had no 'Accept the suggestion' button")
        self.click(PM, dm, message, button, f"(NZ record {chosen}, the full record)")
        token = self.wait(lambda: self._token_on(chosen), CASE_TIMEOUT,
                          f"a token on NZ record {chosen}")
        self.in_alma(f"\u2192 In Alma (the simulator), NZ record {chosen} now carries 035 $a {token}: "
                 "nzbot put it there with the NZ's API key, and the same 035 on IZ record "
                 f"{iz}, so that the link job (other-system profile, prefix (NZBOT)) matches this record alone.")
        # the queue message has moved on to the next case; the case's record says it
        from nzbot.states import TOKEN_PENDING, CaseState, TokenState

        store = self.bot.services.store
        case = self.wait(lambda: next((c for c in store.cases() if c.iz_mms_id == iz and c.state == CaseState.LINKED
                                       and store.link_tokens(TokenState.REMOVED, case_id=c.id)
                                       and not store.link_tokens(*TOKEN_PENDING, case_id=c.id)), None),
                         CASE_TIMEOUT, f"the case linked and the token off NZ record {chosen}")
        (removed,) = store.link_tokens(TokenState.REMOVED, case_id=case.id)
        self.transcript.note(  # from the token's own row (its state), in the HTML too
            f"\u2192 nzbot's record of the case: {case.state}; the temporary 035 {removed.token} was put on "
            f"NZ record {removed.nz_mms_id} for the link job and has been taken off again (checked).")
        self.check(self._token_on(chosen) is None, f"the token is still on NZ record {chosen}")
        linked_to = self.sim.state.linked_nz_id_of(iz)
        self.check(linked_to == chosen, f"Alma shows IZ record {iz} linked to {linked_to}, not {chosen}")
        self.in_alma(f"\u2714 In Alma (the simulator), IZ record {iz} is linked to NZ record {chosen}, and "
                 f"NZ record {chosen} no longer carries {token}: the token was taken off again.")

    def play_accept_all(self, dm: str, queue_message: Callable[[], dict[str, Any] | None]) -> None:
        """The job's other cases with a suggested pick, accepted at once from the queue
        message; the true duplicates stay for the Program Manager."""
        from alma.simulator import seed
        from bot import action_ids

        self.step(f"the {NAMES[PM]} accepts the job's other suggestions at once")
        picks = {seed.CASES["multi_via_z"]: seed.NZ_RECORDS["multi_via_z_b"],  # OCLC's surviving record
                 seed.CASES["multi_language"]: seed.NZ_RECORDS["multi_language_eng"],  # cataloged in English
                 seed.CASES["multi_ebook"]: seed.NZ_RECORDS["multi_ebook_print"]}  # print, like the IZ record
        shown = seed.CASES["multi_via_z"]  # the next case under review: OCLC merged one record into the other
        message = self.wait(lambda: (lambda m: m if m and shown in everything_said(m) and any(
            b.get("action_id") == action_ids.ACCEPT_ALL for b in buttons(m)) else None)(queue_message()),
            CASE_TIMEOUT, f"IZ record {shown} under review, with 'Accept all'")
        self.check("OCLC merged candidate 1" in everything_said(message),
                   "the case did not say OCLC merged one candidate into the other")
        button = next(b for b in buttons(message) if b.get("action_id") == action_ids.ACCEPT_ALL)
        confirm = str((button.get("confirm") or {}).get("text"))
        for rule in ("OCLC's surviving record", "same language of cataloging", "same kind of resource"):
            self.check(rule in confirm, f"the confirmation did not count the suggestions by rule ({rule})")
        self.click(PM, dm, message, button, "on the queue message")
        self.wait(lambda: all(self.sim.state.linked_nz_id_of(iz) == nz for iz, nz in picks.items()), CASE_TIMEOUT,
                  "the suggested picks linked in Alma")
        self.in_alma("\u2714 In Alma (the simulator): " + "; ".join(
            f"IZ record {iz} is linked to NZ record {nz}" for iz, nz in picks.items()) + ". The serial's two NZ "
            "records are alike in everything compared: no suggestion, so that case stays for the Program Manager.")

    def _token_on(self, nz_mms_id: str) -> str | None:
        with self.sim.state.lock:
            bib = self.sim.state.nz.get(nz_mms_id)
            values = bib.marc.values_035("a") if bib else []
        return next((v for v in values if v.startswith("(NZBOT)")), None)

    def click(self, user: str, channel: str, message: dict[str, Any], button: dict[str, Any], about: str) -> None:
        """Presses a button on a bot message, as Slack reports it (a signed block_actions)."""
        from bot.demo.slack_requests import block_action_payload, interaction_body

        entry = self.transcript.message_at(channel, message["ts"])
        self.check(entry is not None, "the message to click on was not seen")
        name = f"click{self.step_number}-{secrets.token_hex(4)}"
        block_id = next((b.get("block_id") for b in message.get("blocks") or []
                         if button in (b.get("elements") or []) and b.get("block_id")), "b")
        payload = block_action_payload(
            str(button["action_id"]), str(button.get("value", "")), user_id=user, channel_id=channel,
            message_ts=message["ts"], response_url=self.stub.response_url(name), block_id=block_id,
            team_id=self.stub.team_id, api_app_id=self.stub.app_id,
            message={"type": "message", "ts": message["ts"], "user": self.stub.bot_user_id,
                     "bot_id": self.stub.bot_id, "text": message.get("text") or "",
                     "blocks": message.get("blocks") or []},
            button_text=str((button.get("text") or {}).get("text") or ""),
        )
        payload["channel"] = {"id": channel, "name": "directmessage" if channel.startswith("D") else channel}
        self.transcript.click(user, entry, button, name, about)
        self._post(interaction_body(payload), name)


def run(out: Path | str = DEFAULT_OUT, stream: TextIO | None = None) -> int:
    """Plays the demo, prints it to ``stream`` and writes the HTML transcript to ``out``.
    Returns 0; raises DemoFailed (after writing what happened so far) if a step failed."""
    stream = stream or sys.stdout
    out = Path(out)
    if not out.resolve().parent.is_dir():
        raise DemoFailed(f"cannot write the transcript to {out}: there is no folder {out.resolve().parent}")
    began = time.monotonic()
    demo = Demo(stream)
    failure: DemoFailed | None = None
    try:
        demo.start()
        demo.play()
    except DemoFailed as exc:
        failure = exc
    finally:
        try:
            if demo.stub is not None:
                demo.pump()
        finally:
            demo.stop()
    seconds = time.monotonic() - began
    facts = [
        ("What ran", "the real nzbot (HTTP mode, as `nzbot run`), against a local Alma simulator "
                     "with the sample catalogue and a local stand-in for Slack's Web API"),
        ("Requests", "signed slash commands and button clicks, as Slack sends them"),
        ("Took", f"{seconds:.1f} s"),
        ("Outcome", "every step happened" if failure is None else f"stopped: {failure}"),
    ]
    try:
        demo.transcript.write_html(out, title="nzbot demo: linking IZ records to the Network Zone", facts=facts)
    except OSError as exc:
        raise DemoFailed(f"could not write the transcript to {out}: {exc}") from exc
    if failure is not None:
        raise DemoFailed(f"{failure} (what happened until then is in {out})")
    demo.say(f"\nThe whole conversation took {seconds:.1f} s. Transcript: {out.resolve()}")
    return 0
