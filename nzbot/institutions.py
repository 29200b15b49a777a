"""Consortium mode: the member institutions one nzbot serves, from the TOML file named by
NZBOT_CONFIG (read with tomllib). Each member's API key stays in the environment, in the
variable its `api_key_env` names; the file holds no secret.

    [[institution]]
    code = "01ALLIANCE_UO"            # Alma institution code
    name = "University of Oregon"
    api_key_env = "ALMA_API_KEY_UO"   # the environment variable holding this IZ's API key
    channels = ["C0UOCAT"]            # commands here act on this IZ; the first is its report channel
    allowed_users = []                # optional: who may start link jobs (default: anyone in channels)

Without NZBOT_CONFIG there is one implicit institution (code ""): ALMA_API_KEY,
NZBOT_REPORT_CHANNEL and NZBOT_ALLOWED_* as before.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from typing import Mapping

from alma.config import ALMA_SETTINGS, AlmaSettings, SettingError, secret_setting

IMPLICIT = ""  # the code of the one institution of a single-institution set-up
_CODE = re.compile(r"^[A-Za-z0-9_]{2,40}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,80}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# Settings nzbot reads itself: never a member's API key (a Slack secret would go to Alma).
_OWN_SETTINGS = frozenset(ALMA_SETTINGS) | {"PORT"}
_OWN_PREFIXES = ("SLACK_", "NZBOT_")
FIELDS = {"code": str, "name": str, "api_key_env": str, "channels": list, "allowed_users": list}
REQUIRED = ("code", "name", "api_key_env", "channels")


@dataclass(frozen=True)
class Institution:
    """A member of the consortium: its own IZ (key, client, link jobs) and channels."""

    code: str
    name: str
    alma: AlmaSettings = field(repr=False)
    channels: tuple[str, ...] = ()  # the first is the report channel
    allowed_users: tuple[str, ...] = ()  # empty: anyone in its channels
    api_key_env: str = "ALMA_API_KEY"
    # Single-institution mode only: commands from any channel act on it (as before), and
    # jobs may be started from `channels` (the report channel, or NZBOT_ALLOWED_CHANNELS).
    implicit: bool = False
    reports_to: str = ""  # implicit only: NZBOT_REPORT_CHANNEL, which `channels` may not hold

    @property
    def report_channel(self) -> str:
        return self.reports_to or (self.channels[0] if self.channels else "")

    @property
    def label(self) -> str:
        """How messages name it: "University of Oregon (01ALLIANCE_UO)"; "" when implicit."""
        return "" if self.implicit else f"{self.name} ({self.code})"

    def may_start_jobs(self, user_id: str, channel_id: str) -> bool:
        if channel_id not in self.channels:
            return False
        return not self.allowed_users or user_id in self.allowed_users


def implicit_institution(alma: AlmaSettings, report_channel: str, allowed_channels: tuple[str, ...],
                         allowed_users: tuple[str, ...]) -> Institution:
    """Today's single-institution settings as the one member."""
    # jobs may start from NZBOT_ALLOWED_CHANNELS, or else the report channel (as before)
    return Institution(code=IMPLICIT, name="", alma=alma, channels=allowed_channels or (report_channel,),
                       allowed_users=allowed_users, implicit=True, reports_to=report_channel)


