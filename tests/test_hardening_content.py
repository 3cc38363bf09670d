"""Hardening: hostile text from the server never drives the terminal, and JSON keeps it exact.

Every payload below carries a visible marker (M01…M21) next to something a terminal would act
on: OSC title/hyperlink/clipboard sequences, screen clears, cursor moves, 8-bit C1 controls,
bidi overrides, Rich markup, line breaks that would forge CI annotations. They are put in
operation names, error item ids and collections, and in the bodies of error answers, and every
view is checked: `get` (terminal table through a real pseudo-terminal, text, JSON), `status`,
`watch` (live view on a pseudo-terminal, CI lines and GitHub annotations, NDJSON) and the one
error line. bulkop's own escape codes (cursor hiding, line erasing in the live view) are
allowed; what is checked is that none of the payloads' bytes reach the terminal raw.
"""

from __future__ import annotations

import json
import re

import pytest

from bulkop.simulator import Scenario
from conftest import KNOCK_TOKEN, run_cli
from helpers import (
    GET_FAST,
    MISSING_ID,
    Canned,
    CannedServer,
    FakeClock,
    PtyProcess,
    assert_cursor_restored,
    done,
    env_for,
    with_,
)

pytestmark = pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning")

PAYLOADS: dict[str, str] = {
    "osc-title-bel": "\x1b]0;PWNED-TITLE\x07M01",
    "osc-title-st": "\x1b]2;PWNED-TITLE\x1b\\M02",
    "osc8-hyperlink": "\x1b]8;;http://evil.example/\x1b\\M03\x1b]8;;\x1b\\",
    "osc52-clipboard": "\x1b]52;c;cm0gLXJmIH4K\x07M04",
    "clear-screen": "\x1b[2J\x1b[3JM05",
    "cursor-moves": "\x1b[H\x1b[7331A\x1b[99;99HM06",
    "conceal": "\x1b[8mM07\x1b[0m",
    "c1-csi": "\x9b2JM08",
    "c1-osc": "\x9d0;PWNED-TITLE\x9cM09",
    "c1-next-line": "M10\x85x",
    "dcs": "\x1bP1$r0m\x1b\\M11",
    "bidi-override": "\u202eM12\u202c",
    "bidi-isolate": "\u2066M13\u2069",
    "zero-width": "M14\u200b\ufeff",
    "rich-markup": "[bold red]M15[/bold red][link=file:///etc/passwd]x[/link]",
    "emoji-code": ":warning:M16",
    "carriage-return": "safe\rM17",
    "backspace": "M18\x08\x08\x08XYZ",
    "bell-nul-del": "\x07\x00\x7fM19",
    "line-separators": "M20\u2028\u2029end",
    "annotation-forgery": "M21\n::error file=x::forged\r\n",
}
MARKERS = [f"M{n:02d}" for n in range(1, len(PAYLOADS) + 1)]
ALL_IN_ONE = "".join(PAYLOADS.values())
# Byte sequences only the payloads would produce (bulkop's live view uses ESC [ ?25l/h, 2K, 1A).
FORBIDDEN = [
    "\x1b]",
    "\x1bP",
    "\x1b\\",
    "\x1b[2J",
    "\x1b[3J",
    "\x1b[H",
    "\x1b[7331A",
    "\x1b[99;99H",
    "\x1b[8m",
    "PWNED-TITLE\x07",
    "\rM17",
    "\x1b[1;31mM15",
    "\u26a0",
]
UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
ERROR_ITEMS = [{"id": payload, "collection": payload} for payload in PAYLOADS.values()]


def assert_defused(text: str, *, escapes_allowed: bool = False) -> None:
    """No payload byte reaches the reader; ESC only where bulkop itself draws (live view)."""
    for sequence in FORBIDDEN:
        assert sequence not in text, f"{sequence!r} reached the output:\n{text!r}"
    assert UNSAFE.findall(text) == [], f"control or format characters: {UNSAFE.findall(text)!r}\n{text!r}"
    if escapes_allowed:
        assert re.findall(r"\x1b(?!\[)", text) == [], "only CSI sequences (bulkop's own) may appear"
    else:
        assert "\x1b" not in text, repr(text)
    for line in text.splitlines():
        assert not line.lstrip("\r").startswith("::error file=x"), "a payload forged a CI annotation"


def assert_markers_visible(text: str) -> None:
    missing = [m for m in MARKERS if m not in text]
    assert missing == [], f"server text lost, not just defused: {missing}"
    assert "[bold red]M15[/bold red]" in text  # markup is shown as typed, never interpreted
    assert ":warning:M16" in text


