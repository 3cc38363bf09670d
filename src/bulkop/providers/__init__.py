"""Providers as data: the built-in definitions (TOML files here) and the user's `[providers.NAME]` tables.

    from bulkop.providers import resolve
    defn = resolve("zendesk", config.get("providers", {}))
    url = defn.build_url(base_url, op_id)          # UsageError (exit 2) for a malformed id
    headers = defn.auth_headers(settings)           # ConfigError (exit 7) for a missing secret
    op = defn.normalize(op_id, json_body)           # InvalidResponse for a body it cannot read

Built-ins are parsed one at a time, when asked for: start-up pays only for the profile's provider.
A user definition may not reuse a built-in's name (ConfigError): a shadowed `knock` would change
what every existing profile means without a word. Copy `bulkop providers show knock` under a new
name instead.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from bulkop.errors import ConfigError
from bulkop.providers.definition import ProviderDefinition, parse_definition, to_table, to_toml

__all__ = [
    "BUILTIN_NAMES",
    "ProviderDefinition",
    "builtin",
    "load_builtin",
    "parse_definition",
    "resolve",
    "to_table",
    "to_toml",
]

# The file list is fixed at release time; listing it here saves a directory scan per start.
BUILTIN_NAMES = ("knock", "saymon", "zendesk", "auth0", "mailchimp", "elasticsearch")


@functools.cache
def builtin(name: str) -> ProviderDefinition:
    """One built-in definition, parsed on first use (KeyError for an unknown name)."""
    if name not in BUILTIN_NAMES:
        raise KeyError(name)
    import tomllib

    # A plain file read: importlib.resources would import zipfile for a package that is never zipped.
    text = (Path(__file__).parent / "builtin" / f"{name}.toml").read_text(encoding="utf-8")
    return parse_definition(name, tomllib.loads(text), where=f"built-in provider {name}", lazy=True)


class _Builtins(Mapping[str, ProviderDefinition]):
    """name -> definition, each parsed only when looked up."""

    def __getitem__(self, name: str) -> ProviderDefinition:
        return builtin(name)

    def __iter__(self) -> Iterator[str]:
        return iter(BUILTIN_NAMES)

    def __len__(self) -> int:
        return len(BUILTIN_NAMES)

    def __contains__(self, name: object) -> bool:
        return name in BUILTIN_NAMES


def load_builtin() -> Mapping[str, ProviderDefinition]:
    """Every built-in definition by name; a file is read and parsed only when its name is looked up."""
    return _Builtins()


def default_base_url(name: str, config_tables: Mapping[str, Any] | None = None) -> str | None:
    """The base URL a provider's definition gives (None: each account has its own), read
    without parsing a user's definition: a listing must not fail on a broken one."""
    if name in BUILTIN_NAMES:
        return builtin(name).base_url or None
    table = (config_tables or {}).get(name)
    url = table.get("base_url") if isinstance(table, Mapping) else None
    return url if isinstance(url, str) and url else None


def user_names(config_tables: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The names config.toml defines under [providers]."""
    return tuple(config_tables or ())


def resolve(name: str, config_tables: Mapping[str, Any] | None = None) -> ProviderDefinition:
    """The definition a profile's `provider = NAME` means: a built-in, or the user's [providers.NAME].

    Only the named definition is parsed. A user table named like a built-in is refused, so is a
    name defined nowhere (the message lists what exists).
    """
    tables = config_tables or {}
    if not isinstance(tables, Mapping):
        raise ConfigError("providers: must be a table of [providers.NAME] tables")
    if name in BUILTIN_NAMES:
        if name in tables:
            raise ConfigError(
                f"providers.{name}: {name!r} is a built-in provider and cannot be redefined",
                hint=f"give your definition another name, e.g. [providers.{name}-custom], and use that in the profile",
            )
        return builtin(name)
    if name in tables:
        return parse_definition(name, tables[name])
    known = ", ".join([*BUILTIN_NAMES, *sorted(tables)])
    raise ConfigError(f"unknown provider {name!r}", hint=f"known providers: {known}")


def check_user_tables(config_tables: Mapping[str, Any] | None) -> dict[str, ProviderDefinition]:
    """Parse every user definition (for `bulkop providers` and `config check`): the first error raises."""
    tables = config_tables or {}
    return {name: resolve(name, tables) for name in tables}
