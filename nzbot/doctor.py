"""`nzbot doctor`: checks a real configuration before the first run.

Each check is a small function returning a :class:`Check`; :func:`run` reads the settings
from the environment, runs every check in order and prints one line per check:

    ok   <what>: <what was found>
    warn <what>: <what to know>
    FAIL <what>: <what to fix>

The exit status is 0 when nothing failed (warnings allowed), 1 when a check failed, and 2
when settings are missing or malformed: one FAIL line for each of them, all in one run,
then every check the settings present allow (the others say which setting to fix first).
Keys, tokens and the signing secret are never printed: every line is scrubbed of them
(nzbot.redaction) before it is written, whatever an error message may have carried.
"""

from __future__ import annotations

import logging
import os
import secrets as _secrets
import sqlite3
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Mapping, TextIO
from urllib.error import URLError
from urllib.parse import urlsplit

from alma.client import AlmaClient
from alma.config import REGIONS, AlmaSettings, SettingsReader
from alma.errors import (
    AlmaError,
    AlmaPermissionError,
    AlmaRateLimited,
    AlmaRequestError,
    AlmaServerError,
    AlmaUnavailable,
    BadInput,
    NotSru,
    RecordNotFound,
    SruError,
)
from alma.http import AlmaHttp
from alma.marc import control_number
from alma.models import LINK_JOB_NAME
from nzbot.redaction import redact
from nzbot.facts import AlmaFacts, fact_lines, route_warnings

OK, WARN, FAIL = "ok", "warn", "fail"
_LABELS = {OK: "ok  ", WARN: "warn", FAIL: "FAIL"}
SECRET_ENV = ("ALMA_API_KEY", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
              "ALMA_NZ_API_KEY")
# The doctor is interactive: it should say what is wrong in seconds, not after Alma's
# full retry schedule.
DOCTOR_MAX_RETRIES = 2
DOCTOR_TIMEOUT = 15.0
SLACK_TIMEOUT = 10
MEMBER_PAGES = 50  # conversations.members pages of 200: 10,000 members is plenty


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""
    level: str = OK  # ok, warn or fail
    institution: str = ""  # consortium mode: the member institution's code, first on its line

    @classmethod
    def passed(cls, name: str, detail: str = "") -> "Check":
        return cls(name, True, detail, OK)

    @classmethod
    def warning(cls, name: str, detail: str) -> "Check":
        return cls(name, True, detail, WARN)

    @classmethod
    def failed(cls, name: str, detail: str) -> "Check":
        return cls(name, False, detail, FAIL)

    def line(self) -> str:
        text = f"{_LABELS[self.level]} {self.name}"
        if self.institution:
            text = f"{self.institution} {text}"
        return f"{text}: {self.detail}" if self.detail else text


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


# -- Alma --------------------------------------------------------------------------------


def doctor_client(settings: AlmaSettings) -> AlmaClient:
    """An Alma client like the bot's, with short retries so a dead end shows quickly."""
    http = AlmaHttp(
        settings.api_key,
        requests_per_second=settings.requests_per_second,
        timeout_seconds=min(settings.timeout_seconds, DOCTOR_TIMEOUT),
        max_retries=min(settings.max_retries, DOCTOR_MAX_RETRIES),
        backoff_factor=0.2,
        quota_floor=settings.quota_floor,
    )
    return AlmaClient(settings, http)


def gateway_description(api_url: str) -> str:
    region = next((name for name, url in REGIONS.items() if url == api_url.rstrip("/")), None)
    host = host_of(api_url)
    return f"{host} (region {region})" if region else host