def read_institutions(path: str, env: Mapping[str, str], alma: AlmaSettings) -> tuple[Institution, ...]:
    """The members in the file at `path`, each with `alma` (the global settings) and its
    own key. Raises SettingError with one line naming the file, the institution and the
    problem."""
    where = f"NZBOT_CONFIG {path}"
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise SettingError(f"{where}: no such file.") from None
    except OSError as exc:
        raise SettingError(f"{where}: cannot be read ({exc.strerror}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingError(f"{where}: not valid TOML: {exc}.") from None
    except UnicodeDecodeError:
        raise SettingError(f"{where}: not valid TOML: it is not UTF-8 text.") from None
    unknown = sorted(set(data) - {"institution"})
    if unknown:
        raise SettingError(f"{where}: unknown setting {unknown[0]!r} (only [[institution]] tables belong here).")
    tables = data.get("institution")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise SettingError(f"{where}: no [[institution]] table: give one per member institution.")
    members: list[Institution] = []
    claimed: dict[str, str] = {}  # channel -> code
    codes: set[str] = set()
    keys: dict[str, str] = {}  # key -> code
    for number, table in enumerate(tables, start=1):
        member = _institution(where, number, table, env, alma)
        if member.code in codes:
            raise SettingError(f"{where}: institution {member.code}: listed twice.")
        codes.add(member.code)
        for channel in member.channels:
            if channel in claimed:
                raise SettingError(f"{where}: institution {member.code}: channel {channel} is also "
                                   f"claimed by {claimed[channel]}; a channel belongs to one member.")
            claimed[channel] = member.code
        if member.alma.api_key in keys:
            raise SettingError(f"{where}: institution {member.code}: {member.api_key_env} holds the same "
                               f"key as {keys[member.alma.api_key]}'s: each IZ has its own key.")
        if alma.nz_api_key and member.alma.api_key == alma.nz_api_key:
            raise SettingError(f"{where}: institution {member.code}: {member.api_key_env} is the same as "
                               "ALMA_NZ_API_KEY: give the institution zone's own key.")
        keys[member.alma.api_key] = member.code
        members.append(member)
    return tuple(members)


def _institution(where: str, number: int, table: dict, env: Mapping[str, str],
                 alma: AlmaSettings) -> Institution:
    code = table.get("code")
    who = f"institution {code}" if isinstance(code, str) and code.strip() else f"institution #{number}"

    def problem(text: str) -> SettingError:
        return SettingError(f"{where}: {who}: {text}")

    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise problem(f"unknown field {unknown[0]!r} (the fields are {', '.join(FIELDS)}).")
    for name in REQUIRED:
        if name not in table:
            raise problem(f"{name} is missing.")
    for name, kind in FIELDS.items():
        if name in table and not isinstance(table[name], kind):
            raise problem(f"{name} must be a {'list' if kind is list else 'string'}.")
    code = table["code"].strip()
    if not _CODE.match(code):
        raise problem(f"code must be an Alma institution code such as 01ALLIANCE_UO, not {code[:40]!r}.")
    name = table["name"].strip()
    if not name:
        raise problem("name is empty: give the institution's name, as catalogers know it.")
    channels = table["channels"]
    if not channels:
        raise problem("channels is empty: give at least its report channel.")
    bad = [c for c in channels if not isinstance(c, str) or not _CHANNEL_ID.match(c)]
    if bad:
        raise problem(f"channels must hold channel ids such as C0123ABCD; {str(bad[0])[:40]!r} is not one.")
    users = table.get("allowed_users", [])
    bad = [u for u in users if not isinstance(u, str) or not _USER_ID.match(u)]
    if bad:
        raise problem(f"allowed_users must hold Slack user ids such as U0123ABCD; {str(bad[0])[:40]!r} is not one.")
    key_env = table["api_key_env"].strip()
    if not _ENV_NAME.match(key_env):
        raise problem(f"api_key_env must name an environment variable such as ALMA_API_KEY_UO, not {key_env[:40]!r}.")
    if key_env in _OWN_SETTINGS or key_env.startswith(_OWN_PREFIXES):
        raise problem(f"api_key_env names {key_env}, a setting nzbot reads itself: give the variable "
                      "holding this institution zone's own API key, such as ALMA_API_KEY_UO.")
    try:
        key = secret_setting(env, key_env, f"{code}'s API key")
    except SettingError as exc:
        raise problem(str(exc)) from None
    return Institution(code=code, name=name, alma=replace(alma, api_key=key),
                       channels=tuple(dict.fromkeys(channels)), allowed_users=tuple(dict.fromkeys(users)),
                       api_key_env=key_env)
