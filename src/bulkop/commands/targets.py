"""Turn the ids a user typed into (settings, client, id) targets, honouring `PROFILE:ID`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bulkop.api import Client, RequestEvent
from bulkop.context import Context
from bulkop.errors import ExitCode
from bulkop.models import BulkOperation, Status
from bulkop.settings import Settings


@dataclass(frozen=True)
class Target:
    """One operation to fetch: which account it lives in, and its canonical id."""

    label: str  # what the user typed, for messages
    profile: str | None
    settings: Settings
    client: Client
    id: str


def split_profile(raw: str, profiles: Mapping[str, Any]) -> tuple[str | None, str]:
    """`prod:123e…` → ("prod", "123e…") when `prod` is a profile; otherwise (None, raw)."""
    prefix, sep, rest = raw.partition(":")
    if sep and prefix in profiles:
        return prefix, rest
    return None, raw


def resolve_targets(
    ids: list[str],
    flags: Mapping[str, Any],
    ctx: Context,
    *,
    on_event: Callable[[RequestEvent], None] | None = None,
) -> list[Target]:
    """Resolve every id; malformed ids and bad configuration fail here, before any request."""
    from bulkop.commands.list import expand_refs

    ids = expand_refs(ids, ctx)  # @last
    profiles = ctx.config().profiles
    clients: dict[str | None, tuple[Settings, Client]] = {}
    targets = []
    for raw in ids:
        profile, op_id = split_profile(raw.strip(), profiles)
        if profile not in clients:
            settings = ctx.settings(flags, profile)
            clients[profile] = (settings, ctx.client(settings, on_event=on_event))
        settings, client = clients[profile]
        targets.append(Target(raw, settings.profile, settings, client, client.normalize_id(op_id)))
    return targets


def outcome_code(op: BulkOperation) -> int:
    """The exit code an operation's state maps to: 0 completed, 1 failed, 3 unfinished."""
    if op.status is Status.COMPLETED:
        return ExitCode.OK
    if op.status is Status.FAILED:
        return ExitCode.FAILED
    return ExitCode.NOT_FINISHED
