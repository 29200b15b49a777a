"""Who may see and do what, for which member institution: the one place that decides.

Every request names a person and a channel. From them the policy makes an `Actor` once:
the Program Manager (who works in the NZ and sees every member's cases), a cataloger of
the member whose channel it is (and whether they may start link jobs there), or nobody
the bot serves. Each command, button and event states what it `Need`s, and what it acts
on names its member (its `owner`); `Policy.refusal` answers allow (None) or why not.

Store readers that a listener reaches take a `Scope`: one member's rows, or every
member's, which only the Program Manager's actor (and the bot's own rounds) holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Sequence

from nzbot.institutions import Institution


@dataclass(frozen=True)
class Scope:
    """Whose rows a reader returns: one member's (its code; "" for the one institution of
    a single-institution set-up) or, with `code` None, every member's."""

    code: str | None

    @classmethod
    def member(cls, code: str) -> "Scope":
        return cls(code=code)

    @property
    def every_member(self) -> bool:
        return self.code is None

    def where(self, column: str = "institution") -> tuple[str | None, list]:
        """A SQL condition (and its arguments) that keeps this scope's rows."""
        return (None, []) if self.code is None else (f"{column} = ?", [self.code])


# Every member's rows: the Program Manager's scope, and the bot's own rounds and CLI.
EVERY_MEMBER = Scope(code=None)


class Role(StrEnum):
    PROGRAM_MANAGER = "program manager"
    CATALOGER = "cataloger"  # anyone in a member's channel
    NOBODY = "nobody"  # in no member's channel, and not the Program Manager


class Need(StrEnum):
    """What a command, button or event requires of whoever uses it."""

    ANYONE = "anyone"  # words only: /nz help
    MEMBER = "member"  # a member's channel: its IZ is read (match, preview, jobs, send to PM)
    JOB_STARTER = "job starter"  # a member's channel, by someone allowed to start its link jobs
    # lists cases or figures: the PM's DM or channel lists all members', a member's channel its own
    CASE_LIST = "case list"
    CASE_VIEWER = "case viewer"  # one case: the PM, or a cataloger of the case's own member
    PROGRAM_MANAGER = "program manager"  # decide, review the queue, the Home tab's queue


class Refusal(StrEnum):
    """Why a request was refused; bot/ words each one (nothing was changed)."""

    NO_MEMBER = "no member"  # the channel belongs to no member institution
    NOT_ALLOWED = "not allowed"  # may not start link jobs here
    NOT_PM = "not the program manager"
    NOT_THEIRS = "not theirs"  # another member's case, link job or page of cases


@dataclass(frozen=True)
class Actor:
    """Who is asking, where: resolved once per request by `Policy.actor`."""

    user: str
    channel: str
    role: Role
    member: Institution | None  # the member whose channel this is (None: no member's)
    pm_place: bool  # the Program Manager's DM with the bot, or the PM channel

    @property
    def is_pm(self) -> bool:
        return self.role is Role.PROGRAM_MANAGER

    @property
    def list_scope(self) -> Scope | None:
        """Whose cases a listing shows here: every member's to the Program Manager in their
        own place, the channel's member's in a member's channel, else nobody's (None)."""
        if self.is_pm and self.pm_place:
            return EVERY_MEMBER
        if self.member is not None:
            return Scope.member(self.member.code)
        return None

    def may_see(self, owner: str) -> bool:
        """Whether an object of member `owner` (a case, a link job) is this actor's to see."""
        return self.is_pm or (self.member is not None and self.member.code == owner)


class Policy:
    def __init__(self, institutions: Sequence[Institution], pm_users: Sequence[str],
                 pm_channel: str | None = None) -> None:
        self.institutions = tuple(institutions)
        self.pm_users = frozenset(pm_users)
        self.pm_channel = pm_channel or ""

    def member_for_channel(self, channel: str) -> Institution | None:
        """The member whose channel this is; in single-institution mode the one member,
        wherever the request came from (as before consortium mode)."""
        for member in self.institutions:
            if member.implicit or channel in member.channels:
                return member
        return None

    def actor(self, user: str, channel: str) -> Actor:
        is_pm = bool(user) and user in self.pm_users
        member = self.member_for_channel(channel)
        # The Home tab's buttons come from no channel: that is the Program Manager's place too.
        pm_place = bool(self.pm_channel) and channel == self.pm_channel or (
            is_pm and (channel.startswith("D") or not channel))
        role = Role.PROGRAM_MANAGER if is_pm else Role.CATALOGER if member is not None else Role.NOBODY
        return Actor(user=user, channel=channel, role=role, member=member, pm_place=pm_place)

    def refusal(self, actor: Actor, need: Need, owner: str | None = None) -> Refusal | None:
        """None when `actor` may do what `need` names (to an object of member `owner`,
        when given); otherwise why not."""
        if need is Need.ANYONE:
            return None
        if need is Need.PROGRAM_MANAGER:
            return None if actor.is_pm else Refusal.NOT_PM
        if need is Need.CASE_VIEWER:
            if actor.is_pm:
                return None
            if actor.member is None:
                return Refusal.NO_MEMBER
            return None if owner is None or actor.may_see(owner) else Refusal.NOT_THEIRS
        if need is Need.CASE_LIST:
            return None if actor.list_scope is not None else Refusal.NO_MEMBER
        if actor.member is None:  # MEMBER and JOB_STARTER act on the channel's member's IZ
            return Refusal.NO_MEMBER
        if owner is not None and not actor.may_see(owner):
            return Refusal.NOT_THEIRS
        if need is Need.JOB_STARTER and not actor.member.may_start_jobs(actor.user, actor.channel):
            return Refusal.NOT_ALLOWED
        return None
