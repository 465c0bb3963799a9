"""One run of `lianxin`: the settings, read from the environment at most once, and what
the verbs open through the composition root's one entry for them (`bootstrap.Tools`).

Verbs that need no settings (`data-key`, `evidence verify`, `evidence key`, `--version`)
never read them, so a broken environment does not stop them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.bootstrap import Tools
    from gateway.service.directory import Directory
    from gateway.settings import Settings
    from gateway.store.sql import SqlStore


class Invocation:
    """What one command line's verb works with."""

    @cached_property
    def settings(self) -> Settings:
        """LIANXIN_* from the environment, read on first use."""
        from gateway.settings import Settings

        return Settings()

    def tools(self, **overrides: Any) -> Tools:
        """The composition root's tools on these settings, with flags' `overrides` (None: unset)."""
        from gateway.bootstrap import Tools

        given = {name: value for name, value in overrides.items() if value is not None}
        settings = self.settings.model_copy(update=given) if given else self.settings
        return Tools(settings)

    @contextmanager
    def opened(self) -> Iterator[tuple[SqlStore, Directory]]:
        """The database a gateway uses (migrated) and the agencies' directory; the store is
        closed on the way out."""
        tools = self.tools()
        directory = tools.directory  # a mappings error stops the verb before the database
        store = tools.store()
        try:
            yield store, directory
        finally:
            asyncio.run(store.aclose())
