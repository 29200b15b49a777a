"""The access policy on its own: who is who, where, and what each may see and do. (Over
HTTP, every listener against every actor: tests/bot/test_access_matrix.py.)"""

from __future__ import annotations

import pytest

from alma.config import AlmaSettings
from nzbot.access import EVERY_MEMBER, Need, Policy, Refusal, Role, Scope
from nzbot.institutions import Institution, implicit_institution

ALMA = AlmaSettings(api_key="k" * 12, nz_sru_url="http://127.0.0.1/sru")
UO = Institution(code="01UO", name="Oregon", alma=ALMA, channels=("CUO1", "CUO2"))
OSU = Institution(code="01OSU", name="Oregon State", alma=ALMA, channels=("COSU1",), allowed_users=("UOSUBOSS",))
PM, PM_CHANNEL = "UPM000001", "CPMDESK01"
POLICY = Policy((UO, OSU), (PM,), PM_CHANNEL)


def test_the_actor_is_told_by_person_and_channel():
    assert POLICY.actor("UANY00001", "CUO2").role is Role.CATALOGER
    assert POLICY.actor("UANY00001", "CUO2").member is UO
    assert POLICY.actor("UANY00001", "CRANDOM01").role is Role.NOBODY
    assert POLICY.actor("UANY00001", "DANY00001").member is None
    pm_in_uo = POLICY.actor(PM, "CUO1")
    assert pm_in_uo.role is Role.PROGRAM_MANAGER and pm_in_uo.member is UO and not pm_in_uo.pm_place
    assert POLICY.actor(PM, "DPM000001").pm_place and POLICY.actor(PM, "").pm_place
    assert POLICY.actor("UANY00001", PM_CHANNEL).pm_place  # the PM channel, but not the PM
    assert POLICY.actor("", "CUO1").role is Role.CATALOGER  # no user: never the PM


def test_only_the_program_manager_in_their_own_place_lists_every_members_cases():
    assert POLICY.actor(PM, "DPM000001").list_scope == EVERY_MEMBER
    assert POLICY.actor(PM, PM_CHANNEL).list_scope == EVERY_MEMBER
    assert POLICY.actor(PM, "CUO1").list_scope == Scope.member("01UO")  # in a member's channel: its own
    assert POLICY.actor("UANY00001", "COSU1").list_scope == Scope.member("01OSU")
    assert POLICY.actor("UANY00001", PM_CHANNEL).list_scope is None
    assert POLICY.actor("UANY00001", "DANY00001").list_scope is None


@pytest.mark.parametrize("user, channel, need, owner, expected", [
    ("UANY00001", "CUO1", Need.PROGRAM_MANAGER, "01UO", Refusal.NOT_PM),
    (PM, "DPM000001", Need.PROGRAM_MANAGER, "01OSU", None),
    ("UANY00001", "CUO1", Need.CASE_VIEWER, "01UO", None),
    ("UANY00001", "CUO1", Need.CASE_VIEWER, "01OSU", Refusal.NOT_THEIRS),
    ("UANY00001", "CRANDOM01", Need.CASE_VIEWER, "01UO", Refusal.NO_MEMBER),
    (PM, "DPM000001", Need.CASE_VIEWER, "01OSU", None),
    ("UANY00001", "CRANDOM01", Need.MEMBER, None, Refusal.NO_MEMBER),
    (PM, "DPM000001", Need.MEMBER, None, Refusal.NO_MEMBER),  # a lookup needs a member's IZ
    ("UANY00001", "CUO2", Need.JOB_STARTER, None, None),
    ("UANY00001", "COSU1", Need.JOB_STARTER, None, Refusal.NOT_ALLOWED),  # OSU names its starters
    ("UOSUBOSS", "COSU1", Need.JOB_STARTER, None, None),
    ("UANY00001", "CRANDOM01", Need.ANYONE, None, None),
    ("UANY00001", PM_CHANNEL, Need.CASE_LIST, None, Refusal.NO_MEMBER),
])
def test_each_need_against_each_kind_of_actor(user, channel, need, owner, expected):
    assert POLICY.refusal(POLICY.actor(user, channel), need, owner) == expected


def test_one_institution_serves_every_channel_but_the_queue_stays_the_program_managers():
    alone = implicit_institution(ALMA, "CREPORT01", (), ())
    policy = Policy((alone,), (PM,))
    someone = policy.actor("UANY00001", "CRANDOM01")
    assert someone.member is alone and someone.list_scope == Scope.member("")
    assert policy.refusal(someone, Need.PROGRAM_MANAGER) is Refusal.NOT_PM
    assert policy.refusal(someone, Need.JOB_STARTER) is Refusal.NOT_ALLOWED  # only in the report channel


def test_a_scope_narrows_sql_and_every_member_does_not():
    assert Scope.member("01UO").where() == ("institution = ?", ["01UO"])
    assert EVERY_MEMBER.where() == (None, [])
