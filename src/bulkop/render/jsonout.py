"""JSON for stdout: the data exact, but nothing in it that a terminal would act on."""

from __future__ import annotations

import json
import math
import re
from typing import Any

# What json.dumps(ensure_ascii=False) leaves raw but a terminal obeys or a reader is fooled by:
# DEL and C1 controls (8-bit CSI/OSC), bidi overrides and isolates, zero-width and line/paragraph
# separators, BOM. They can only occur inside JSON strings, so escaping them keeps the data.
# Lone surrogates (JSON's "\ud800") too: they cannot be encoded as UTF-8 at all, so written raw
# they would crash the write; as `\ud800` escapes they are the JSON the server sent.
_ACTIVE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]")


def dumps(data: Any, *, indent: int | None = None) -> str:
    """`json.dumps` that keeps é readable and writes the characters above as \\u escapes.

    Always valid JSON: Python's parser accepts `1e999`, `Infinity` and `NaN` from a server,
    and its encoder would print `Infinity` and `NaN`, which no other JSON reader takes. Infinite
    numbers are written as `1e999` (what a server sends for them), NaN as `null`.
    """
    separators = None if indent else (",", ":")
    try:
        text = json.dumps(data, ensure_ascii=False, indent=indent, separators=separators, allow_nan=False)
    except ValueError:
        import secrets  # only here: importing it is a cost every command's start-up would pay

        marker = f"bulkop-{secrets.token_hex(8)}"
        text = json.dumps(_finite(data, marker), ensure_ascii=False, indent=indent, separators=separators)
        text = text.replace(f'"{marker}+inf"', "1e999").replace(f'"{marker}-inf"', "-1e999")
    return _ACTIVE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def _finite(data: Any, marker: str) -> Any:
    """A copy with every non-finite float replaced: a marker string for ±inf, None for NaN."""
    if isinstance(data, float) and not math.isfinite(data):
        return None if math.isnan(data) else f"{marker}{'+' if data > 0 else '-'}inf"
    if isinstance(data, dict):
        return {k: _finite(v, marker) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(v, marker) for v in data]
    return data
