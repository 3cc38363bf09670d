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


# No message bulkop prints is longer than this: a server's 20 MB string quoted in an error is
# cut here, whatever path it took to the message.
MESSAGE_MAX = 1000


def clean_message(text: object) -> str:
    """A one-line message for stderr: cleaned, and capped at MESSAGE_MAX characters."""
    return clean(text, max_len=MESSAGE_MAX)


# Markdown and HTML that GitHub renders in a step summary: a table cell of server text must
# show as the text it is, not as a link, an image, a heading, a tag or a broken table.
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
# What is markup inside a table cell: emphasis, code, links and images, strike-through, math,
# the cell's own `|`, and the backslash itself. (`.`, `-`, `+` and `:` are markup only at the
# start of a line or in a URL, so names and ids stay readable in the file.)
_MARKUP = frozenset("\\`*_[]()|~!#${}")


def markdown_cell(text: object, *, max_len: int = 200) -> str:
    """Server text made safe for one cell of a GitHub Markdown table (`$GITHUB_STEP_SUMMARY`).

    Cleaned to one printable line and capped; Markdown's inline markup is backslash-escaped, so
    no link, image, emphasis, code span, math or `|` that ends the cell; HTML's special
    characters become entities, so a `<img>` or `<details>` is shown, not rendered.
    """
    out = clean(text, max_len=max_len)
    return "".join(_HTML.get(ch) or ("\\" + ch if ch in _MARKUP else ch) for ch in out)


def plural(n: int, noun: str) -> str:
    """`1 error`, `1,000 errors`: a count and its noun, in every message and view."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
