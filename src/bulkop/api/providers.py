"""The registry of providers: adding a third API is one module here, no command changes."""

from __future__ import annotations

from types import ModuleType

from bulkop.api import knock, saymon

PROVIDERS: dict[str, ModuleType] = {knock.NAME: knock, saymon.NAME: saymon}


def provider(name: str) -> ModuleType:
    return PROVIDERS[name]
