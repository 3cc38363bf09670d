"""How `bulkop providers` shows definitions: rows (table, text, JSON), a definition as TOML, and
what a definition reads from a body (the normalised fields, as JSON)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bulkop.render.jsonout import dumps
from bulkop.sanitize import clean

if TYPE_CHECKING:
    from rich.table import Table

    from bulkop.errors import BulkopError
    from bulkop.models import BulkOperation
    from bulkop.providers import ProviderDefinition

BUILT_IN = "built-in"


@dataclass(frozen=True)
class ProviderRow:
    """One provider as listed: a definition, or the error that keeps a configured one from loading."""

    name: str
    source: str  # "built-in", or the config file's path
    definition: ProviderDefinition | None = None
    error: BulkopError | None = None

    @property
    def builtin(self) -> bool:
        return self.source == BUILT_IN


_HEADER = ("NAME", "SOURCE", "AUTH", "URL", "DESCRIPTION")


def _cells(row: ProviderRow) -> tuple[str, str, str, str, str]:
    d = row.definition
    if d is None:
        message = row.error.message if row.error is not None else "not loaded"
        return (row.name, row.source, "-", "-", f"BROKEN: {message}")
    return (row.name, row.source, d.auth, d.url, d.description or "-")


def providers_text(rows: Sequence[ProviderRow]) -> str:
    """Tab-separated rows with a header (for cut and awk): one line per provider, no empty field."""
    return "".join("\t".join(clean(c) for c in row) + "\n" for row in [_HEADER, *map(_cells, rows)])


DESCRIPTION_MIN = 16  # narrower than this, a description says nothing: the column goes


def providers_table(rows: Sequence[ProviderRow], width: int = 80) -> Table:
    """Providers for people, one line each: name, auth and URL template never cut; the
    description takes what is left (cut with …, dropped below DESCRIPTION_MIN). SOURCE says
    built-in or config; the config file's path is the caption (text and JSON give it per row)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    cells = [[clean(c) for c in _cells(r)] for r in rows]
    paths = sorted({r.source for r in rows if not r.builtin})
    for c, r in zip(cells, rows, strict=True):
        c[1] = BUILT_IN if r.builtin else "config"
        if r.definition is None:
            c[2] = "BROKEN"  # seen even when the description (the error) has no room
    header = list(_HEADER)
    if not paths:  # every row would say built-in
        header.remove("SOURCE")
        cells = [[c[0], *c[2:]] for c in cells]
    fixed = sum(max(len(h), *(len(c[i]) for c in cells)) + 3 for i, h in enumerate(header[:-1]))
    if width - fixed < DESCRIPTION_MIN:
        header.pop()
        cells = [c[:-1] for c in cells]
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="bold",
        expand="DESCRIPTION" in header,
        caption=clean(f"config: {', '.join(paths)}") if paths else None,
        caption_justify="left",
    )
    for title in header:
        if title == "DESCRIPTION":
            table.add_column(title, no_wrap=True, overflow="ellipsis", ratio=1)
        elif title == "URL":
            table.add_column(title, overflow="fold")
        else:
            table.add_column(title, no_wrap=True)
    for c, r in zip(cells, rows, strict=True):
        texts = [Text(v) for v in c]
        if r.definition is None:
            for i, title in enumerate(header):
                if title in ("AUTH", "DESCRIPTION"):
                    texts[i].stylize("bold red")
        table.add_row(*texts)
    return table


def provider_record(row: ProviderRow) -> dict[str, Any]:
    """One provider as JSON: the same keys whether it loaded or not ("error" null when it did)."""
    d = row.definition
    err = row.error
    return {
        "name": row.name,
        "source": BUILT_IN if row.builtin else "config",
        "path": None if row.builtin else row.source,
        "auth": d.auth if d else None,
        "url": d.url if d else None,
        "base_url": d.base_url if d else None,
        "description": d.description if d else None,
        "error": None if err is None else {"message": err.message, "hint": err.hint},
    }


def providers_json(rows: Sequence[ProviderRow]) -> str:
    return dumps([provider_record(r) for r in rows], indent=2)


# --------------------------------------------------------------------------- a definition as TOML

# Characters TOML lets stand raw in a string but a terminal obeys or a reader is fooled by: C1
# controls (8-bit CSI), bidi overrides and isolates, zero-width characters, line separators,
# BOM. tomli_w already escapes C0 controls and DEL; these only occur inside quoted strings and
# keys, where `\uXXXX` is the same value, so the TOML still reads back exactly.
_ACTIVE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]")


def definition_toml(defn: ProviderDefinition, name: str | None = None, *, comment: str | None = None) -> str:
    """`[providers.NAME]` TOML for a definition (under `name` when given), safe to print."""
    import dataclasses

    from bulkop.providers import to_toml

    text = to_toml(dataclasses.replace(defn, name=name) if name else defn)
    text = _ACTIVE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
    if comment:
        text = "".join(f"# {clean(line)}\n" for line in comment.splitlines()) + text
    return text


def definition_json(defn: ProviderDefinition) -> str:
    from bulkop.providers import to_table

    return dumps({"name": defn.name, **to_table(defn)}, indent=2)


# --------------------------------------------------------------------------- what a body reads as


def operation_fields(op: BulkOperation, raw_status: Any) -> dict[str, Any]:
    """The normalised operation, keyed by the definition's field names (`total`, `processed`...),
    so a user sees what each `[fields]` expression gave; null is unknown, never a made-up 0."""
    from bulkop.render.fmt import rfc3339

    def when(value: Any) -> str | None:
        return None if value is None else rfc3339(value)

    return {
        "provider": op.provider,
        "id": str(op.id),
        "status": op.status_word,
        "state": op.status.value,
        "raw_status": raw_status,
        "finished": op.finished,
        "name": op.name,
        "total": op.estimated_total_rows,
        "processed": op.processed_rows,
        "succeeded": op.success_count,
        "failed": op.error_count,
        "error_items": [{"id": i.id, "collection": i.collection} for i in op.error_items],
        "created_at": when(op.inserted_at),
        "updated_at": when(op.updated_at),
        "started_at": when(op.started_at),
        "completed_at": when(op.completed_at),
        "failed_at": when(op.failed_at),
        "progress_path": op.progress_path,
        "typename": op.typename,
    }
