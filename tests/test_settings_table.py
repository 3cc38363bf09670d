"""The settings table is the single source of the connection and watch flags: their --help, the
variables named there and the default all come from SETTINGS; each type has one converter."""

from __future__ import annotations

import math

import click
import pytest

from bulkop import _gen
from bulkop.settings import BY_NAME, CONVERTERS, SETTINGS, Setting, SettingType, convert, show_value
from conftest import run_process

FLAGGED = [s for s in SETTINGS if s.flag]


def _options(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Option]]:
    found = [(path, p) for p in command.params if isinstance(p, click.Option)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _options(sub, (*path, name))
    return found


# A tree of its own: --help shown earlier in this process escapes the shared one's texts for Rich.
OPTIONS = _options(_gen.app_command())


@pytest.mark.parametrize("setting", FLAGGED, ids=[s.name for s in FLAGGED])
def test_a_settings_flag_is_documented_from_the_table_everywhere_it_is_taken(setting: Setting) -> None:
    taken = [(path, opt) for path, opt in OPTIONS if opt.opts == [setting.flag] and opt.help == setting.option_help]
    assert taken, f"no command takes {setting.flag} as the settings table describes it"
    for path, opt in taken:
        assert opt.metavar == setting.flag_metavar, path
        for var in setting.all_env:
            assert var in opt.help, (path, var)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("request_timeout", "Seconds to wait for each response (env: BULKOP_REQUEST_TIMEOUT; default: 30)."),
        ("base_url", "API base URL (env: BULKOP_BASE_URL, KNOCK_BASE_URL)."),
        (
            "allow_insecure_http",
            "Send credentials over plain http:// to a non-loopback host (env: BULKOP_ALLOW_INSECURE_HTTP).",
        ),
        ("timeout", "Give up after this long, exit 124: 30s, 10m, 1h (env: BULKOP_TIMEOUT; default: none)."),
        ("max_rps", "Most requests per second to one profile's API (env: BULKOP_MAX_RPS; default: 10)."),
    ],
)
def test_option_help_names_the_variables_and_the_default(name: str, expected: str) -> None:
    assert BY_NAME[name].option_help == expected


@pytest.mark.parametrize(
    ("args", "setting"), [(["watch", "--help"], "max_consecutive_failures"), (["get", "--help"], "retries")]
)
def test_help_shows_the_tables_text(args: list[str], setting: str) -> None:
    result = run_process(args, env={"COLUMNS": "400", "TERMINAL_WIDTH": "400"})
    assert " ".join(BY_NAME[setting].option_help.split()) in " ".join(result.stdout.split())


def test_a_setting_knows_its_command() -> None:
    watch_only = {s.name for s in SETTINGS if s.command == "watch"}
    assert watch_only == {"interval", "timeout", "max_rps", "max_errors", "max_consecutive_failures"}
    assert BY_NAME["interval"].help.startswith("watch: ") and not BY_NAME["interval"].about.startswith("watch")
    assert BY_NAME["retries"].help == BY_NAME["retries"].about


def test_every_type_has_one_converter_and_every_setting_a_real_type() -> None:
    assert set(CONVERTERS) == set(SettingType)
    assert all(isinstance(s.type, SettingType) for s in SETTINGS)


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("retries", "5", 5),
        ("retries", 7, 7),
        ("allow_insecure_http", "yes", True),
        ("allow_insecure_http", " OFF ", False),
        ("allow_insecure_http", True, True),
        ("request_timeout", "2.5", 2.5),
        ("request_timeout", 3, 3.0),
        ("timeout", "1h30m", 5400.0),
        ("timeout", 90, 90.0),
        ("interval", "AUTO", "auto"),
        ("interval", "5s", 5.0),
        ("base_url", "HTTPS://api.example.com/v1/", "https://api.example.com/v1"),
        ("provider", "zendesk", "zendesk"),
        ("api_key", "sk_live_abc", "sk_live_abc"),
        ("login", "ops", "ops"),
    ],
)
def test_each_type_converts_env_and_toml_values(name: str, raw: object, value: object) -> None:
    assert convert(BY_NAME[name], raw) == value


@pytest.mark.parametrize(
    ("name", "raw", "problem"),
    [
        ("retries", "-1", "should be a whole number, 0 or more"),
        ("retries", True, "should be a whole number"),
        ("allow_insecure_http", "maybe", "should be true or false"),
        ("request_timeout", "nan", "should be a positive number"),
        ("request_timeout", "0", "should be a positive number"),
        ("interval", "soon", "should be 'auto' or a number of seconds like 2 or 5s"),
        ("interval", [], "should be 'auto' or a number of seconds"),
        ("timeout", "forever", "is not a duration"),
        ("api_key", "", "is empty"),
        ("api_key", 5, "should be a string"),
        ("api_key", "has space", "has spaces"),
        ("login", "a:b", "has a ':'"),
        ("provider", "Bad!", "should be a provider's name"),
        ("base_url", "ftp://x", "should be an http:// or https:// URL"),
    ],
)
def test_each_type_refuses_what_it_cannot_convert(name: str, raw: object, problem: str) -> None:
    with pytest.raises(ValueError, match=None) as e:
        convert(BY_NAME[name], raw)
    assert problem in str(e.value)


def test_shown_values() -> None:
    assert [show_value(v) for v in (30.0, 2.5, True, 64, "auto")] == ["30", "2.5", "true", "64", "auto"]
    assert not math.isnan(BY_NAME["max_rps"].default)
