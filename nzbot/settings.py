"""The bot's settings, from the environment. Missing or malformed settings stop start-up
with one line each, naming the setting: all of them at once, not one per try."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alma.config import (
    AlmaSettings,
    SettingError,
    SettingsReader,
    number_setting,
    secret_setting,
    url_setting,
    whole_number_setting,
)
from alma.suggestion import DEFAULT_RULES, Rule, parse_rules
from nzbot import digest, redaction
from nzbot.institutions import Institution, implicit_institution, read_institutions
from nzbot.store import db_path_of

SRU_URL_MISSING = ("ALMA_NZ_SRU_URL is not set: give your network zone's SRU address, "
                   "e.g. https://na01.alma.exlibrisgroup.com/view/sru/01ALLIANCE_NETWORK.")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class BotSettings:
    alma: AlmaSettings
    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False, default="")
    app_token: str = field(repr=False, default="")  # set: Socket Mode
    slack_api_url: str | None = None
    port: int = 3000
    report_channel: str = ""
    pm_users: tuple[str, ...] = ()
    pm_channel: str | None = None
    allowed_channels: tuple[str, ...] = ()  # empty: only the report channel
    allowed_users: tuple[str, ...] = ()  # empty: anyone in an allowed channel
    db_path: str = "nzbot.db"
    poll_seconds: float = 30.0  # how often running jobs are checked
    discover_seconds: float = 300.0  # how often Alma is asked for runs started in its UI
    case_batch_seconds: float = 60.0  # how long a decision waits for others to share its run
    link_token_prefix: str = "(NZBOT)"  # the token route's 035 prefix (nzbot/linkroute.py)
    # Consortium mode (NZBOT_CONFIG): the member institutions; empty: one implicit member
    # made of ALMA_API_KEY, NZBOT_REPORT_CHANNEL and NZBOT_ALLOWED_* (see `institutions`).
    members: tuple[Institution, ...] = ()
    config_path: str = ""
    # The rules a case's suggested pick is drawn with, in order (alma/suggestion.py);
    # NZBOT_SUGGESTION_RULES reorders or drops them, "off" turns suggestions off.
    suggestion_rules: tuple[Rule, ...] = DEFAULT_RULES
    # The secret of Alma's Webhooks integration profile (NZBOT_ALMA_WEBHOOK_SECRET): set, HTTP
    # mode answers Alma's JOB_END webhook on /alma/webhook; empty, polling alone.
    alma_webhook_secret: str = field(repr=False, default="")
    # The consortium's time zone (NZBOT_TIMEZONE): schedules' times (nzbot/schedules.py), the
    # weeks of /nz stats and the digest's hour; and how late a scheduled run missed while the
    # bot was down may still run.
    timezone: str = "UTC"
    schedule_grace: timedelta = timedelta(hours=6)
    # When the weekly digest posts (nzbot/digest.py), in `timezone`; None: NZBOT_DIGEST=off.
    digest: digest.DigestAt | None = digest.parse(digest.DEFAULT)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    def __post_init__(self) -> None:
        redaction.remember(self.secrets)  # from now on scrubbed from every message and log line

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every configured key, token and secret: never in a message or a log line."""
        return (self.alma.api_key, self.bot_token, self.signing_secret, self.app_token, self.alma.nz_api_key,
                self.alma_webhook_secret, *(m.alma.api_key for m in self.members))

    def label_of(self, code: str) -> str:
        """How messages name member `code` ("" in single-institution mode)."""
        return next((m.label for m in self.institutions if m.code == code), "")

    @property
    def consortium(self) -> bool:
        return bool(self.members)

    @property
    def institutions(self) -> tuple[Institution, ...]:
        """Every member institution; without NZBOT_CONFIG, the one implicit institution."""
        if self.members:
            return self.members
        return (implicit_institution(self.alma, self.report_channel, self.allowed_channels, self.allowed_users),)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "BotSettings":
        """The settings; SettingErrors naming every problem at once."""
        settings, reader = cls.read_env(env)
        reader.raise_problems()
        return settings

    @classmethod
    def read_env(cls, env: Mapping[str, str] | None = None) -> tuple["BotSettings", SettingsReader]:
        """The settings as far as they can be read, defaults in place of the bad ones, and
        the reader that noted every problem (the doctor checks what the rest allows)."""
        env = os.environ if env is None else env
        take = SettingsReader()
        config_path = env.get("NZBOT_CONFIG", "").strip()
        alma = AlmaSettings.from_env(env, take, key_required=not config_path)
        if not alma.nz_sru_url and not take.failed("ALMA_NZ_SRU_URL"):  # every lookup needs it
            take.problems.append(("ALMA_NZ_SRU_URL", SRU_URL_MISSING))
        members = take("NZBOT_CONFIG", lambda: read_institutions(config_path, env, alma), ()) if config_path else ()
        bot_token = take("SLACK_BOT_TOKEN", lambda: _bot_token(env), "")
        app_token = take("SLACK_APP_TOKEN", lambda: _app_token(env), "")
        signing_secret = take("SLACK_SIGNING_SECRET", lambda: secret_setting(
            env, "SLACK_SIGNING_SECRET", "the app's signing secret", required=False), "")
        if not app_token and not signing_secret and not take.failed("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
            take.problems.append(("SLACK_SIGNING_SECRET",
                "SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify Slack's "
                "requests (or set SLACK_APP_TOKEN for Socket Mode)."))
        api_url = take("SLACK_API_URL", lambda: url_setting("SLACK_API_URL", env.get("SLACK_API_URL", "")), "") or None
        if api_url:
            api_url += "/"  # slack_sdk joins the method name straight on
        report_channel = take("NZBOT_REPORT_CHANNEL", lambda: _report_channel(env), "") if not config_path else ""
        pm_users = take("NZBOT_PM_USERS", lambda: _pm_users(env), ())
        pm_channel = take("NZBOT_PM_CHANNEL", lambda: _pm_channel(env), None)
        settings = cls(
            alma=alma,
            bot_token=bot_token,
            signing_secret=signing_secret,
            app_token=app_token,
            slack_api_url=api_url,
            port=take("PORT", lambda: whole_number_setting(env, "PORT", 3000, 1, 65535), 3000),
            report_channel=report_channel,
            pm_users=pm_users,
            pm_channel=pm_channel,
            allowed_channels=take("NZBOT_ALLOWED_CHANNELS", lambda: _id_list(
                env, "NZBOT_ALLOWED_CHANNELS", _CHANNEL_ID, "channel ids such as C0123ABCD"), ()),
            allowed_users=take("NZBOT_ALLOWED_USERS", lambda: _id_list(
                env, "NZBOT_ALLOWED_USERS", _USER_ID, "Slack user ids such as U0123ABCD"), ()),
            db_path=db_path_of(env),
            poll_seconds=take("NZBOT_POLL_SECONDS", lambda: number_setting(
                env, "NZBOT_POLL_SECONDS", 30.0, 0.05, 3600), 30.0),
            discover_seconds=take("NZBOT_DISCOVER_SECONDS", lambda: number_setting(
                env, "NZBOT_DISCOVER_SECONDS", 300.0, 0.05, 86400), 300.0),
            case_batch_seconds=take("NZBOT_CASE_BATCH_SECONDS", lambda: number_setting(
                env, "NZBOT_CASE_BATCH_SECONDS", 60.0, 0, 3600), 60.0),
            link_token_prefix=take("NZBOT_LINK_TOKEN_PREFIX", lambda: _token_prefix(env), "(NZBOT)"),
            members=members,
            config_path=config_path,
            suggestion_rules=take("NZBOT_SUGGESTION_RULES", lambda: suggestion_rules(env), DEFAULT_RULES),
            alma_webhook_secret=take("NZBOT_ALMA_WEBHOOK_SECRET", lambda: secret_setting(
                env, "NZBOT_ALMA_WEBHOOK_SECRET", "the secret of Alma's Webhooks integration profile",
                required=False), ""),
            timezone=take("NZBOT_TIMEZONE", lambda: _timezone(env), "UTC"),
            schedule_grace=take("NZBOT_SCHEDULE_GRACE", lambda: _grace(env), timedelta(hours=6)),
            digest=take("NZBOT_DIGEST", lambda: _digest(env), digest.parse(digest.DEFAULT)),
        )
        return settings, take

    def may_start_jobs(self, user_id: str, channel_id: str) -> bool:
        channels = self.allowed_channels or (self.report_channel,)
        if channel_id not in channels:
            return False
        return not self.allowed_users or user_id in self.allowed_users


def suggestion_rules(env: Mapping[str, str]) -> tuple[Rule, ...]:
    try:
        return parse_rules(env.get("NZBOT_SUGGESTION_RULES", ""))
    except ValueError as exc:
        raise SettingError(f"NZBOT_SUGGESTION_RULES: {exc}.") from None


def _timezone(env: Mapping[str, str]) -> str:
    """NZBOT_TIMEZONE: an IANA time zone name (America/Chicago); UTC when unset."""
    value = env.get("NZBOT_TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(f"NZBOT_TIMEZONE must be an IANA time zone name such as America/Chicago or UTC, "
                           f"not {value[:40]!r}.") from None
    return value


_GRACE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([hm]?)", re.IGNORECASE)
MAX_GRACE = timedelta(days=7)


def _grace(env: Mapping[str, str]) -> timedelta:
    """NZBOT_SCHEDULE_GRACE: hours (6, 1.5), or with a unit: 6h, 90m; 0: a missed run never runs."""
    raw = env.get("NZBOT_SCHEDULE_GRACE", "").strip()
    if not raw:
        return timedelta(hours=6)
    found = _GRACE.fullmatch(raw)
    grace = None
    if found:
        amount, unit = float(found[1]), found[2].lower()
        grace = timedelta(minutes=amount) if unit == "m" else timedelta(hours=amount)
    if grace is None or grace > MAX_GRACE:
        raise SettingError("NZBOT_SCHEDULE_GRACE must be hours (6, 1.5) or a duration such as 6h or 90m, "
                           f"at most a week, not {raw[:40]!r}.")
    return grace


def _digest(env: Mapping[str, str]) -> digest.DigestAt | None:
    try:
        return digest.parse(env.get("NZBOT_DIGEST", ""))
    except ValueError as exc:
        raise SettingError(f"NZBOT_DIGEST {exc}.") from None


_TOKEN_PREFIX = re.compile(r"\([A-Za-z0-9._-]{1,30}\)")


def _token_prefix(env: Mapping[str, str]) -> str:
    """NZBOT_LINK_TOKEN_PREFIX: a 035 prefix in parentheses that no real identifier uses
    (OCLC numbers, and the MMS IDs Alma copies into 035 from the NZ and the CZ)."""
    value = env.get("NZBOT_LINK_TOKEN_PREFIX", "").strip() or "(NZBOT)"
    if not _TOKEN_PREFIX.fullmatch(value) or value.upper().startswith(("(OCOLC", "(EXLNZ-", "(EXLCZ")):
        raise SettingError(
            "NZBOT_LINK_TOKEN_PREFIX must be a 035 prefix in parentheses that no real identifier "
            f"uses, such as (NZBOT), not {value[:40]!r}.")
    return value


def _bot_token(env: Mapping[str, str]) -> str:
    bot_token = secret_setting(env, "SLACK_BOT_TOKEN", "the bot's token, xoxb-…")
    if not bot_token.startswith("xoxb-"):
        raise SettingError("SLACK_BOT_TOKEN must be a bot token beginning with xoxb-.")
    return bot_token


def _app_token(env: Mapping[str, str]) -> str:
    app_token = secret_setting(env, "SLACK_APP_TOKEN", "the app-level token, xapp-…", required=False)
    if app_token and not app_token.startswith("xapp-"):
        raise SettingError("SLACK_APP_TOKEN must be an app-level token beginning with xapp-.")
    return app_token


def _report_channel(env: Mapping[str, str]) -> str:
    report_channel = _required(env, "NZBOT_REPORT_CHANNEL", "the channel id where job reports go, C…")
    _check_ids("NZBOT_REPORT_CHANNEL", [report_channel], _CHANNEL_ID, "a channel id such as C0123ABCD")
    return report_channel


def _pm_users(env: Mapping[str, str]) -> tuple[str, ...]:
    pm_users = _id_list(env, "NZBOT_PM_USERS", _USER_ID, "Slack user ids such as U0123ABCD")
    if not pm_users:
        raise SettingError(
            "NZBOT_PM_USERS is not set: give the Slack user id(s) of the Program Manager, "
            "comma-separated (U0123ABCD,U0456EFGH)."
        )
    return pm_users


def _pm_channel(env: Mapping[str, str]) -> str | None:
    pm_channel = env.get("NZBOT_PM_CHANNEL", "").strip() or None
    if pm_channel:
        _check_ids("NZBOT_PM_CHANNEL", [pm_channel], _CHANNEL_ID, "a channel id such as C0123ABCD")
    return pm_channel


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingError(f"{name} is not set: give {what}.")
    return value


def _id_list(env: Mapping[str, str], name: str, pattern: re.Pattern, what: str) -> tuple[str, ...]:
    values = [v.strip() for v in env.get(name, "").split(",") if v.strip()]
    _check_ids(name, values, pattern, what)
    return tuple(dict.fromkeys(values))


def _check_ids(name: str, values: list[str], pattern: re.Pattern, what: str) -> None:
    bad = [v for v in values if not pattern.match(v)]
    if bad:
        raise SettingError(f"{name} must hold {what}; {bad[0]!r} is not one.")
