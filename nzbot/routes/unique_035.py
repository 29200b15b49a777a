"""The unique 035 route (other_system): the chosen NZ record carries a prefixed 035 $a
value that no other NZ record carries (checked in the NZ by SRU: nzbot/linkroute.py).
The IZ record is given that same 035, and the link job runs with the other-system-number
profile and that prefix: its only possible match is the chosen record."""

from __future__ import annotations

from nzbot.routes.link_job import LinkJobRoute
from nzbot.states import RouteKind


class Unique035(LinkJobRoute):
    kind = RouteKind.OTHER_SYSTEM
