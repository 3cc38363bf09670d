"""sanitize.clean: server text made safe for a terminal, whatever the server sends."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bulkop.sanitize import clean

# Properties run on a possibly busy machine: no per-example deadline, fewer examples.
FAST = settings(deadline=None, max_examples=60)

# Categories a terminal acts on or hides: controls, format (bidi, zero-width), line and
# paragraph separators, surrogates, private use and unassigned code points.
UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}

ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200)
TERMINAL_NASTIES = st.lists(
    st.sampled_from(
        [
            "\x1b",
            "\x1b[",
            "\x1b[2J",
            "\x1b[31;1m",
            "\x1b]0;title\x07",
            "\x1b]8;;http://x\x1b\\",
            "\x1bP1$r\x1b\\",
            "\x9b",
            "\x9b2J",
            "\x90",
            "\x07",
            "\x08",
            "\r",
            "\n",
            "\t",
            "\x00",
            "\x7f",
            "\x85",
            "\u202e",
            "\u202d",
            "\u2066",
            "\u2069",
            "\u200b",
            "\u200f",
            "\u061c",
            "\ufeff",
            "\u2028",
            "\u2029",
            "\ud800",
            "[bold]",
            "[/]",
            "plain",
            " ",
            "é",
            "✓",
            "漢",
        ]
    ),
    max_size=30,
).map("".join)


def unsafe(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) in UNSAFE_CATEGORIES]


@FAST
@given(st.one_of(ANY_TEXT, TERMINAL_NASTIES))
@example("\x1b]0;pwned\x07evil\x1b[2J [bold]markup[/bold] \u202e")
@example("\x9b31mred\x9b0m")
@example("a\u0085b\u2028c")
def test_output_never_contains_a_control_or_format_character(text):
    out = clean(text)
    assert unsafe(out) == [], repr(out)
    assert "\n" not in out and "\x1b" not in out


@FAST
@given(st.one_of(ANY_TEXT, TERMINAL_NASTIES))
def test_clean_is_idempotent(text):
    once = clean(text)
    assert clean(once) == once


@FAST
@given(st.text(alphabet=st.characters(categories=["L", "M", "N", "P", "S"]), max_size=100))
def test_printable_text_is_left_alone(text):
    assert clean(text) == text


@FAST
@given(st.one_of(ANY_TEXT, TERMINAL_NASTIES), st.integers(min_value=1, max_value=100))
def test_max_len_bounds_the_length(text, max_len):
    out = clean(text, max_len=max_len)
    assert len(out) <= max_len
    if len(clean(text)) > max_len:
        assert out.endswith("…")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x1b[2Jhello", "hello"),  # a whole CSI sequence goes, not just ESC
        ("\x1b[31;1mred\x1b[0m", "red"),
        ("\x1b]0;pwned\x07title", "title"),  # OSC ended by BEL
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink, ended by ST
        ("\x9b2Jx", "x"),  # 8-bit CSI
        ("a\tb\nc\rd", "a b c d"),
        ("abc\u202edef", "abcdef"),  # bidi override removed (Trojan Source)
        ("zero\u200bwidth", "zerowidth"),
        ("nul\x00l", "nul\ufffdl"),  # other controls become a visible replacement
        ("[bold]markup[/bold]", "[bold]markup[/bold]"),  # not ours to interpret
        ("naïve ✓ 漢字", "naïve ✓ 漢字"),
    ],
)
def test_examples(text, expected):
    assert clean(text) == expected


def test_non_strings_are_converted():
    assert clean(42) == "42"
    assert clean(None) == "None"


def test_evil_name_keeps_its_visible_text():
    out = clean("\x1b]0;pwned\x07evil\x1b[2J [bold]markup[/bold] \u202e")
    assert out == "evil [bold]markup[/bold] "
