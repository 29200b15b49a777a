"""The one slash command, /nz, and its subcommands (one small module each)."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners.answering import answering
from bot.listeners.commands import nz
from bot.services import Services


def register(app: App, services: Services) -> None:
    @app.command("/nz")
    @answering(services.store)
    def nz_command(ack, command, respond, request):
        nz.handle(services, ack, command, respond, request)
