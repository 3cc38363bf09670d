"""Turn the ids a user typed into (settings, client, id) targets, honouring `PROFILE:ID`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bulkop.api import Client, RequestEvent
from bulkop.config import PROFILE_NAME
from bulkop.context import Context
from bulkop.errors import BulkopError, UsageError
from bulkop.sanitize import clean
from bulkop.settings import Settings, known_profiles


@dataclass(frozen=True)
class Target:
    """One operation to fetch: which account it lives in, and its canonical id."""

    label: str  # what the user typed, for messages
    profile: str | None
    settings: Settings
    client: Client
    id: str

    @property
    def explicit_profile(self) -> str | None:
        """The profile to name in a suggested command: only one the user chose (-p,
        BULKOP_PROFILE, PROFILE:ID); with the default profile, the same command without -p
        is the one that works (with -p, KNOCK_API_KEY and the like are not used)."""
        return self.profile if self.settings.explicit_profile else None


def split_profile(
    raw: str, profiles: Mapping[str, Any], is_id: Callable[[str], bool] | None = None
) -> tuple[str | None, str]:
    """`prod:123e…` → ("prod", "123e…") when `prod` is a configured profile; (None, raw) otherwise.

    Some providers' ids hold a ':' (an Elasticsearch task is `NODE:TASK`), so a prefix that is not
    a profile is read as part of the id when the whole argument is a valid id for the provider
    that would be used (`is_id`); only otherwise is a prefix shaped like a profile name a
    mistyped profile: say so, with the known ones, rather than call the id invalid. The split is
    at the first ':' (a profile name holds none), so `es:NODE:TASK` is profile es, id NODE:TASK.
    """
    prefix, sep, rest = raw.partition(":")
    if not sep:
        return None, raw
    if prefix in profiles:
        return prefix, rest
    if is_id is not None and is_id(raw):
        return None, raw
    if rest and PROFILE_NAME.fullmatch(prefix):
        raise UsageError(
            f"unknown profile {clean(prefix)!r} in {clean(raw)!r} ({known_profiles(prefix, profiles)})",
            hint="write PROFILE:ID with a profile from `bulkop config list`, or the id alone",
        )
    return None, raw


def resolve_targets(
    ids: list[str],
    flags: Mapping[str, Any],
    ctx: Context,
    *,
    on_event: Callable[[RequestEvent], None] | None = None,
) -> list[Target]:
    """Resolve every id; malformed ids and bad configuration fail here, before any request."""
    from bulkop.commands.list import LAST, expand_refs

    refs = expand_refs(ids, ctx)  # @last
    profiles = ctx.config().profiles
    clients: dict[str | None, tuple[Settings, Client]] = {}

    def client_for(profile: str | None) -> tuple[Settings, Client]:
        if profile not in clients:
            settings = ctx.settings(flags, profile)
            ctx.log_debug(connection_line(settings))
            clients[profile] = (settings, ctx.client(settings, on_event=on_event))
        return clients[profile]

    def is_id(raw: str) -> bool:
        """Whether `raw` as a whole is an id of the provider used without a PROFILE: prefix, by
        the ids that provider declares (id_pattern, or UUIDs); credentials play no part."""
        from bulkop.providers import resolve

        try:
            settings = ctx.settings(flags, None)
            definition = resolve(settings.provider, settings.provider_tables)
            if definition.id_pattern is None and definition.formats.get("id") != "uuid":
                return False  # it does not say what an id is: a ':' there is a profile's
            definition.check_id(raw)
        except BulkopError:
            return False
        return True

    targets = []
    for given, raw in zip(ids, refs, strict=True):
        if given.strip() == LAST:
            # The journal's ref: PROFILE:ID for a configured profile, else the id alone (which
            # may hold a ':'); never a typo, so never "unknown profile".
            prefix, sep, rest = raw.partition(":")
            profile, op_id = (prefix, rest) if sep and prefix in profiles else (None, raw)
        else:
            profile, op_id = split_profile(raw.strip(), profiles, is_id)
        settings, client = client_for(profile)
        targets.append(Target(raw, settings.profile, settings, client, client.normalize_id(op_id)))
    return targets


def connection_line(settings: Settings) -> str:
    """For --debug: which profile, which base URL, where the credential came from (never it)."""
    how = {"flag": "from --profile or a PROFILE:ID prefix", "env": "from BULKOP_PROFILE"}
    if settings.profile is None:
        profile = "profile: none"
    else:
        chosen = how.get(settings.profile_source, "the default_profile")
        profile = f"profile {settings.profile} ({chosen})"
    base = settings.values["base_url"]
    secret = "password" if "password" in settings.secrets_needed else "api_key"
    cred = settings.values.get(secret)
    if cred is None or cred.value is None:
        credential = f"no {secret}"
    else:
        credential = f"{secret} from {_origin(cred.source, cred.detail)}"
    where = f"{clean(str(base.value))} ({_origin(base.source, base.detail)})"
    line = f"{profile}; {settings.provider} at {where}; {credential}"
    if settings.ignored_env:
        line += f"; not used for an explicit profile: {', '.join(settings.ignored_env)}"
    return line


def _origin(source: str, detail: str) -> str:
    if source == "env":
        return f"${detail}"
    if source == "profile":
        return f"profile {clean(detail)}"
    return f"{source} {detail}".strip()
