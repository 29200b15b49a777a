"""Alma settings, read from the environment (never from files: keys are secrets)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, TypeVar
from urllib.parse import urlsplit

# Alma's API gateways by region; ALMA_API_URL may name one of these instead of a URL.
REGIONS = {
    "na": "https://api-na.hosted.exlibrisgroup.com",
    "eu": "https://api-eu.hosted.exlibrisgroup.com",
    "ap": "https://api-ap.hosted.exlibrisgroup.com",
    "aps": "https://api-aps.hosted.exlibrisgroup.com",
    "ca": "https://api-ca.hosted.exlibrisgroup.com",
    "cn": "https://api-cn.hosted.exlibrisgroup.com.cn",
}
DEFAULT_OCLC_INDEX = "alma.oclc_control_number_035_az"
JOB_ID = re.compile(r"[A-Za-z0-9_]{1,40}")  # an Alma job id, such as M85


class SettingError(ValueError):
    """A setting is missing or malformed; the message names it and says what is expected."""


class SettingErrors(SettingError):
    """Every missing or malformed setting at once, one line each."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("\n".join(message for _, message in problems))
        self.problems = problems  # (setting name, message)


T = TypeVar("T")
# Keys, tokens and signing secrets are far longer; a shorter value is a copying mistake,
# and redacting a one-character "secret" would mangle every line it appears in.
MIN_SECRET_LENGTH = 8


class SettingsReader:
    """Reads settings one by one and notes every problem, instead of stopping at the first:
    start-up and the doctor then name them all in one run."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def __call__(self, name: str, read: Callable[[], T], default: T) -> T:
        try:
            return read()
        except SettingError as exc:
            self.problems.append((name, str(exc)))
            return default

    def failed(self, *names: str) -> bool:
        """Whether any of these settings is missing or malformed."""
        return any(name in names for name, _ in self.problems)

    def raise_problems(self) -> None:
        if self.problems:
            raise SettingErrors(self.problems)


# The Alma settings nzbot reads besides an IZ's own key: a member's api_key_env may name
# none of them (nzbot.institutions), or a setting would be sent to Alma as a key.
ALMA_SETTINGS = ("ALMA_API_URL", "ALMA_NZ_SRU_URL", "ALMA_SRU_OCLC_INDEX", "ALMA_LINK_JOB_ID",
                 "ALMA_REQUESTS_PER_SECOND", "ALMA_TIMEOUT", "ALMA_MAX_RETRIES", "ALMA_QUOTA_FLOOR",
                 "ALMA_NZ_API_KEY")


@dataclass(frozen=True)
class AlmaSettings:
    api_key: str = field(repr=False)
    api_url: str = REGIONS["na"]
    nz_sru_url: str = ""
    sru_oclc_index: str = DEFAULT_OCLC_INDEX
    link_job_id: str | None = None
    requests_per_second: float = 20.0  # Alma allows 25 per institution; keep headroom
    timeout_seconds: float = 30.0
    max_retries: int = 5
    # Background work stops when Alma's daily quota left falls below this.
    quota_floor: int = 5000
    # The Network Zone's own key (Bibs read/write), on the same gateway: the token route.
    nz_api_key: str = field(repr=False, default="")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, take: SettingsReader | None = None,
                 key_required: bool = True) -> "AlmaSettings":
        """The settings; every problem raised at once (SettingErrors), or, given `take`,
        noted there with a default in its place. `key_required` False: each member
        institution's key comes from its own variable (consortium mode, NZBOT_CONFIG)."""
        env = os.environ if env is None else env
        reader = take or SettingsReader()
        settings = cls(
            api_key=reader("ALMA_API_KEY", lambda: secret_setting(
                env, "ALMA_API_KEY", "the API key of your institution zone", required=key_required), ""),
            api_url=reader("ALMA_API_URL", lambda: api_url(env.get("ALMA_API_URL", "").strip() or "na"),
                           REGIONS["na"]),
            nz_sru_url=reader("ALMA_NZ_SRU_URL", lambda: url_setting("ALMA_NZ_SRU_URL", env.get("ALMA_NZ_SRU_URL", "")), ""),
            sru_oclc_index=env.get("ALMA_SRU_OCLC_INDEX", "").strip() or DEFAULT_OCLC_INDEX,
            link_job_id=reader("ALMA_LINK_JOB_ID", lambda: _job_id(env), None),
            requests_per_second=reader("ALMA_REQUESTS_PER_SECOND", lambda: number_setting(
                env, "ALMA_REQUESTS_PER_SECOND", 20.0, 0.1, 25.0), 20.0),
            timeout_seconds=reader("ALMA_TIMEOUT", lambda: number_setting(env, "ALMA_TIMEOUT", 30.0, 1.0, 600.0), 30.0),
            max_retries=reader("ALMA_MAX_RETRIES", lambda: whole_number_setting(env, "ALMA_MAX_RETRIES", 5, 0, 10), 5),
            quota_floor=reader("ALMA_QUOTA_FLOOR", lambda: whole_number_setting(
                env, "ALMA_QUOTA_FLOOR", 5000, 0, 10_000_000), 5000),
            nz_api_key=reader("ALMA_NZ_API_KEY", lambda: nz_key_setting(env, env.get("ALMA_API_KEY", "").strip()), ""),
        )
        if take is None:
            reader.raise_problems()
        return settings


