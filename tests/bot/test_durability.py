"""Issue 11's durability faults, each over real HTTP: the bot's own endpoint, the Alma
simulator and the Slack stand-in (whose `hold_answers` / `drop_answers` store a message and
then hold back or drop the answer), and real `nzbot run` processes killed with SIGKILL.

- an unexpected error is logged with its traceback wherever the user is told it was;
- a re-check that keeps failing is tried a bounded number of times, then said once;
- a kill -9, or a dropped connection, between Slack storing a start message, a report or
  a case message and nzbot recording it leaves no orphan and no second post;
- a database held by another writer, or one that cannot be written, never costs an ack;
- a deleted start message: the report goes to the top of the channel, once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from slack_sdk import WebClient

from alma.simulator import seed
from alma.simulator import server as sim_server
from bot import action_ids
from tests.bot.conftest import BOT_TOKEN, REPORT, SECRET, block_text, click
from tests.bot.subprocess_bot import REPO, SubprocessBot, reports, wait_until
from tests.bot.subprocess_bot import bot, stub  # noqa: F401 (fixtures)
from tests.conftest import API_KEY

ACK_LIMIT = 3.0
MEMBERS = "GET /almaws/v1/conf/sets/{set_id}/members"
UNWRITABLE = "nzbot cannot write its database; nothing was changed"


@contextlib.contextmanager
def alma_answers(key: str, answer):
    """The simulator's route `key` answers `answer(simulator, request)` instead: Alma
    saying something nzbot never expected (the network edge, nothing of ours)."""
    index = next(i for i, route in enumerate(sim_server.ROUTES) if route[2] == key)
    original = sim_server.ROUTES[index]
    sim_server.ROUTES[index] = (*original[:3], answer)
    try:
        yield
    finally:
        sim_server.ROUTES[index] = original


def members_that_are_numbers(simulator, req):
    """A members page whose members are not objects: nothing nzbot expects (a bug's way in)."""
    return 200, {"member": [1, 2], "total_record_count": 2}, "json"


def timed_command(send, text: str, **kwargs):
    started = time.monotonic()
    answer, name = send(text, **kwargs)
    elapsed = time.monotonic() - started
    assert answer.status_code == 200, (text, answer.status_code, answer.text)
    assert elapsed < ACK_LIMIT, f"/nz {text} acked after {elapsed:.2f}s"
    return answer, name


def start_messages(stub) -> list[dict]:
    return [m for m in stub.messages(REPORT) if not m.get("thread_ts")
            and (m.get("metadata") or {}).get("event_type") != "nzbot_job_report"]


def case_messages(stub, channel: str) -> list[dict]:
    """The messages in a Program Manager's DM (nzbot posts nothing else there)."""
    return stub.messages(channel)


def posts_to(channel_prefix: str, event_type: str | None = None):
    def matches(args: dict) -> bool:
        if not str(args.get("channel", "")).startswith(channel_prefix):
            return False
        return event_type is None or (args.get("metadata") or {}).get("event_type") == event_type
    return matches


def start_post(args: dict) -> bool:
    """A start message (told by where it goes, not by the metadata the fix adds)."""
    return (args.get("channel") == REPORT and not args.get("thread_ts")
            and (args.get("metadata") or {}).get("event_type") != "nzbot_job_report")


def assert_one_report_per_job(store, stub, settle: float = 1.0) -> None:
    wait_until(lambda: store.link_jobs() and all(j.state == "reported" for j in store.link_jobs()),
               timeout=25, what="every link job reported")
    time.sleep(settle)  # a second post would come within a few rounds
    for job in store.link_jobs():
        mine = [m for m in reports(stub) if m["metadata"]["event_payload"].get("link_job") == job.id]
        assert len(mine) == 1, f"link job {job.id}: {len(mine)} reports"
        assert mine[0]["ts"] == job.report_ts
    starts = start_messages(stub)
    assert len(starts) == len(store.link_jobs()), [block_text(m) for m in starts]
    assert sorted(m["ts"] for m in starts) == sorted(j.message_ts for j in store.link_jobs())


# -- 2. unexpected errors are logged; a failing re-check is bounded -------------------

def test_an_unexpected_error_is_logged_with_its_traceback_where_the_user_is_told_so(harness, caplog):
    caplog.set_level(logging.ERROR)
    harness.start()
    with alma_answers(MEMBERS, members_that_are_numbers):
        _, preview = timed_command(harness.command, f"preview {seed.SETS['link_test']}")
        said = block_text(harness.stub.wait_for(
            "response_url", lambda c: c.name == preview and "Something went wrong" in block_text(c.args),
            timeout=15).args)
    assert "The error has been logged" in said and "nothing was changed" in said
    logged = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    assert "Traceback" in caplog.text and "AttributeError" in caplog.text
    for secret in (API_KEY, BOT_TOKEN, SECRET):
        assert secret not in caplog.text


def test_a_failing_recheck_is_tried_a_bounded_number_of_times_and_said_once_in_the_thread(harness):
    harness.start()
    link_jobs = harness.bot.services.link_jobs
    link_jobs.recheck_wait_seconds = 0.3
    members_before = harness.sim.calls.get(MEMBERS, 0)
    with alma_answers(MEMBERS, members_that_are_numbers):
        timed_command(harness.command, f"link {seed.SETS['link_test']}")
        job = harness.wait(lambda: next(iter(harness.store.link_jobs("reported")), None), timeout=20,
                           what="the job reported")
        harness.wait(lambda: harness.store.link_job(job.id).reconciled, timeout=15,
                     what="the re-check given up")
        time.sleep(1.5)  # five more rounds: no more tries, no more messages
        tries = harness.sim.calls.get(MEMBERS, 0) - members_before
    job = harness.store.link_job(job.id)
    said = [m for m in harness.stub.messages(REPORT)
            if m.get("thread_ts") == job.message_ts and "re-check" in block_text(m)]
    assert len(said) == 1, [block_text(m) for m in said]
    assert "3 tries" in block_text(said[0]) and f"/nz preview {job.set_id}" in block_text(said[0])
    assert tries == link_jobs.recheck_tries  # one read of the set per try, not one per round
    assert [r["action"] for r in harness.store.audit_rows()].count("recheck_failed") == 1


def test_a_cases_found_reply_whose_answer_was_lost_is_not_said_twice(harness):
    """Slack stores the re-check's "cases found" reply, then the connection drops: the
    re-check is tried again and finds its reply in the thread, so the thread says it once."""
    harness.start()
    harness.bot.services.link_jobs.recheck_wait_seconds = 0.3
    harness.stub.drop_answers("chat.postMessage", lambda args: "multi-match" in json.dumps(args.get("blocks"))
                              and "Each went to the Program Manager" in json.dumps(args.get("blocks")))
    harness.command(f"link {seed.SETS['link_test']}")
    job = harness.wait(lambda: next((j for j in harness.store.link_jobs() if j.reconciled), None), timeout=30,
                       what="the job re-checked")
    found = [m for m in harness.stub.messages(REPORT)
             if m.get("thread_ts") == job.message_ts and "Each went to the Program Manager" in block_text(m)]
    assert len(found) == 1, [block_text(m) for m in found]
    assert harness.stub.calls("conversations.replies")  # looked for before saying it again
    assert [r["action"] for r in harness.store.audit_rows()].count("recheck_failed") == 0


# -- 4. kill -9 between Slack storing a message and nzbot recording it ----------------

def test_killed_after_slack_stored_the_start_message_leaves_no_orphan(sim, stub, bot):
    bot.start()
    release = stub.hold_answers("chat.postMessage", start_post)
    answer, _ = bot.command(f"link {seed.SETS['link_test']}")
    assert answer.status_code == 200
    wait_until(lambda: start_messages(stub), what="Slack to store the start message")
    bot.kill()  # nzbot never heard the message's ts
    release.set()
    bot.start()
    assert_one_report_per_job(bot.store, stub)
    (job,) = bot.store.link_jobs()
    assert "waiting to start" not in block_text(start_messages(stub)[0]).lower()
    assert sorted(sim.state.runs) == [job.instance_id]


def test_killed_after_slack_stored_the_pm_s_queue_message_the_pm_gets_one(sim, stub, bot):
    """A job's cases reach each Program Manager as one queue message (with "Review cases")."""
    iz = seed.CASES["multi_three"]
    bot.start()
    release = stub.hold_answers("chat.postMessage", posts_to("D"))
    answer, _ = bot.command(f"link {sim.state.make_set('Orphan test set', [iz]).id}")
    assert answer.status_code == 200
    dm = wait_until(lambda: next((c.args["channel"] for c in stub.calls("chat.postMessage")
                                  if str(c.args.get("channel", "")).startswith("D")), None),
                    timeout=25, what="Slack to store the queue message")
    bot.kill()
    release.set()
    bot.start()
    (job,) = bot.store.link_jobs()
    wait_until(lambda: bot.store.queue_messages_of(job.id), timeout=20, what="the queue message recorded")
    time.sleep(1.0)
    (shown,) = case_messages(stub, dm)
    assert bot.store.queue_messages_of(job.id) == [(dm, shown["ts"])]


# -- 5. a dropped connection after Slack stored the post ------------------------------

@pytest.mark.parametrize("post", ["start message", "report", "queue message"])
def test_a_dropped_connection_after_slack_stored_a_post_never_posts_it_twice(harness, post):
    iz = seed.CASES["multi_three"]
    predicate = {"start message": start_post,
                 "report": posts_to(REPORT, "nzbot_job_report"),
                 "queue message": posts_to("D")}[post]
    harness.stub.drop_answers("chat.postMessage", predicate)
    harness.start()
    timed_command(harness.command, f"link {harness.sim.state.make_set('Drop test set', [iz]).id}")
    assert_one_report_per_job(harness.store, harness.stub)
    (job,) = harness.store.link_jobs()
    harness.wait(lambda: harness.store.queue_messages_of(job.id), what="the PM's queue message recorded")
    time.sleep(1.0)
    ((dm, ts),) = harness.store.queue_messages_of(job.id)
    assert [m["ts"] for m in case_messages(harness.stub, dm)] == [ts]
    dropped = [c for c in harness.stub.calls("chat.postMessage") if predicate(c.args)]
    assert len(dropped) == 1, f"the {post} was sent {len(dropped)} times"


# -- 6. a database held by another writer ---------------------------------------------

@contextlib.contextmanager
def write_lock(db_path, seconds: float):
    """Another process's write transaction on the bot's database, for `seconds`."""
    conn = sqlite3.connect(str(db_path), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT OR REPLACE INTO handled_requests (key, received_at) VALUES ('lock test', 'held')")
    held_until = time.monotonic() + seconds
    try:
        yield
        time.sleep(max(0.0, held_until - time.monotonic()))
    finally:
        conn.rollback()
        conn.close()


def test_a_ten_second_write_lock_costs_no_ack_and_no_request(harness):
    harness.start()
    with write_lock(harness.db_path, 10):
        sent = {text: timed_command(harness.command, text)
                for text in ("help", "jobs", f"link {seed.SETS['link_test']}", "cases")}
        started = time.monotonic()
        clicked, name = click(harness, action_ids.SEND_TO_PM, seed.CASES["multi"], user="UCATALOG1",
                              channel=REPORT)
        assert clicked.status_code == 200 and time.monotonic() - started < ACK_LIMIT
        acks = {text: block_text(answer.json()) for text, (answer, _) in sent.items()}
        assert "/nz link" in acks["help"]
        assert "Checking set" in acks[f"link {seed.SETS['link_test']}"]
        assert harness.store.link_jobs() == []  # nothing could be written yet
    # The lock gone, the work after each ack is done, once.
    _, link_name = sent[f"link {seed.SETS['link_test']}"]
    answered = block_text(harness.response(link_name, timeout=20).args)
    assert "Link job test set" in answered and f"<#{REPORT}>" in answered, answered
    harness.wait(lambda: len(harness.store.link_jobs()) == 1, what="the link request recorded")
    # The case: sent, or (a read-then-write transaction that lost the race for the lock,
    # until store transactions begin IMMEDIATE) "busy, try again" with nothing recorded.
    sent = block_text(harness.response(name, timeout=20).args)
    if "busy" in sent:
        assert "try again" in sent and harness.store.cases() == []
    else:
        assert "Program Manager" in sent and len(harness.store.cases()) == 1, sent
    time.sleep(0.5)
    assert len(harness.store.link_jobs()) == 1
    said = [block_text(c.args) for c in harness.stub.responses()]
    assert not [t for t in said if "Something went wrong" in t], said


def test_a_write_waiting_past_its_bound_is_busy_not_a_failure(tmp_path):
    """The bound itself, on real SQLite: a wait cut short says "busy, try again"."""
    from bot.errors import DATABASE_BUSY, user_message
    from nzbot.store import BUSY, Store, database_fault

    store = Store(str(tmp_path / "nzbot.db"))
    store.bound_waits(0.2)
    with write_lock(tmp_path / "nzbot.db", 0):
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError) as raised:
            store.first_time("command:T1")
        assert time.monotonic() - started < 1.0
    assert database_fault(raised.value) == BUSY
    assert user_message(raised.value) == DATABASE_BUSY
    assert store.first_time("command:T1")  # nothing was recorded by the busy attempt
    store.close()


# -- 7. a database that cannot be written ---------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB filesystem of its own (tmpfs), or skip where this user may not mount one."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("needs to mount a small tmpfs (root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk) -> str:
    path = os.path.join(disk, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    os.close(fd)
    return path


def test_a_full_disk_is_said_plainly_and_costs_no_ack(sim, stub, tmp_path, small_disk):
    bot = SubprocessBot(sim, stub, tmp_path, extra_env={"NZBOT_DB": str(small_disk / "nzbot.db")})
    bot.db_path = small_disk / "nzbot.db"
    try:
        bot.start()
        filler = fill(small_disk)
        names = [timed_command(bot.command, text)[1] for text in ("help", f"link {seed.SETS['link_test']}")]
        clicked, click_name = bot.click(action_ids.SKIP_CASE, "1")
        assert clicked.status_code == 200
        for name in names + [click_name]:
            said = stub.wait_for("response_url", lambda c: c.name == name, timeout=10).args
            assert UNWRITABLE in block_text(said)
        assert sim.state.runs == {}
        os.remove(filler)  # room again: the bot carries on, nothing half-done
        timed_command(bot.command, f"link {seed.SETS['link_test']}")
        assert_one_report_per_job(bot.store, stub)
        assert len(bot.store.link_jobs()) == 1
    finally:
        bot.stop()


def run_with_db(sim, stub, db_path) -> subprocess.CompletedProcess:
    bot = SubprocessBot(sim, stub, db_path.parent if db_path.parent.exists() else REPO)
    env = {**bot.env, "NZBOT_DB": str(db_path)}
    return subprocess.run([sys.executable, "-m", "bot.cli", "run"], env=env, capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)


def assert_one_line_naming_the_setting(done: subprocess.CompletedProcess, db_path) -> None:
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("nzbot: cannot write its database") and f"NZBOT_DB={db_path}" in lines[0]
    assert "Traceback" not in done.stderr


def test_start_up_with_a_database_that_cannot_be_written_says_so_in_one_line(sim, stub, tmp_path):
    missing = tmp_path / "no such folder" / "nzbot.db"
    assert_one_line_naming_the_setting(run_with_db(sim, stub, missing), missing)


def test_start_up_on_a_read_only_filesystem_says_so_in_one_line(sim, stub, small_disk):
    from nzbot.store import Store

    db_path = small_disk / "nzbot.db"
    store = Store(str(db_path))
    store.first_time("written before")
    store.close()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    assert_one_line_naming_the_setting(run_with_db(sim, stub, db_path), db_path)


# -- 12. a deleted start message --------------------------------------------------------

def test_a_deleted_start_message_gets_its_report_at_the_top_of_the_channel_once(harness):
    harness.sim.job_seconds = 1.5
    harness.start()
    timed_command(harness.command, f"link {seed.SETS['link_test']}")
    job = harness.wait(lambda: next((j for j in harness.store.link_jobs() if j.message_ts), None),
                       what="the start message")
    WebClient(token=BOT_TOKEN, base_url=harness.stub.api_url).chat_delete(channel=REPORT, ts=job.message_ts)
    harness.wait(lambda: harness.store.link_job(job.id).state == "reported", timeout=20,
                 what="the job reported")
    harness.restart()  # a new process looks for the report before posting it again
    time.sleep(1.5)
    (report,) = reports(harness.stub)
    assert report.get("thread_ts") is None
    assert report["ts"] == harness.store.link_job(job.id).report_ts