def check_alma_key(client: AlmaClient) -> Check:
    """One cheap call (the first manual job) to see that the gateway takes the key."""
    name = "Alma API key"
    settings = client.settings
    gateway = gateway_description(settings.api_url)
    try:
        response = client.http.request(
            "GET", f"{settings.api_url}/almaws/v1/conf/jobs", params={"type": "MANUAL", "limit": 1}
        )
        data = response.json()
    except AlmaUnavailable as exc:
        return Check.failed(
            "Alma API", f"cannot reach {gateway}: {exc.message} Check ALMA_API_URL (a region such as "
            "na or eu, or the gateway's https URL) and the network."
        )
    except AlmaRateLimited as exc:
        if exc.code == "DAILY_THRESHOLD":
            return Check.failed(name, f"{gateway} accepted the key but the daily API quota is used up: "
                                      "wait for it to reset (midnight UTC for the gateway's region).")
        return Check.failed(name, f"{gateway} kept refusing with 429 (too many requests): {exc}")
    except AlmaServerError as exc:
        return Check.failed("Alma API", f"{gateway} answered with a server error: {exc} Try again later.")
    except AlmaRequestError as exc:
        if isinstance(exc, AlmaPermissionError) and exc.status != 401:  # 400: lacks a permission
            return Check.failed(name, f"{gateway} refused this key's call: {exc.message}")
        text = f"{exc.message} {exc.code or ''}".lower()
        if exc.status in (401, 403) or "unauthorized" in text or "api-key" in text or "api key" in text:
            return Check.failed(
                name, f"{gateway} refused the key (HTTP {exc.status}): check ALMA_API_KEY is your "
                "institution zone's API key (Bibs and Configuration read/write), made in the "
                "Developer Network for this gateway's region."
            )
        if exc.code is None:  # no Alma error in the body: another server, or a wrong path
            what = exc.message.removeprefix(f"Alma answered HTTP {exc.status} with ").rstrip(".")
            return Check.failed("Alma API", f"{gateway} answered HTTP {exc.status} with {what}, not as Alma's "
                                            "API gateway would: check ALMA_API_URL (a region such as na or eu, "
                                            "or the gateway's https URL).")
        return Check.failed(name, f"{gateway} answered HTTP {exc.status}: {exc} Check ALMA_API_URL.")
    except ValueError:
        return Check.failed("Alma API", f"{gateway} did not answer like Alma (no JSON): check ALMA_API_URL.")
    except Exception as exc:  # a malformed URL, an SSL failure, ...
        return Check.failed("Alma API", f"cannot call {gateway}: {type(exc).__name__}: {exc} Check ALMA_API_URL.")
    refused = _bibs_refused(client)
    if refused is not None:
        return Check.failed(name, f"{gateway} refused this key's call: {refused.message}")
    jobs = data.get("total_record_count") if isinstance(data, dict) else None
    counted = f" ({jobs} manual jobs)" if isinstance(jobs, int) else ""
    # Alma's API answers do not say which institution a key belongs to, so report what we
    # know: the gateway that took the key and that it can read the job configuration.
    return Check.passed(name, f"accepted by {gateway}; it reads bib records and this zone's job list{counted}")


def _bibs_refused(client: AlmaClient) -> AlmaPermissionError | None:
    """Whether the key may read bib records (every match and preview does): one read of an
    MMS ID no record has, which changes nothing. Only a permission refusal counts: however
    Alma answers for the missing record (no hits, or a 400), the key was let through."""
    try:
        client.http.request("GET", f"{client.settings.api_url}/almaws/v1/bibs",
                            params={"mms_id": "9900000000000000001"})
    except AlmaPermissionError as exc:
        return exc
    except AlmaError:
        pass
    return None


def check_link_job(client: AlmaClient, key_ok: bool = True) -> Check:
    name = "Link job"
    configured = client.settings.link_job_id
    if not key_ok:
        return Check.failed(name, "not checked: the Alma API key check failed (fix that first).")
    try:
        job = client.find_link_job()
    except BadInput as exc:
        return Check.failed(name, f"ALMA_LINK_JOB_ID: {exc} {_link_job_hint(client)}")
    except AlmaRequestError as exc:
        if configured:
            return Check.failed(
                name, f"ALMA_LINK_JOB_ID={configured} is not a job in this Alma ({exc.message.strip()}). "
                + _link_job_hint(client)
            )
        return Check.failed(name, str(exc))
    except AlmaError as exc:
        return Check.failed(name, f"could not look it up: {exc}")
    if job.name.strip() != LINK_JOB_NAME:
        return Check.failed(
            name, f"ALMA_LINK_JOB_ID={configured} is {job.name!r}, not {LINK_JOB_NAME!r}. "
            + _link_job_hint(client)
        )
    how = "from ALMA_LINK_JOB_ID" if configured else "found by name"
    return Check.passed(name, f"{job.id} {job.name!r} ({how})")


