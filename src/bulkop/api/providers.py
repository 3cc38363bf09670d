"""The registry of providers: adding a third API is one module here, no command changes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bulkop.api.http import Response
    from bulkop.models import BulkOperation


class Provider(Protocol):
    """What a provider module offers (knock.py, saymon.py): typed, so a module that lacks a
    name fails the type check instead of at run time."""

    @property
    def NAME(self) -> str: ...
    @property
    def DEFAULT_BASE_URL(self) -> str | None: ...
    @property
    def AUTH_HINT(self) -> str: ...

    def normalize_id(self, op_id: str) -> str: ...
    def path(self, op_id: str) -> str: ...
    def auth_headers(self, settings: Any) -> dict[str, str]: ...
    def parse(self, op_id: str, data: Any) -> BulkOperation: ...
    def describe_error(self, response: Response) -> str | None: ...


def _registry() -> Mapping[str, Provider]:
    from bulkop.api import knock, saymon

    modules: tuple[Provider, ...] = (knock, saymon)
    return {m.NAME: m for m in modules}


PROVIDERS: Mapping[str, Provider] = _registry()
