"""Issue 9 item 8: a 429 DAILY_THRESHOLD is never retried; background work stops until
Alma answers again, while a person's request still asks (and hears why it failed).

The 429 bodies follow pulibrary/bibdata's stubbed PER_SECOND_THRESHOLD answer
(bad_request.json's shape with errorCode PER_SECOND_THRESHOLD); the daily one changes the
errorCode to DAILY_THRESHOLD, as docs/alma.md, "How real Alma answers" records.
"""

from __future__ import annotations

import json

import pytest

from alma.errors import AlmaRateLimited, QuotaSpent
from tests.alma.contract.conftest import Answer

MMS_ID = "9949620601852"
PATH = f"/almaws/v1/bibs/{MMS_ID}"


def threshold(code: str, message: str) -> Answer:
    return Answer(429, json.dumps({
        "errorsExist": True,
        "errorList": {"error": [{"errorCode": code, "errorMessage": message,
                                 "trackingId": "E01-0101190932-VOBYO-AWAE1554214409"}]},
        "result": None,
    }), headers={"X-Exl-Api-Remaining": "0"})


DAILY = ("DAILY_THRESHOLD", "Daily API request threshold has been reached.")
PER_SECOND = ("PER_SECOND_THRESHOLD", "HTTP requests are more than allowed per second")
BIB = {"mms_id": MMS_ID, "title": "A title", "linked_record_id": {"value": "", "type": ""}}


def test_daily_threshold_is_not_retried_and_says_the_quota_is_spent(stub, stub_client):
    stub.answer("GET", PATH, threshold(*DAILY))
    with pytest.raises(QuotaSpent) as caught:
        stub_client.get_bib(MMS_ID)
    assert len(stub.calls("GET", PATH)) == 1
    assert "daily API quota is used up" in str(caught.value) and "reset" in str(caught.value)


def test_background_work_stops_after_it_but_people_still_ask(stub, stub_client):
    stub.answer("GET", PATH, threshold(*DAILY), Answer(200, json.dumps(BIB)))
    background = stub_client.for_background()
    with pytest.raises(QuotaSpent):
        background.get_bib(MMS_ID)
    with pytest.raises(QuotaSpent, match="paused until Alma's daily reset"):
        background.get_bib(MMS_ID)
    assert len(stub.calls("GET", PATH)) == 1  # the pause sent nothing
    assert stub_client.get_bib(MMS_ID).mms_id == MMS_ID  # a person's request goes out...
    assert background.get_bib(MMS_ID).mms_id == MMS_ID  # ...and Alma's answer ends the pause


def test_per_second_threshold_is_retried(stub, stub_client):
    stub.answer("GET", PATH, threshold(*PER_SECOND), Answer(200, json.dumps(BIB)))
    assert stub_client.get_bib(MMS_ID).mms_id == MMS_ID
    assert len(stub.calls("GET", PATH)) == 2


def test_per_second_threshold_on_every_try_ends_rate_limited(stub, stub_client):
    stub.answer("GET", PATH, threshold(*PER_SECOND))
    with pytest.raises(AlmaRateLimited) as caught:
        stub_client.get_bib(MMS_ID)
    assert not isinstance(caught.value, QuotaSpent)
    assert len(stub.calls("GET", PATH)) == 3  # one try and max_retries=2 more
