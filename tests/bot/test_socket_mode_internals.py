"""bot/socket_mode.py does the Socket Mode transport itself and hands each request to
slack_bolt's private `slack_bolt.adapter.socket_mode.internals` (run_bolt_app, send_response).
Private means it may change in any release: this fails loudly, naming the module, if it has."""

from __future__ import annotations

import importlib
import inspect

import slack_bolt

MODULE = "slack_bolt.adapter.socket_mode.internals"
EXPECTED = {"run_bolt_app": ["app", "req"], "send_response": ["client", "req", "bolt_resp", "start_time"]}


def test_the_private_socket_mode_internals_are_as_bot_socket_mode_uses_them():
    try:
        internals = importlib.import_module(MODULE)
    except ImportError as exc:  # pragma: no cover - the message is the point
        raise AssertionError(f"{MODULE} is gone in slack_bolt {slack_bolt.version.__version__}: "
                             "bot/socket_mode.py must be updated") from exc
    for name, parameters in EXPECTED.items():
        found = getattr(internals, name, None)
        assert found is not None, f"{MODULE}.{name} is gone in slack_bolt {slack_bolt.version.__version__}"
        assert list(inspect.signature(found).parameters) == parameters, (
            f"{MODULE}.{name} changed its parameters in slack_bolt {slack_bolt.version.__version__}: "
            "bot/socket_mode.py must be updated")