@pytest.fixture
def hostile(sim):
    """One operation with every payload in its name and error items; one per payload as a name."""
    one = sim.add(
        done(name=ALL_IN_ONE, fail_at=0.5, extra_fields={"error_items": ERROR_ITEMS, "error_count": len(ERROR_ITEMS)})
    )
    each = [sim.add(done(name=payload)) for payload in PAYLOADS.values()]
    return one, each


# --------------------------------------------------------------------------- get and status, piped


def test_get_text_shows_every_payload_defused_with_its_text_intact(sim, knock_env, hostile):
    one, _ = hostile
    r = run_cli(["get", one, "-o", "text", "--errors"], knock_env)
    assert r.code == 0, r.stderr
    assert_defused(r.stdout)
    assert_markers_visible(r.stdout)
    assert r.stdout.count("error_item:\t") == len(PAYLOADS)


def test_get_several_ids_text_rows_stay_one_line_each(sim, knock_env, hostile):
    _, each = hostile
    r = run_cli(["get", *each, "-o", "text"], knock_env)
    assert r.code == 0, r.stderr
    assert_defused(r.stdout)
    assert_markers_visible(r.stdout)
    assert len(r.stdout.splitlines()) == 1 + len(each)  # no payload broke a row in two


@pytest.mark.parametrize("output", [[], ["-o", "json"]])
def test_status_is_defused(sim, knock_env, hostile, output):
    one, _ = hostile
    r = run_cli(["status", one, *output], knock_env)
    assert r.code == 1, r.stderr  # the hostile operation failed half way
    assert_defused(r.stdout + r.stderr)


def test_json_output_keeps_every_payload_exactly(sim, knock_env, hostile):
    one, each = hostile
    r = run_cli(["get", one, "-o", "json"], knock_env)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["name"] == ALL_IN_ONE and data["error_items"] == ERROR_ITEMS
    r = run_cli(["get", *each, "-o", "jsonl"], knock_env)
    # (split on \n only: JSON Lines are \n-separated, and str.splitlines also splits at U+2028)
    assert [json.loads(line)["name"] for line in r.stdout.split("\n")[:-1]] == list(PAYLOADS.values())
    clock = FakeClock()
    r = run_cli(["watch", *each, "-o", "json", "--display", "quiet"], knock_env, now=clock.now, sleep=clock.sleep)
    assert r.code == 0, r.stderr
    names = {json.loads(line)["operation"]["name"] for line in r.stdout.split("\n")[:-1]}
    assert names == set(PAYLOADS.values())


@pytest.mark.parametrize("command", ["get-json", "get-jsonl", "watch-json"])
def test_json_output_escapes_what_a_terminal_would_act_on(sim, knock_env, hostile, command):
    """JSON stays exact and still readable (é stays é), but C1 controls and bidi overrides are
    written as \\u escapes: `bulkop get ID -o json` in a terminal must not reorder or drive it."""
    one, _ = hostile
    args = {
        "get-json": ["get", one, "-o", "json"],
        "get-jsonl": ["get", one, "-o", "jsonl"],
        "watch-json": ["watch", one, "-o", "json", "--display", "quiet"],
    }[command]
    clock = FakeClock()
    r = run_cli(args, knock_env, now=clock.now, sleep=clock.sleep)
    assert r.code in (0, 1), r.stderr
    assert_defused(r.stdout)
    first = json.loads(r.stdout.split("\n")[0] if command != "get-json" else r.stdout)
    assert (first.get("operation") or first)["name"] == ALL_IN_ONE


# --------------------------------------------------------------------------- a real terminal


@pytest.mark.slow
def test_get_table_on_a_terminal_is_defused(sim, knock_env, hostile):
    one, each = hostile
    env = {**knock_env, "TERM": "xterm-256color"}
    for ids in ([one, "--errors"], each):
        term = PtyProcess(["get", *ids], env)
        code, screen = term.finish()
        assert code == 0, screen
        assert_defused(screen)
        assert "Traceback" not in screen
    assert "M15" in screen and "M21" in screen


@pytest.mark.slow
def test_watch_live_view_on_a_terminal_is_defused(sim, knock_env, hostile):
    """Colour on (FORCE_COLOR), so that markup would show if it were interpreted."""
    _, each = hostile
    broken = sim.add(done(extra_fields={"status": ALL_IN_ONE}))
    env = {**knock_env, "TERM": "xterm-256color", "FORCE_COLOR": "1", "NO_COLOR": ""}
    term = PtyProcess(["watch", *each, broken, "--interval", "0.2", "--max-consecutive-failures", "1"], env)
    code, screen = term.finish()
    assert code == 6, screen
    assert "\x1b[?25l" in screen  # it was the live view
    assert_defused(screen, escapes_allowed=True)
    assert_cursor_restored(screen)
    assert "field 'status' (" in screen and "Traceback" not in screen
    assert "M01" in screen and "M12" in screen


# --------------------------------------------------------------------------- CI lines and annotations


