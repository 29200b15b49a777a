"""The Slack stand-in as the tests use it: nzbot's own (bot/demo/local_slack.py) with
Slack's failures played on demand, at the stand-in's one seam (`_fault_before`,
`_fault_after`). Not shipped: the demo's Slack never fails.

    stub = SlackStub(...).start()
    stub.fail_next("chat.postMessage", "ratelimited", retry_after=2)
    release = stub.hold_answers("chat.postMessage")   # stored, answered once set
    stub.drop_answers("chat.update")                  # stored, connection closed
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from bot.demo import local_slack
from bot.demo.local_slack import Call


@dataclass
class _Failure:
    error: str
    status: int
    retry_after: int | None
    remaining: int
    predicate: Callable[[dict[str, Any]], bool] = lambda args: True  # which calls it fails


@dataclass
class _AfterFault:
    """Trouble after a call was carried out: its answer held back, or never sent."""

    method: str
    predicate: Callable[[dict[str, Any]], bool]
    remaining: int
    drop: bool  # close the connection instead of answering
    release: threading.Event = field(default_factory=threading.Event)


class SlackStub(local_slack.SlackStub):
    def _init_state(self) -> None:
        super()._init_state()
        self._failures: dict[str, list[_Failure]] = {}
        self._after: list[_AfterFault] = []

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        status: int | None = None,
        *,
        times: int = 1,
        retry_after: int | None = 1,
        predicate: Callable[[dict[str, Any]], bool] = lambda args: True,
    ) -> None:
        """Makes the next ``times`` calls of ``method`` (whose args match ``predicate``)
        fail with ``error``; nothing of theirs is stored.

        ``status`` defaults to 429 for ``ratelimited`` (with a ``Retry-After`` header) and
        200 otherwise (Slack's usual ``{"ok": false, "error": ...}``).
        """
        if status is None:
            status = 429 if error == "ratelimited" else 200
        with self._lock:
            self._failures.setdefault(method, []).append(
                _Failure(error, status, retry_after if status == 429 else None, times, predicate)
            )

    def clear_failures(self) -> None:
        """Forgets failures set with fail_next() that have not been used up."""
        with self._lock:
            self._failures.clear()

    def hold_answers(self, method: str, predicate: Callable[[dict[str, Any]], bool] = lambda args: True,
                     *, times: int = 1) -> threading.Event:
        """The next ``times`` calls of ``method`` whose args match ``predicate`` are carried
        out (a posted message is stored) but answered only once the returned event is set:
        a bot killed meanwhile never learns the message's ts."""
        fault = _AfterFault(method, predicate, times, drop=False)
        with self._lock:
            self._after.append(fault)
        return fault.release

    def drop_answers(self, method: str, predicate: Callable[[dict[str, Any]], bool] = lambda args: True,
                     *, times: int = 1) -> None:
        """The next ``times`` matching calls of ``method`` are carried out, then their
        connection is closed with no answer: a network drop after Slack stored the message."""
        with self._lock:
            self._after.append(_AfterFault(method, predicate, times, drop=True))

    def _take_after(self, call: Call) -> _AfterFault | None:
        with self._lock:
            if not call.ok:
                return None
            for fault in self._after:
                if fault.method == call.method and fault.remaining > 0 and fault.predicate(call.args):
                    fault.remaining -= 1
                    return fault
        return None

    def _fault_before(self, call: Call) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        failure = self._take_failure(call.method, call.args)
        if failure is None:
            return None
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
        return failure.status, {"ok": False, "error": failure.error}, headers

    def _fault_after(self, call: Call) -> "_AfterFault | None":
        return self._take_after(call)

    def _take_failure(self, method: str, args: dict[str, Any]) -> _Failure | None:
        queue = self._failures.get(method)
        failure = next((f for f in queue or () if f.predicate(args)), None)
        if failure is None:
            return None
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.remove(failure)
        return failure
