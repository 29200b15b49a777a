"""The `nzbot` command: one console script, with subcommands."""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import signal
import sys
import tempfile
from typing import Sequence

from alma.config import SettingError
from alma.errors import AlmaError, BadInput
from nzbot import redaction, version
from nzbot.store import DatabaseProblem


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nzbot",
        description="Link Alma IZ bib records to the Network Zone, from Slack or here.",
    )
    parser.add_argument("--version", action="version", version=f"nzbot {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = commands.add_parser("simulator", help="run a local Alma simulator with sample data")
    sim.add_argument("--port", type=int, default=8900, help="port to listen on (default 8900)")
    sim.add_argument("--institutions", type=int, default=1, metavar="N",
                     help="serve N member IZs sharing one NZ, each with its own key (printed)")
    sim.set_defaults(handler=run_simulator)

    match = commands.add_parser("match", help="what an IZ record (or an OCLC number) would link to")
    match.add_argument("id", metavar="ID", help="an IZ MMS ID, or an OCLC number")
    match.add_argument("--json", action="store_true", help="print one JSON object")
    match.set_defaults(handler=run_match)

    preview = commands.add_parser("preview", help="what the link job would do to each member of a set")
    preview.add_argument("set", metavar="SET_ID", help="a set id (or its exact name)")
    preview.add_argument("--json", action="store_true", help="print one JSON object")
    preview.set_defaults(handler=run_preview)

    probe = commands.add_parser("probe", help="settle what nzbot guesses about Alma, by small experiments "
                                "on a sandbox that leave nothing behind (stored in NZBOT_DB)")
    probe.add_argument("--sandbox", action="store_true", help="say that this Alma is a sandbox (required)")
    probe.add_argument("--iz", metavar="MMS_ID", required=False, help="an unlinked IZ record to experiment on")
    probe.add_argument("--nz", metavar="MMS_ID", action="append", default=[],
                       help="an NZ record to experiment on (give two; needs ALMA_NZ_API_KEY)")
    probe.add_argument("--contribute-iz", metavar="MMS_ID",
                       help="an unlinked IZ record the contribute experiment may import (and then takes back out)")
    probe.add_argument("--poll", type=float, default=2.0, metavar="SECONDS", help="how often to ask about a job run")
    probe.add_argument("--json", action="store_true", help="print one JSON object")
    probe.set_defaults(handler=run_probe)

    doctor = commands.add_parser("doctor", help="check the configuration (Alma, SRU, Slack, database) before the first run")
    doctor.set_defaults(handler=run_doctor)

    cases = commands.add_parser("cases", help="multi-match cases and their decisions, as CSV (from NZBOT_DB)")
    cases.add_argument("format", nargs="?", choices=["csv"], default="csv")
    cases.set_defaults(handler=run_cases)

    history = commands.add_parser("history", help="an IZ record as it was before nzbot linked it (from NZBOT_DB)")
    history.add_argument("id", metavar="ID", help="the IZ record's MMS ID")
    history.add_argument("--json", action="store_true", help="print one JSON object")
    history.set_defaults(handler=run_history)

    status = commands.add_parser("status", help="is the bot alive: the database, its rounds, Alma, Slack, the queues")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=run_status)

    backup = commands.add_parser("backup", help="a consistent copy of NZBOT_DB, safe while the bot runs")
    backup.add_argument("path", metavar="PATH", help="the new file to write (never overwritten)")
    backup.set_defaults(handler=run_backup)

    run = commands.add_parser("run", help="run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    run.set_defaults(handler=run_bot)

    adopt = commands.add_parser("adopt", help="give the link jobs and cases of the single-institution set-up "
                                "(or of an old code) to a member institution of NZBOT_CONFIG")
    adopt.add_argument("code", metavar="CODE", help="the member's code in NZBOT_CONFIG")
    adopt.add_argument("--from", dest="from_code", default="", metavar="OLD",
                       help="the code the rows have now (default: the single-institution set-up's)")
    adopt.set_defaults(handler=run_adopt)

    demo = commands.add_parser("demo", help="play the bot through on this computer: a local Alma and Slack, no keys")
    demo.add_argument("--out", metavar="PATH", default="nzbot-demo.html",
                      help="where to write the HTML transcript (default nzbot-demo.html)")
    demo.set_defaults(handler=run_demo)

    args = parser.parse_args(argv)
    redaction.remember_env(os.environ)  # an error quoting a key is printed and logged scrubbed
    try:
        return args.handler(args)
    except (BadInput, SettingError) as exc:
        print(f"nzbot: {redaction.redact(str(exc))}", file=sys.stderr)
        return 2
    except (AlmaError, DatabaseProblem) as exc:
        print(f"nzbot: {redaction.redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def run_status(args: argparse.Namespace) -> int:
    """0 when healthy, 1 when not: a container's health check runs this."""
    from alma.config import number_setting
    from nzbot.status import status_lines, status_of
    from nzbot.store import NoDatabase, Store, db_path_of, existing_database

    poll = number_setting(os.environ, "NZBOT_POLL_SECONDS", 30.0, 0.05, 3600)
    try:
        path = existing_database(db_path_of(os.environ))
    except NoDatabase as exc:
        print(f"nzbot needs attention: {exc}")
        return 1
    found = status_of(Store(path), poll)
    print(json.dumps(found.as_dict()) if args.json else "\n".join(status_lines(found)))
    return 0 if found.healthy else 1


def run_backup(args: argparse.Namespace) -> int:
    from nzbot.backup import backup
    from nzbot.store import db_path_of

    made = backup(db_path_of(os.environ), args.path)
    print(f"nzbot: copied the database to {made.path} ({made.size:,} bytes; {made.cases:,} cases, "
          f"{made.link_jobs:,} link jobs), checked. To restore: stop the bot, put this file at NZBOT_DB, start it.")
    return 0


def run_simulator(args: argparse.Namespace) -> int:
    from alma.simulator import serve

    return serve(port=args.port, institutions=max(1, args.institutions))


def run_history(args: argparse.Namespace) -> int:
    """Every kept copy of the record, newest first: when, whose decision, and the MARC
    (mnemonic; with --json, the MARCXML as kept)."""
    import os

    from alma.marc import record_from_xml
    from nzbot.access import EVERY_MEMBER
    from nzbot.lookups import record_history
    from nzbot.store import Store, db_path_of, existing_database

    mms_id, kept = record_history(Store(existing_database(db_path_of(os.environ))), args.id, EVERY_MEMBER)
    if args.json:
        print(json.dumps({"iz_mms_id": mms_id, "kept": [
            {"kept_at": k.kept_at, "decided_by": k.decided_by, "case": k.case_id, "institution": k.institution,
             "marcxml": k.marc_xml} for k in kept]}))
        return 0
    if not kept:
        print(f"nzbot has kept no copy of IZ record {mms_id}: it has not linked it.", file=sys.stderr)
        return 1
    for k in kept:
        member = f", {k.institution}" if k.institution else ""
        print(f"# IZ record {mms_id} kept {k.kept_at}, before the link decided by {k.decided_by or 'nzbot'}"
              f" (case {k.case_id}{member})")
        print(record_from_xml(k.marc_xml))
        print()
    return 0


def run_cases(args: argparse.Namespace) -> int:
    import os

    from nzbot.access import EVERY_MEMBER
    from nzbot.cases import write_decisions_csv
    from nzbot.store import Store, db_path_of, existing_database

    write_decisions_csv(Store(existing_database(db_path_of(os.environ))), sys.stdout,
                        scope=EVERY_MEMBER)  # whoever runs the CLI runs the bot: every member's
    return 0


def run_bot(args: argparse.Namespace) -> int:
    import logging

    from bot.app import create_bot
    from nzbot.settings import BotSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per polling round
    settings = BotSettings.from_env()
    bot = create_bot(settings)
    # docker stop, systemd and Cloud Foundry stop a process with SIGTERM: stop as on Ctrl-C,
    # through the `finally` below (no more rounds; running work gets its grace).
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if settings.socket_mode:
            from slack_sdk.errors import SlackApiError

            from bot.socket_mode import SocketModeHandler  # why not Bolt's own: see there
            from nzbot.doctor import APP_TOKEN_HINT

            print("nzbot: connecting to Slack in Socket Mode", file=sys.stderr)
            if bot.alma_webhook is not None:  # no HTTP server to answer Alma: polling alone
                print("nzbot: NZBOT_ALMA_WEBHOOK_SECRET is set, but Alma's webhook needs HTTP mode "
                      "(Socket Mode has no HTTP server); link jobs are polled.", file=sys.stderr)
            handler = SocketModeHandler(bot.app, settings.app_token)
            try:
                handler.start()
            except SlackApiError as exc:
                handler.close()
                print(f"nzbot: Slack refused SLACK_APP_TOKEN ({exc.response.get('error')}): {APP_TOKEN_HINT}.",
                      file=sys.stderr)
                return 2
            except OSError as exc:  # Slack unreachable: nothing to do but say so
                handler.close()
                print(f"nzbot: could not connect to Slack in Socket Mode: {exc}", file=sys.stderr)
                return 1
        else:
            from bot.server import SlackHttpServer

            try:
                server = SlackHttpServer(bot.app, port=settings.port, alma_webhook=bot.alma_webhook,
                                         health=bot.health)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                print(f"nzbot: port {settings.port} is in use (another nzbot, or another server?): "
                      "set PORT to a free port, or stop what listens there.", file=sys.stderr)
                return 1
            print(f"nzbot: listening for Slack on port {settings.port} at /slack/events", file=sys.stderr)
            if bot.alma_webhook is not None:
                print("nzbot: listening for Alma's JOB_END webhook at /alma/webhook", file=sys.stderr)
            server.serve_forever()
    finally:
        bot.stop()
        print("nzbot: stopped", file=sys.stderr)
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_adopt(args: argparse.Namespace) -> int:
    from nzbot.adopt import adopt, owner_name
    from nzbot.settings import BotSettings
    from nzbot.store import Store

    settings = BotSettings.from_env()
    members = {i.code: i for i in settings.institutions if not i.implicit}
    store = Store(settings.db_path)
    try:
        moved = adopt(store, args.code, tuple(members), args.from_code)
    finally:
        store.close()
    source = owner_name(args.from_code)
    if not moved:
        print(f"nzbot: NZBOT_DB {settings.db_path} holds no rows of {source}: nothing was moved.")
    else:
        print(f"nzbot: gave {moved.described()} of {source} to {members[args.code].label}.")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from bot.demo import DemoFailed, run

    try:
        return run(args.out)
    except DemoFailed as exc:
        print(f"nzbot demo: {exc}", file=sys.stderr)
        return 1


def run_probe(args: argparse.Namespace) -> int:
    from alma.client import AlmaClient
    from nzbot.probe import SANDBOX_ONLY, Probe, ProbeRecords, run_probe as experiments
    from nzbot.store import Store, db_path_of

    if not args.sandbox:
        print(f"nzbot: {SANDBOX_ONLY}", file=sys.stderr)
        return 2
    if not args.iz or len(args.nz) != 2:
        raise BadInput("nzbot probe needs --iz (an unlinked IZ record) and --nz twice (two NZ records).")
    store = Store(db_path_of(os.environ))
    client = AlmaClient.from_env()
    records = ProbeRecords(args.iz, (args.nz[0], args.nz[1]), args.contribute_iz)
    plans = sys.stderr if args.json else sys.stdout  # the plan first; --json keeps stdout one object
    probe = Probe(client, records, lambda plan: print(f"nzbot probe will now: {plan}", file=plans, flush=True),
                  poll_seconds=args.poll)
    found = []
    try:
        for finding in experiments(probe):
            found.append(finding)
            if finding.value is not None:
                store.learn_fact(finding.fact, finding.value)
            if not args.json:
                print(f"{finding.fact}: did: {'; '.join(finding.did)}\n  Alma answered: {finding.answered}\n"
                      f"  so: {finding.conclusion}\n  nzbot now: {finding.nzbot_now}", flush=True)
    finally:
        client.close()
        store.close()
    if args.json:
        print(json.dumps({"facts": [f.as_dict() for f in found]}))
    return 0


def run_doctor(args: argparse.Namespace) -> int:
    from nzbot.doctor import run

    return run()


def run_match(args: argparse.Namespace) -> int:
    from alma.client import AlmaClient
    from alma.matching import to_json
    from nzbot.lookups import match_identifier
    from nzbot.settings import suggestion_rules
    from nzbot.text import match_summary

    rules = suggestion_rules(os.environ)
    client = AlmaClient.from_env()
    match = match_identifier(client, args.id).match
    if args.json:
        print(json.dumps(to_json(match, rules), ensure_ascii=False))
    else:
        print(match_summary(match, rules))
    return 0


def run_preview(args: argparse.Namespace) -> int:
    from alma.client import AlmaClient
    from alma.preview import local_fields_at_risk
    from nzbot.lookups import open_preview
    from nzbot.text import PREVIEW_HEADER, Progress, preview_summary_line, preview_tally

    client = AlmaClient.from_env()
    preview = open_preview(client, args.set)
    heading = preview.heading
    progress = Progress(sys.stderr, f"Previewing set {heading.set.name!r}")
    out = sys.stdout
    if args.json:
        # Streamed, so a 100,000-member set never sits in memory as one object, into a
        # spool (memory, then disk): stdout gets the whole object or, on an error, nothing.
        out = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+", encoding="utf-8")
        out.write(
            "{" + f'"set_id": {json.dumps(heading.set.id)}, "set_name": '
            f"{json.dumps(heading.set.name, ensure_ascii=False)}, "
            f'"total": {heading.total}, "records": ['
        )
    else:
        out.write(f"Link job preview of set {heading.set.name} ({heading.set.id}), {heading.total:,} members\n"
                  f"{PREVIEW_HEADER}\n")
    first = True
    for mms_id, match in preview.records(progress.update):
        if args.json:
            record = {
                "mms_id": mms_id,
                "verdict": match.verdict.value,
                "candidates": [c.mms_id for c in match.candidates],
            }
            if match.linked_nz_mms_id:
                record["linked_nz_mms_id"] = match.linked_nz_mms_id
            if local_fields_at_risk(match):  # linking would drop them (no $9 LOCAL)
                record["local_fields_at_risk"] = list(local_fields_at_risk(match))
            out.write(("" if first else ", ") + json.dumps(record))
            first = False
        else:
            out.write(preview_summary_line(mms_id, match) + "\n")
    progress.finish()
    calls = {**preview.calls.by_endpoint, "total": preview.calls.total}
    counts = preview.counts
    if args.json:
        out.write(f'], "counts": {json.dumps(counts.counts)}, "multi_from_oclc_merge": {counts.from_oclc_merge}, '
                  f'"api_calls": {json.dumps(calls)}}}\n')
        out.seek(0)
        shutil.copyfileobj(out, sys.stdout)
    else:
        out.write(f"\n{heading.set.name} ({heading.set.id}), {heading.total:,} members.\n")
        out.write("\n".join(preview_tally(counts.counts)) + "\n")
        out.write(f"Multi-matches from an OCLC merge: {counts.from_oclc_merge:,}. Alma calls: {calls['total']:,}. "
                  "Nothing was changed in Alma.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