def _link_job_hint(client: AlmaClient) -> str:
    """The fix for a wrong ALMA_LINK_JOB_ID, with the right id when Alma can tell it."""
    try:
        named = [j for j in client.list_jobs() if j.name.strip() == LINK_JOB_NAME]
    except AlmaError:
        named = []
    if named:
        return (f"Set ALMA_LINK_JOB_ID={named[0].id} (the id of {LINK_JOB_NAME!r} here), "
                "or leave it unset and nzbot finds the job by name.")
    return (f"Set ALMA_LINK_JOB_ID to the id of {LINK_JOB_NAME!r} (Admin > Manage Jobs and Sets), "
            "or leave it unset and nzbot finds the job by name.")


def check_sru(client: AlmaClient) -> Check:
    """One searchRetrieve on the OCLC index, one record at most."""
    name = "NZ SRU search"
    settings = client.settings
    if not settings.nz_sru_url:
        return Check.failed(name, "ALMA_NZ_SRU_URL is not set: give your network zone's SRU address, "
                                  "e.g. https://na01.alma.exlibrisgroup.com/view/sru/01ALLIANCE_NETWORK.")
    index = settings.sru_oclc_index
    where = host_of(settings.nz_sru_url)
    network = settings.nz_sru_url.rstrip("/").rsplit("/view/sru/", 1)
    zone = f" (network zone {network[1]})" if len(network) == 2 and network[1] else ""
    try:
        page = client.sru_page(f"{index}=(OCoLC)1", maximum=1)
    except NotSru as exc:  # e.g. a sign-in page: never "0 records"
        return Check.failed(name, exc.message)
    except SruError as exc:
        if exc.code and exc.code.rstrip("/").endswith("/16"):
            return Check.failed(
                name, f"{where} does not know the index {index!r} ({exc.message}): set "
                "ALMA_SRU_OCLC_INDEX to the NZ's index of OCLC numbers in 035 $a and $z "
                "(usually alma.oclc_control_number_035_az)."
            )
        return Check.failed(
            name, f"{where} answered with an SRU diagnostic: {exc} Check ALMA_NZ_SRU_URL "
            f"(…/view/sru/<NZ code>) and ALMA_SRU_OCLC_INDEX ({index})."
        )
    except AlmaUnavailable as exc:
        return Check.failed(name, f"no answer from {where}: {exc.message} Check ALMA_NZ_SRU_URL.")
    except AlmaError as exc:
        status = f"HTTP {exc.status}" if exc.status else "an error"
        return Check.failed(name, f"{where} answered {status}: check ALMA_NZ_SRU_URL "
                                  "(https://<your Alma host>/view/sru/<NZ code>).")
    except Exception as exc:
        return Check.failed(name, f"cannot search {where}: {type(exc).__name__}: {exc} Check ALMA_NZ_SRU_URL.")
    return Check.passed(name, f"{where}{zone} answers on {index} "
                              f"(test search: {page.number_of_records} records)")


# A keyword search that finds some record in any catalogue, to have an NZ record to read.
# alma.all_for_ui is Alma's keyword index in SRU; that it finds "the" in every NZ is an
# assumption (the check warns, rather than fails, when it finds nothing).
NZ_SAMPLE_QUERY = "alma.all_for_ui=the"


