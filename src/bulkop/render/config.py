"""How profiles and effective settings look: plain aligned text, a Rich table, or JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bulkop.providers import default_base_url
from bulkop.render.jsonout import dumps
from bulkop.sanitize import clean
from bulkop.settings import BY_NAME, PROVIDER_NAMES, SETTINGS, Resolved, Setting, Settings, mask

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table

    from bulkop.config import ConfigFile

# How the profile in force was chosen, as `config show` says it.
PROFILE_SOURCES = {
    "argument": "the NAME argument",
    "flag": "--profile",
    "env": "BULKOP_PROFILE",
    "default_profile": "default_profile in the config file",
}


@dataclass(frozen=True)
class ProfileRow:
    name: str
    provider: str
    base_url: str | None
    is_default: bool


def profile_rows(cf: ConfigFile) -> list[ProfileRow]:
    rows = []
    for name, table in sorted(cf.profiles.items()):
        provider = table.get("provider", BY_NAME["provider"].default)
        base_url = table.get("base_url") or default_base_url(str(provider), cf.providers)
        rows.append(ProfileRow(name, provider, base_url, name == cf.default_profile))
    return rows


_PROFILE_HEADER = ("NAME", "PROVIDER", "BASE URL", "DEFAULT")
# Piped, for cut and awk: one word per header, one tab between fields, no empty field.
_PROFILE_TEXT_HEADER = ("NAME", "PROVIDER", "BASE_URL", "DEFAULT")


def _profile_cells(row: ProfileRow) -> tuple[str, ...]:
    return (row.name, row.provider, row.base_url or "-", "yes" if row.is_default else "")


def profiles_text(rows: Sequence[ProfileRow]) -> str:
    """Tab-separated rows with a header: `cut -f1` gives the names, whatever their length."""
    if not rows:
        return ""
    cells = [(r.name, r.provider, r.base_url or "-", "yes" if r.is_default else "no") for r in rows]
    return "".join("\t".join(clean(c) for c in row) + "\n" for row in [_PROFILE_TEXT_HEADER, *cells])


URL_MIN = 24  # below this a URL folds into a column of letters: drop whole columns first


def profiles_table(rows: Sequence[ProfileRow], width: int = 80) -> Table:
    """Profiles for people. A name is what a user types (`-p NAME`): never cut. A long URL
    folds; when even that leaves it under URL_MIN columns, DEFAULT and then PROVIDER go."""
    header = list(_PROFILE_HEADER)
    cells = [list(_profile_cells(r)) for r in rows]
    for drop in ("DEFAULT", "PROVIDER"):
        fixed = sum(max(len(h), *(len(c[i]) for c in cells)) + 3 for i, h in enumerate(header) if h != "BASE URL")
        if width - fixed >= URL_MIN:
            break
        i = header.index(drop)
        del header[i]
        for c in cells:
            del c[i]
    return _table(header, cells, fold=("BASE URL",))


def profiles_json(rows: Sequence[ProfileRow]) -> str:
    data = [{"name": r.name, "provider": r.provider, "base_url": r.base_url, "default": r.is_default} for r in rows]
    return dumps(data, indent=2)


# --------------------------------------------------------------------------- config show


def shown_settings(settings: Settings) -> list[tuple[Setting, Resolved]]:
    """Every setting that applies to the provider in force, in the table's order: for a
    catalogue or config.toml provider, the credentials its auth reads (as `resolve` does)."""
    needed = None if settings.provider in PROVIDER_NAMES else settings.secrets_needed
    return [(s, settings.values[s.name]) for s in SETTINGS if s.applies(settings.provider, needed)]


def value_text(setting: Setting, value: Any) -> str:
    if value is None:
        return "-"
    if setting.secret:
        return mask(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if setting.type in ("duration", "interval") and isinstance(value, float):
        return f"{value:g}s"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def source_text(resolved: Resolved) -> str:
    return f"{resolved.source} ({resolved.detail})" if resolved.detail else resolved.source


def profile_line(settings: Settings, chosen: str) -> str:
    if settings.profile is None:
        return "Profile: none (no --profile, BULKOP_PROFILE or default_profile)"
    return f"Profile: {settings.profile} (from {PROFILE_SOURCES.get(chosen, chosen)})"


_SETTINGS_HEADER = ("SETTING", "VALUE", "SOURCE")


def _settings_cells(settings: Settings) -> list[tuple[str, ...]]:
    return [(s.name, value_text(s, r.value), source_text(r)) for s, r in shown_settings(settings)]


def _heading(settings: Settings, chosen: str, path: Path) -> str:
    return clean(f"Config file: {path}") + "\n" + clean(profile_line(settings, chosen)) + "\n\n"


def settings_text(settings: Settings, chosen: str, path: Path) -> str:
    return _heading(settings, chosen, path) + columns(_SETTINGS_HEADER, _settings_cells(settings))


def settings_heading(settings: Settings, chosen: str, path: Path) -> RenderableType:
    """Which file and profile; print it with soft_wrap=True so a long path is never cut."""
    from rich.text import Text

    return Text(_heading(settings, chosen, path).removesuffix("\n"))


def settings_table(settings: Settings) -> Table:
    return _table(_SETTINGS_HEADER, _settings_cells(settings), fold=("VALUE", "SOURCE"))


def settings_json(settings: Settings, chosen: str, path: Path) -> str:
    data = {
        "config_file": str(path),
        "profile": settings.profile,
        "profile_source": chosen,
        "settings": {
            s.name: {
                "value": mask(r.value) if s.secret and r.value is not None else r.value,
                "source": r.source,
                "detail": r.detail,
            }
            for s, r in shown_settings(settings)
        },
    }
    return dumps(data, indent=2)


# --------------------------------------------------------------------------- layout


def columns(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain text in aligned columns (for pipes): no styling, no wrapping, no trailing blanks."""
    cells = [list(header)] + [[clean(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n" for row in cells)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, fold: Sequence[str] = ()) -> Table:
    """A table for people; columns not in `fold` are never wrapped or cut (when the terminal is
    too narrow the folding columns give way first)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for title in header:
        if title in fold:
            table.add_column(title, overflow="fold")
        else:
            table.add_column(title, no_wrap=True)
    for row in rows:
        table.add_row(*(Text(clean(c)) for c in row))
    return table
