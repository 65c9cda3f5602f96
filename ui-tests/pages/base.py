"""LabBase: what every part of LabPage shares (the browser page, server, JupyterLab commands)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page


class LabBase:
    """JupyterLab in one browser page; the mixins LabPage composes build on it."""

    def __init__(self, page: Page, url: str, token: str, errors: list[str]) -> None:
        self.page = page
        self.url = url
        self.token = token
        #: Uncaught page errors and dialogs (an alert would mean injected script ran).
        self.errors = errors

    def command(self, command: str, args: dict[str, Any] | None = None) -> None:
        """Run a JupyterLab command (setup steps a user would do through menus)."""
        self.page.evaluate(
            "async ([c, a]) => { await window.jupyterapp.commands.execute(c, a); }",
            [command, args or {}],
        )