def check_nz_key(client: AlmaClient) -> Check:
    """ALMA_NZ_API_KEY, when set, must read NZ records (the token route); an IZ's key
    reads no NZ record, which is how an IZ key given here shows."""
    name = "NZ API key"
    if not client.has_nz_key:
        return Check.passed(name, "not set (optional): a pick of an NZ record that no 035 singles out "
                                  "is handed to the cataloger (or merged by the Program Manager); set "
                                  "ALMA_NZ_API_KEY for nzbot to link it by a token.")
    try:
        sample = next(iter(client.sru_page(NZ_SAMPLE_QUERY, maximum=1).records), None)
    except AlmaError as exc:
        return Check.warning(name, f"not checked: no NZ record to read, the NZ search failed ({exc.message})")
    nz_mms_id = (control_number(sample) if sample is not None else None) or ""
    if not nz_mms_id:
        return Check.warning(name, f"not checked: the NZ search ({NZ_SAMPLE_QUERY}) found no record to read.")
    gateway = gateway_description(client.settings.api_url)
    try:
        bib = client.get_nz_bib(nz_mms_id)
    except RecordNotFound:
        return Check.failed(name, f"ALMA_NZ_API_KEY cannot read NZ record {nz_mms_id}: it looks like an "
                                  "institution zone's key (the key decides the zone). Give the Network "
                                  "Zone's own API key, with Bibs read/write, on this gateway.")
    except AlmaRequestError as exc:
        return Check.failed(name, f"{gateway} refused ALMA_NZ_API_KEY (HTTP {exc.status}): {exc} It must be "
                                  "the Network Zone's API key with Bibs read/write, on this gateway.")
    except AlmaError as exc:
        return Check.failed(name, f"could not read NZ record {nz_mms_id} with it: {exc}")
    if bib.mms_id and bib.mms_id != nz_mms_id:
        return Check.failed(name, f"asked for NZ record {nz_mms_id}, {gateway} gave {bib.mms_id}.")
    return Check.passed(name, f"reads NZ record {nz_mms_id} in the network zone: picks with no "
                              "identifying 035 are linked by a token (needs Bibs write too)")


def check_quota(client: AlmaClient) -> Check:
    """Alma's daily quota left, as its last answer reported it (X-Exl-Api-Remaining)."""
    name = "Alma daily quota"
    remaining = client.http.quota.remaining
    floor = client.settings.quota_floor
    if remaining is None:
        return Check.warning(name, "unknown: Alma's answers carried no X-Exl-Api-Remaining header.")
    if remaining < floor:
        return Check.warning(
            name, f"{remaining:,} calls left today, below ALMA_QUOTA_FLOOR ({floor:,}): background "
            "work (watching link jobs) pauses until the quota resets."
        )
    return Check.passed(name, f"{remaining:,} calls left today (ALMA_QUOTA_FLOOR {floor:,})")


# -- the database ----------------------------------------------------------------------


def check_database(path: str, codes: tuple[str, ...]) -> list[Check]:
    """Opens the store (which runs the migrations), writes a row and deletes it; then its
    rows that no member in `codes` has (nzbot.adopt): a failure where start-up would stop.
    No database there yet: says so, and whether `nzbot run` may create it; creates nothing."""
    from nzbot.adopt import kept_unowned, start_up_problem, unowned_rows
    from nzbot.dblock import holder
    from nzbot.store import DatabaseDamaged, DatabaseProblem, NoDatabase, Store, existing_database

    name = "Database"
    shown = path if path == ":memory:" else str(Path(path).expanduser().absolute())
    store = None
    running = holder(path)
    in_use = [Check.warning(name, f"nzbot (process {running}) is running on {shown}: a second `nzbot run` "
                                  "on it would stop at start-up (one bot per database).")] if running else []
    try:
        existing_database(path)
    except NoDatabase as exc:  # the first run: say so, and create nothing (nzbot run will)
        folder = Path(shown).parent
        if folder.is_dir() and os.access(folder, os.W_OK | os.X_OK):  # no probe ran on it: every fact assumed
            return [Check.passed(name, f"{exc}: `nzbot run` will create it (its folder is writable)"), *in_use,
                    *fact_checks(AlmaFacts({}))]
        return [Check.failed(name, f"cannot write {shown}: {folder} is not a folder nzbot can write to, and "
                                   "there is no database there yet: set NZBOT_DB to a file in a directory "
                                   "the bot can write to.")]
    try:
        store = Store(path)
        key = f"doctor:probe:{_secrets.token_hex(8)}"
        store.db.execute("INSERT INTO handled_requests (key, received_at) VALUES (?, ?)", [key, "probe"])
        store.db.execute("DELETE FROM handled_requests WHERE key = ?", [key])
        unowned = unowned_rows(store, codes)
        facts = AlmaFacts.of(store)
    except DatabaseDamaged as exc:
        return [Check.failed(name, DatabaseDamaged.line(shown, exc.reason))]
    except (sqlite3.Error, OSError, DatabaseProblem) as exc:
        reason = exc.reason if isinstance(exc, DatabaseProblem) else exc
        return [Check.failed(name, f"cannot write {shown} ({reason}): set NZBOT_DB to a file in a "
                                   "directory the bot can write to.")]
    finally:
        if store is not None:
            store.close()
    problem = start_up_problem(unowned, codes, shown)
    return [Check.failed(name, problem) if problem else
            Check.passed(name, f"{shown} is writable and its tables are up to date"),
            *in_use, *(Check.warning(name, line) for line in kept_unowned(unowned, shown)),
            *fact_checks(facts)]


