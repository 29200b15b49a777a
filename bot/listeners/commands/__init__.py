"""The one slash command, /nz, and its subcommands (one small module each)."""

from __future__ import annotations

from slack_bolt import App

from bot.access import NZ, guarded
from bot.listeners.answering import answering
from bot.listeners.commands import nz
from bot.services import Services


def register(app: App, services: Services) -> None:
    @app.command(NZ)
    @answering(services.store)
    @guarded(services, NZ)  # /nz itself answers anyone; nz.py asks the policy per subcommand
    def nz_command(ack, command, respond, actor):
        nz.handle(services, ack, command, respond, actor)