def test_watch_ci_lines_and_github_annotations_are_defused(sim, knock_env, hostile, tmp_path):
    one, each = hostile
    summary = tmp_path / "step-summary.md"
    env = {**knock_env, "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    clock = FakeClock()
    r = run_cli(["watch", one, *each, "--interval", "0.2"], env, now=clock.now, sleep=clock.sleep)
    assert r.code == 1, r.stderr  # the hostile operation failed
    assert_defused(r.stderr)
    assert_defused(summary.read_text(encoding="utf-8"))
    assert "::error title=bulkop%3A operation failed::" in r.stderr and "::group::" in r.stderr
    for line in r.stderr.splitlines():  # one annotation a line, each written by bulkop
        assert not line.startswith("::") or re.match(r"::(error title=|group::|endgroup::)", line), line
    for marker in ("M01", "M12", "M17", "M21"):
        assert marker in r.stderr


# --------------------------------------------------------------------------- error messages


def as_header(text: str) -> str:
    """The payloads as raw UTF-8 bytes in a header value (http.server writes headers as latin-1)."""
    return text.replace("\n", "").replace("\r", "").encode("utf-8").decode("latin-1")


def knock_error(status: int) -> Canned:
    body = json.dumps({"code": ALL_IN_ONE, "message": ALL_IN_ONE, "status": status, "type": "x"}).encode()
    return Canned(status, body)


# case → (answer, exit code); each answer carries every payload somewhere in what bulkop reports.
ERROR_ANSWERS = {
    "401-message": (knock_error(401), 4),
    "403-message": (knock_error(403), 4),
    "404-message": (knock_error(404), 5),
    "429-message": (knock_error(429), 6),
    "500-message": (knock_error(500), 6),
    "router-404-detail": (Canned(404, json.dumps({"errors": {"detail": ALL_IN_ONE}}).encode()), 5),
    "html-200-page": (
        Canned(200, f"<html><title>{ALL_IN_ONE}</title></html>".encode(), (("Content-Type", "text/html"),)),
        6,
    ),
    "status-outside-the-enum": (Canned(200, with_(status=ALL_IN_ONE)), 6),
    "id-not-a-uuid": (Canned(200, with_(id=ALL_IN_ONE)), 6),
    "date-not-rfc3339": (Canned(200, with_(updated_at=ALL_IN_ONE)), 6),
    "content-type": (Canned(200, b"nope", (("Content-Type", "text/plain; " + as_header(ALL_IN_ONE)),)), 6),
}


@pytest.mark.parametrize("output", ["text", "json"])
@pytest.mark.parametrize("case", list(ERROR_ANSWERS))
def test_error_lines_carrying_server_text_are_defused(case, output):
    answer, code = ERROR_ANSWERS[case]
    with CannedServer(answer) as server:
        args = ["get", MISSING_ID, *GET_FAST] + (["-o", "json"] if output == "json" else [])
        r = run_cli(args, env_for("knock", server.url), sleep=lambda s: None)
    assert r.code == code, r.stderr
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert_defused(r.stderr)
    if output == "json":
        json.loads(r.stderr)


def test_saymon_error_messages_are_defused():
    with CannedServer(Canned(500, json.dumps({"message": ALL_IN_ONE}).encode())) as server:
        r = run_cli(["status", "job-1", *GET_FAST], env_for("saymon", server.url), sleep=lambda s: None)
    assert r.code == 6
    assert_defused(r.stderr)


def test_a_hostile_redirect_location_is_defused():
    location = "http://127.0.0.2:1/" + as_header(ALL_IN_ONE)
    with CannedServer(Canned(302, b"", (("Location", location),))) as server:
        r = run_cli(["get", MISSING_ID, *GET_FAST], env_for("knock", server.url), sleep=lambda s: None)
    assert r.code == 6, r.stderr
    assert len(r.stderr.splitlines()) == 1
    assert_defused(r.stderr)


def test_a_saymon_id_typed_with_escapes_is_refused_defused(sim, saymon_env):
    r = run_cli(["get", "--", "\x1b]0;PWNED-TITLE\x07M01"], saymon_env)
    assert r.code == 2, r.stderr
    assert_defused(r.stderr)
    assert sim.requests == []


def test_the_scenario_payloads_are_what_the_server_sends(sim):
    """Guard for this file: the simulator must send the payloads raw, or nothing is tested."""
    import http.client

    op = sim.add(Scenario(queued_seconds=0, duration=0, name=ALL_IN_ONE))
    host, port = sim.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", f"/v1/bulk_operations/{op}", headers={"Authorization": f"Bearer {KNOCK_TOKEN}"})
    body = conn.getresponse().read()
    conn.close()
    assert json.loads(body)["name"] == ALL_IN_ONE