def fact_checks(facts: "AlmaFacts") -> list[Check]:
    """Each unconfirmed fact about Alma: confirmed by `nzbot probe` (with the date) or still
    assumed; and a warning for each link route a learned fact stops (nzbot/facts.py)."""
    return [*(Check.passed("Alma fact", line) for line in fact_lines(facts)),
            *(Check.warning("Alma fact", line) for line in route_warnings(facts))]


# -- Slack -----------------------------------------------------------------------------


def slack_client(token: str, api_url: str | None):
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    client = WebClient(token=token, base_url=api_url or WebClient.BASE_URL, timeout=SLACK_TIMEOUT)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


def _slack_error(exc: Exception) -> str:
    """'invalid_auth' for a Slack API error; what went wrong for anything else."""
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        error = exc.response.get("error") if exc.response is not None else None
        needed = exc.response.get("needed") if exc.response is not None else None
        return f"{error or 'error'}" + (f", needs scope {needed}" if needed else "")
    return f"{type(exc).__name__}: {exc}"


def _is_network_error(exc: Exception) -> bool:
    return isinstance(exc, (URLError, OSError, TimeoutError))


@dataclass(frozen=True)
class SlackIdentity:
    team: str
    team_id: str
    user: str
    user_id: str


def check_slack_token(client, api_url: str | None = None) -> tuple[Check, SlackIdentity | None]:
    from slack_sdk.errors import SlackApiError

    name = "Slack token"
    try:
        data = client.auth_test()
    except SlackApiError as exc:
        return Check.failed(
            name, f"Slack refused SLACK_BOT_TOKEN ({_slack_error(exc)}): copy the Bot User OAuth "
            "Token (xoxb-…) from your app's OAuth & Permissions page, and reinstall the app "
            "if it was revoked."
        ), None
    except Exception as exc:
        where = host_of(api_url or client.base_url)
        hint = "check SLACK_API_URL (unset for Slack itself) and the network" if _is_network_error(exc) else \
            "check SLACK_API_URL"
        return Check.failed("Slack API", f"cannot reach {where} ({_slack_error(exc)}): {hint}."), None
    who = SlackIdentity(
        team=str(data.get("team") or ""),
        team_id=str(data.get("team_id") or ""),
        user=str(data.get("user") or ""),
        user_id=str(data.get("user_id") or ""),
    )
    return Check.passed(name, f"team {who.team} ({who.team_id}), bot user @{who.user} ({who.user_id})"), who


APP_TOKEN_HINT = ("give the app-level token (xapp-…) with connections:write, from Basic Information > "
                  "App-Level Tokens")


def check_app_token(app_token: str, api_url: str | None = None) -> Check:
    """Socket Mode (SLACK_APP_TOKEN): Slack gives the token a connection URL, which is left
    unused (it expires), so nothing is connected."""
    from slack_sdk.errors import SlackApiError

    name = "Slack app token"
    client = slack_client(app_token, api_url)
    try:
        client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        return Check.failed(name, f"Slack refused SLACK_APP_TOKEN ({_slack_error(exc)}): {APP_TOKEN_HINT}.")
    except Exception as exc:
        hint = " (check SLACK_API_URL and the network)" if _is_network_error(exc) else ""
        return Check.failed(name, f"could not ask {host_of(api_url or client.base_url)}: {_slack_error(exc)}{hint}.")
    return Check.passed(name, "Slack opens Socket Mode connections for it")


