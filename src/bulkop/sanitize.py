"""Make server-provided text safe for a terminal: no control, escape or bidi characters."""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls, DEL, and the Unicode bidi overrides/isolates and other invisible format
# characters that can reorder or hide what a terminal shows (Trojan Source).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]")
# A whole escape sequence is removed, not just its ESC byte, so that "[2J" is not left behind.
_ESCAPE_SEQ = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL/ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS/SOS/PM/APC
    r"|\x1b[@-Z\\-_]"  # two-byte sequences
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)


def clean(text: object, *, max_len: int | None = None) -> str:
    """Return `text` as a single printable line: escape sequences dropped, controls replaced."""
    s = text if isinstance(text, str) else str(text)
    if s.isprintable():
        out = s
    else:
        out = _ESCAPE_SEQ.sub("", s)
        out = _UNSAFE.sub(_replacement, out)
        # Anything else Python deems unprintable (unassigned, surrogates) becomes U+FFFD.
        out = "".join(ch if ch.isprintable() or ch == " " else "\ufffd" for ch in out)
    if max_len is not None and len(out) > max_len:
        out = out[: max(0, max_len - 1)] + "…"
    return out


def _replacement(m: re.Match[str]) -> str:
    ch = m.group(0)
    if ch in "\t\n\r":
        return " "
    return "" if unicodedata.category(ch) == "Cf" else "\ufffd"
