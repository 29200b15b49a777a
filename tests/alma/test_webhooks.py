"""Reading Alma's webhooks (alma/webhooks.py): the signature, checked against a public test
vector, and the JOB_END event read from Alma's payload."""

from __future__ import annotations

import json

import pytest

from alma.webhooks import BadWebhook, JobEnd, read_event, sign, signed


def test_the_signature_is_the_one_a_public_alma_listener_checks():
    # MITLibraries/alma-webhook-lambdas, tests/conftest.py: secret "itsasecret", this body
    body = json.dumps({"action": "JOB_END"}).encode()
    assert sign(body, "itsasecret") == "bbQKggzWRSuwopIwszy757lusNZWOPllfv5Rt6Qj8uE="
    assert signed(body, "itsasecret", "bbQKggzWRSuwopIwszy757lusNZWOPllfv5Rt6Qj8uE=")


@pytest.mark.parametrize("secret, signature", [
    ("itsasecret", ""),  # no header
    ("", "bbQKggzWRSuwopIwszy757lusNZWOPllfv5Rt6Qj8uE="),  # no secret configured
    ("another-secret", "bbQKggzWRSuwopIwszy757lusNZWOPllfv5Rt6Qj8uE="),
    ("itsasecret", "bbQKggzWRSuwopIwszy757lusNZWOPllfv5Rt6Qj8uF="),
    ("itsasecret", "not base64 at all é"),
])
def test_a_wrong_or_missing_signature_is_not_alma_s(secret, signature):
    assert not signed(json.dumps({"action": "JOB_END"}).encode(), secret, signature)


def test_a_job_end_is_read_from_almas_payload():
    body = json.dumps({
        "id": "6241574698584934466", "action": "JOB_END", "time": "2026-03-01T10:00:00.123Z",
        "institution": {"value": "01ALLIANCE_UO", "desc": "University of Oregon"},
        "job_instance": {"id": "8300001", "status": {"value": "COMPLETED_SUCCESS", "desc": "Completed"},
                         "job_info": {"id": "M85", "name": "Link a set of records to the Network Zone"},
                         "counter": [{"type": {"value": "link_bib_to_nz.linked"}, "value": "5"}]},
    }).encode()
    assert read_event(body) == JobEnd("01ALLIANCE_UO", "M85", "8300001", "COMPLETED_SUCCESS")


def test_other_actions_are_no_job_end_and_a_lowercase_job_end_is_one():
    assert read_event(b'{"action": "USER", "webhook_user": {}}') is None
    assert read_event(b'{"action": "job_end", "job_instance": {"id": "1"}}') == JobEnd("", "", "1", "")


@pytest.mark.parametrize("body", [b"", b"{not json", b"[1, 2]", b'"JOB_END"', b"[" * 100_000])
def test_a_body_that_is_no_json_object_is_refused(body):
    with pytest.raises(BadWebhook):
        read_event(body)