def check_report_channel(client, channel: str, bot: SlackIdentity | None) -> Check:
    from slack_sdk.errors import SlackApiError

    name = "Report channel"
    if bot is None:
        return Check.failed(name, f"{channel} not checked: the Slack token check failed (fix that first).")
    try:
        info = client.conversations_info(channel=channel).get("channel") or {}
    except SlackApiError as exc:
        error = _slack_error(exc)
        if error.startswith("channel_not_found"):
            return Check.failed(
                name, f"Slack finds no channel {channel} (channel_not_found): check NZBOT_REPORT_CHANNEL "
                "(the id at the bottom of the channel's About tab); for a private channel, "
                f"invite the bot first: /invite @{bot.user}."
            )
        return Check.failed(name, f"cannot look up {channel} ({error}): give the app the channels:read "
                                  "and groups:read scopes.")
    except Exception as exc:
        return Check.failed(name, f"cannot look up {channel} ({_slack_error(exc)}).")
    label = f"#{info['name']} ({channel})" if info.get("name") else channel
    if info.get("is_archived"):
        return Check.failed(name, f"{label} is archived: unarchive it or set NZBOT_REPORT_CHANNEL to another.")
    member = info.get("is_member")
    members = _channel_members(client, channel)
    if members is not None and bot.user_id:
        member = bot.user_id in members and member is not False
    if member is None:
        return Check.warning(name, f"{label}: Slack did not say whether the bot is a member.")
    if not member:
        where = f"#{info['name']}" if info.get("name") else channel
        return Check.failed(name, f"the bot is not a member of {label}: invite the bot: "
                                  f"/invite @{bot.user or 'nzbot'} in {where}")
    return Check.passed(name, f"{label}, the bot is a member")


def _channel_members(client, channel: str) -> set[str] | None:
    """The channel's member ids, or None when Slack will not list them."""
    members: set[str] = set()
    cursor = None
    try:
        for _ in range(MEMBER_PAGES):
            data = client.conversations_members(channel=channel, limit=200, cursor=cursor)
            members.update(data.get("members") or [])
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members
    except Exception:
        return None
    return members


def check_pm_users(client, users: Iterable[str], bot: SlackIdentity | None) -> list[Check]:
    from slack_sdk.errors import SlackApiError

    checks = []
    for user_id in users:
        name = f"PM user {user_id}"
        if bot is None:
            checks.append(Check.failed(name, "not checked: the Slack token check failed (fix that first)."))
            continue
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            error = _slack_error(exc)
            if error.startswith("user_not_found"):
                checks.append(Check.failed(name, f"Slack has no user {user_id}: fix NZBOT_PM_USERS "
                                                 "(a member id, from the person's profile: ⋮ > Copy member ID)."))
            else:
                checks.append(Check.failed(name, f"cannot look up {user_id} ({error}): give the app "
                                                 "the users:read scope."))
            continue
        except Exception as exc:
            checks.append(Check.failed(name, f"cannot look up {user_id} ({_slack_error(exc)})."))
            continue
        handle = user.get("name") or user_id
        if user.get("deleted"):
            checks.append(Check.failed(name, f"@{handle} is deactivated: fix NZBOT_PM_USERS."))
        elif user.get("is_bot"):
            checks.append(Check.failed(name, f"@{handle} is a bot, not a person: fix NZBOT_PM_USERS."))
        else:
            real = user.get("real_name") or (user.get("profile") or {}).get("real_name") or ""
            checks.append(Check.passed(name, f"@{handle}" + (f" ({real})" if real else "")))
    return checks


# -- all together ----------------------------------------------------------------------


