"""JSON for stdout: the data exact, but nothing in it that a terminal would act on."""

from __future__ import annotations

import json
import re
from typing import Any

# What json.dumps(ensure_ascii=False) leaves raw but a terminal obeys or a reader is fooled by:
# DEL and C1 controls (8-bit CSI/OSC), bidi overrides and isolates, zero-width and line/paragraph
# separators, BOM. They can only occur inside JSON strings, so escaping them keeps the data.
# Lone surrogates (JSON's "\ud800") too: they cannot be encoded as UTF-8 at all, so written raw
# they would crash the write; as `\ud800` escapes they are the JSON the server sent.
_ACTIVE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb\ud800-\udfff]")


def dumps(data: Any, *, indent: int | None = None) -> str:
    """`json.dumps` that keeps é readable and writes the characters above as \\u escapes."""
    separators = None if indent else (",", ":")
    text = json.dumps(data, ensure_ascii=False, indent=indent, separators=separators)
    return _ACTIVE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