def _job_id(env: Mapping[str, str]) -> str | None:
    link_job_id = env.get("ALMA_LINK_JOB_ID", "").strip() or None
    if link_job_id and not JOB_ID.fullmatch(link_job_id):
        raise SettingError(f"ALMA_LINK_JOB_ID must be an Alma job id such as M85, not {link_job_id[:40]!r}.")
    return link_job_id


def nz_key_setting(env: Mapping[str, str], iz_key: str) -> str:
    """ALMA_NZ_API_KEY: optional; never the IZ's key (each zone has its own)."""
    key = secret_setting(env, "ALMA_NZ_API_KEY", "the Network Zone's API key", required=False)
    if key and key == iz_key:
        raise SettingError("ALMA_NZ_API_KEY is the same as ALMA_API_KEY: give the Network Zone's own "
                           "API key (Bibs read/write), or leave it unset.")
    return key


def api_url(value: str) -> str:
    """A region shorthand (na, eu, ap, aps, ca, cn) or an http(s) base URL."""
    if value.lower() in REGIONS:
        return REGIONS[value.lower()]
    try:
        return url_setting("ALMA_API_URL", value) or REGIONS["na"]
    except SettingError:
        raise SettingError(f"ALMA_API_URL must be a region ({', '.join(REGIONS)}) or the gateway's http(s) "
                           f"URL, not {value.strip()[:80]!r}.") from None


def url_setting(name: str, value: str) -> str:
    value = value.strip().rstrip("/")
    if not value:
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise SettingError(f"{name} must be an http(s) URL, not {value[:80]!r}.")
    return value


def secret_setting(env: Mapping[str, str], name: str, what: str, required: bool = True) -> str:
    """A key or token, refused (never echoed) if it holds spaces or control characters,
    which no key has and which would break every request. "" when optional and unset."""
    value = env.get(name, "").strip()
    if not value:
        if not required:
            return ""
        raise SettingError(f"{name} is not set: give {what}.")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise SettingError(f"{name} holds spaces or line breaks: copy {what} again.")
    if len(value) < MIN_SECRET_LENGTH:  # never echoed: only its length is named
        raise SettingError(f"{name} is too short ({len(value)} characters) to be {what}: copy the "
                           f"whole value again (keys, tokens and secrets have at least {MIN_SECRET_LENGTH}).")
    return value


def whole_number_setting(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise SettingError(f"{name} must be a whole number, not {raw[:40]!r}.")
    value = int(raw)
    if not low <= value <= high:
        raise SettingError(f"{name} must be between {low} and {high}, not {raw}.")
    return value


def number_setting(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(f"{name} must be a number, not {raw[:40]!r}.") from None
    if not low <= value <= high:
        raise SettingError(f"{name} must be between {low:g} and {high:g}, not {raw}.")
    return value