def run_checks(settings, *, emit: Callable[[Check], None] = lambda c: None,
               settings_problems: SettingsReader | None = None) -> list[Check]:
    """Every check, in order; `emit` sees each as soon as it is done. A check that needs a
    setting named in `settings_problems` is not tried: its line says what to fix first."""
    checks: list[Check] = []
    broken = settings_problems or SettingsReader()

    def add(check: Check) -> Check:
        checks.append(check)
        emit(check)
        return check

    def needs(name: str, *settings_names: str) -> bool:
        bad = [n for n in settings_names if broken.failed(n)]
        if bad:
            add(Check.failed(name, f"not checked: fix {' and '.join(bad)} first (see above)."))
        return not bad

    consortium = bool(getattr(settings, "config_path", ""))  # NZBOT_CONFIG: members have their own keys
    # the shared checks (SRU, the NZ's key) read through the first member's client
    alma = doctor_client(settings.members[0].alma if settings.members else settings.alma)
    try:
        alma_ok = not consortium and needs("Alma API key", "ALMA_API_KEY", "ALMA_API_URL")
        key_ok = alma_ok and add(check_alma_key(alma)).ok
        if not consortium and needs("Link job", "ALMA_API_KEY", "ALMA_API_URL", "ALMA_LINK_JOB_ID"):
            add(check_link_job(alma, key_ok=key_ok))
        if needs("NZ SRU search", "ALMA_NZ_SRU_URL"):
            add(check_sru(alma))
        if needs("NZ API key", "ALMA_NZ_API_KEY", "ALMA_API_URL", "ALMA_NZ_SRU_URL"):
            add(check_nz_key(alma))
        slack_settings = ("SLACK_BOT_TOKEN", "SLACK_API_URL")
        slack = slack_client(settings.bot_token, settings.slack_api_url)
        bot = None
        if needs("Slack token", *slack_settings):
            token, bot = check_slack_token(slack, settings.slack_api_url)
            add(token)
        if settings.app_token and needs("Slack app token", "SLACK_APP_TOKEN", "SLACK_API_URL"):
            add(check_app_token(settings.app_token, settings.slack_api_url))
        if consortium:
            slack_ok = not any(broken.failed(n) for n in slack_settings)
            for member in settings.members:
                member_checks(member, slack if slack_ok else None, bot, add)
            needs("Institutions", "NZBOT_CONFIG")  # a file that cannot be read: no member checked
        elif needs("Report channel", "NZBOT_REPORT_CHANNEL", *slack_settings):
            add(check_report_channel(slack, settings.report_channel, bot))
        if needs("PM users", "NZBOT_PM_USERS", *slack_settings):
            for check in check_pm_users(slack, settings.pm_users, bot):
                add(check)
        for check in check_database(settings.db_path, tuple(i.code for i in settings.institutions)):
            add(check)
        if key_ok:  # else nothing answered as Alma: no quota to tell
            add(check_quota(alma))
    finally:
        alma.close()
    return checks


def member_checks(member, slack, bot: SlackIdentity | None, add: Callable[[Check], Check]) -> None:
    """One member institution's own checks (consortium mode), each line beginning with its
    code: its key, its link job, its report channel, its quota."""
    alma = doctor_client(member.alma)

    def tagged(check: Check) -> Check:
        return add(replace(check, institution=member.code))

    try:
        key_ok = tagged(check_alma_key(alma)).ok
        tagged(check_link_job(alma, key_ok=key_ok))
        if slack is not None:
            tagged(check_report_channel(slack, member.report_channel, bot))
        else:
            tagged(Check.failed("Report channel", "not checked: fix the Slack settings first (see above)."))
        if key_ok:
            tagged(check_quota(alma))
    finally:
        alma.close()


def run(env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """`nzbot doctor`: 0 when every check passed (warnings allowed), 1 when one failed,
    2 when the settings are missing or malformed."""
    from nzbot.settings import BotSettings

    env = os.environ if env is None else env
    out = out or sys.stdout
    secrets = [env.get(name, "").strip() for name in SECRET_ENV]

    def emit(check: Check) -> None:
        out.write(redact(check.line(), secrets) + "\n")
        out.flush()

    settings, problems = BotSettings.read_env(env)
    for _, message in problems.problems:
        emit(Check.failed("Settings", message))
    secrets += list(settings.secrets)
    # urllib3 logs each retry (with the URL) at WARNING; the check's own line says it better.
    quiet = logging.getLogger("urllib3.connectionpool")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        checks = run_checks(settings, emit=emit, settings_problems=problems)
    finally:
        quiet.setLevel(level)
    if problems.problems:
        return 2
    return 1 if any(c.level == FAIL for c in checks) else 0
