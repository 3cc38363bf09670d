"""Profiles: the file on disk, every `bulkop config` command, precedence, and secrets kept safe."""

from __future__ import annotations

import json
import os
import select
import stat
import string
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkop import config
from bulkop.config import ConfigFile
from bulkop.errors import ConfigError
from bulkop.simulator import Scenario, Simulator
from conftest import KNOCK_TOKEN, Result, minimal_env, run_cli, run_process
from helpers import spawn_on_pty

# typer 0.24 imports helpers click 8.5 deprecates; pyproject turns every warning into an error.
pytestmark = pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning")

SECRET = "sk_test_Zq8r3L0fN1xV9kTg2wPe"
PASSWORD = "correct-horse-battery-staple"
ENV_SECRET = "sk_live_from_the_environment_42"
# None of these may ever appear in anything bulkop prints.
SECRETS = (SECRET, PASSWORD, ENV_SECRET, KNOCK_TOKEN)
DEAD_URL = "http://127.0.0.1:9"  # the discard port: nothing listens, the connection is refused


def cli(*args: str, stdin: str = "", env: dict[str, str] | None = None, **ctx: object) -> Result:
    """Run bulkop in-process and check that no secret reached stdout or stderr."""
    result = run_cli(list(args), env=env, stdin=stdin, **ctx)
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr, f"secret printed by {args}"
    return result


@pytest.fixture
def path(isolated_env: Path) -> Path:
    return isolated_env


def read(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def add_prod(**env: str) -> None:
    assert cli("config", "add", "prod", "--provider", "knock", stdin=SECRET + "\n", env=env).code == 0


def add_mon(base_url: str = "https://mon.example.com/", login: str = "ops", password: str = PASSWORD) -> None:
    r = cli("config", "add", "mon", "--provider", "saymon", "--base-url", base_url, "--login", login, stdin=password)
    assert r.code == 0, r.stderr


# --------------------------------------------------------------------------- where the file is


def test_path_is_bulkop_config_or_the_user_config_dir(path: Path) -> None:
    from platformdirs import user_config_dir

    assert config.config_path({}) == Path(user_config_dir("bulkop")) / "config.toml"
    assert config.config_path({"BULKOP_CONFIG": "/x/y.toml"}) == Path("/x/y.toml")
    r = cli("config", "path")
    assert (r.code, r.stdout) == (0, f"{path}\n")


def test_a_missing_file_is_an_empty_config(path: Path) -> None:
    assert config.load(path) == ConfigFile(path, None, {})
    r = cli("config", "list")
    assert r.code == 0 and r.stdout == "" and "bulkop config add" in r.stderr
    assert not path.parent.exists()


# --------------------------------------------------------------------------- add


def test_add_knock_reads_the_key_from_stdin_and_becomes_the_default(path: Path) -> None:
    r = cli("config", "add", "prod", "--provider", "knock", stdin=SECRET + "\n")
    assert r.code == 0, r.stderr
    assert r.stdout == ""
    assert "it is the default" in r.stderr
    assert read(path) == {
        "default_profile": "prod",
        "profiles": {"prod": {"provider": "knock", "api_key": SECRET}},
    }
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_add_saymon_needs_a_base_url_and_takes_login_and_password(path: Path) -> None:
    r = cli("config", "add", "mon", "--provider", "saymon", stdin=PASSWORD)
    assert r.code == 2 and "--base-url is required for saymon" in r.stderr
    r = cli("config", "add", "mon", "--provider", "saymon", "--base-url", "https://mon.example.com", stdin=PASSWORD)
    assert r.code == 2 and "--login is required when stdin is not a terminal" in r.stderr
    assert not path.exists()
    add_mon()
    assert read(path)["profiles"]["mon"] == {
        "provider": "saymon",
        "base_url": "https://mon.example.com",
        "login": "ops",
        "password": PASSWORD,
    }


def test_add_with_an_env_indirection_stores_no_secret(path: Path) -> None:
    r = cli("config", "add", "prod", "--provider", "knock", "--api-key-env", "KNOCK_API_KEY_PROD")
    assert r.code == 0, r.stderr
    assert read(path)["profiles"]["prod"] == {"provider": "knock", "api_key_env": "KNOCK_API_KEY_PROD"}
    show = cli("config", "show", "-o", "json", env={"KNOCK_API_KEY_PROD": ENV_SECRET})
    api_key = json.loads(show.stdout)["settings"]["api_key"]
    assert api_key == {"value": "…t_42", "source": "profile", "detail": "prod via $KNOCK_API_KEY_PROD"}
    # Without the variable, the profile is unusable, and says exactly why.
    r = cli("config", "show")
    assert r.code == 7 and "KNOCK_API_KEY_PROD, which is not set" in r.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (["--provider", "knock"], "", 2, "no api_key given (stdin was empty)"),
        (["--provider", "knock"], "\n", 2, "no api_key given"),
        (["--provider", "nope"], SECRET, 2, "unknown provider 'nope'"),
        (["--provider", "knock", "--base-url", "ftp://x"], SECRET, 2, "should be an http:// or https://"),
        (["--provider", "knock", "--password-env", "PW"], SECRET, 2, "--password-env does not apply"),
        (["--provider", "knock", "--login", "ops"], SECRET, 2, "--login does not apply"),
        (["--provider", "knock", "--api-key-env", "1BAD"], "", 7, "should name an environment variable"),
    ],
)
def test_add_refuses_bad_input_and_writes_nothing(
    path: Path, args: list[str], stdin: str, code: int, message: str
) -> None:
    r = cli("config", "add", "prod", *args, stdin=stdin)
    assert r.code == code
    assert message in r.stderr
    assert len(r.stderr.splitlines()) == 1
    assert not path.exists()


@pytest.mark.parametrize("name", ["prod:eu", "", "-x", "a b", "é", "x" * 65, "a/b"])
def test_profile_names_are_a_safe_charset_without_colons(path: Path, name: str) -> None:
    r = cli("config", "add", name, "--provider", "knock", stdin=SECRET)
    assert r.code == 2, r.stderr
    assert not path.exists()


def test_add_an_existing_profile_is_refused_before_asking_for_the_secret(path: Path) -> None:
    add_prod()
    before = path.read_bytes()
    r = cli("config", "add", "prod", "--provider", "knock", stdin="other-secret-value\n")
    assert r.code == 7 and "profile 'prod' already exists" in r.stderr
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- the round trip


def test_round_trip_of_every_command(path: Path) -> None:
    def ok(*args: str, stdin: str = "") -> Result:
        r = cli("config", *args, stdin=stdin)
        assert r.code == 0, r.stderr
        if path.exists():
            assert mode(path) == 0o600, f"mode after config {args}"
        return r

    ok("add", "prod", "--provider", "knock", stdin=SECRET)
    ok(
        "add",
        "staging",
        "--provider",
        "knock",
        "--base-url",
        "https://staging.example.com/v1/",
        stdin="sk_staging_first_value\n",
    )
    add_mon()
    listed = json.loads(ok("list", "-o", "json").stdout)
    assert listed == [
        {"name": "mon", "provider": "saymon", "base_url": "https://mon.example.com", "default": False},
        {"name": "prod", "provider": "knock", "base_url": "https://api.knock.app", "default": True},
        {"name": "staging", "provider": "knock", "base_url": "https://staging.example.com/v1", "default": False},
    ]
    ok("use", "staging")
    ok("set", "staging", "retries", "5")
    ok("set", "staging", "request_timeout", "2.5")
    ok("set", "staging", "timeout", "10m")
    ok("set", "staging", "interval", "auto")
    ok("set", "staging", "allow_insecure_http", "yes")
    ok("set", "staging", "api_key", stdin="sk_staging_secret_value\n")
    assert read(path)["profiles"]["staging"] == {
        "provider": "knock",
        "base_url": "https://staging.example.com/v1",
        "api_key": "sk_staging_secret_value",
        "request_timeout": 2.5,
        "retries": 5,
        "allow_insecure_http": True,
        "interval": "auto",
        "timeout": "10m",
    }
    shown = json.loads(ok("show", "-o", "json").stdout)
    assert shown["profile"] == "staging"
    assert shown["profile_source"] == "default_profile"
    assert shown["settings"]["timeout"] == {"value": 600.0, "source": "profile", "detail": "staging"}
    assert shown["settings"]["api_key"]["value"] == "…alue"
    ok("unset", "staging", "retries")
    assert "retries" not in read(path)["profiles"]["staging"]
    r = ok("unset", "staging", "retries")
    assert "nothing to change" in r.stderr
    ok("remove", "staging")
    assert read(path) == {
        "profiles": {
            "prod": {"provider": "knock", "api_key": SECRET},
            "mon": {"provider": "saymon", "base_url": "https://mon.example.com", "login": "ops", "password": PASSWORD},
        }
    }
    assert ok("path").stdout == f"{path}\n"
    assert config.load(path) == ConfigFile(path, None, read(path)["profiles"])


def test_set_a_secret_replaces_its_env_indirection_and_back(path: Path) -> None:
    add_prod()
    r = cli("config", "set", "prod", "api_key_env", "KNOCK_API_KEY_PROD")
    assert r.code == 0 and "removed api_key" in r.stderr
    assert read(path)["profiles"]["prod"] == {"provider": "knock", "api_key_env": "KNOCK_API_KEY_PROD"}
    r = cli("config", "set", "prod", "api_key", stdin=SECRET)
    assert r.code == 0 and "removed api_key_env" in r.stderr
    assert read(path)["profiles"]["prod"] == {"provider": "knock", "api_key": SECRET}


def test_a_secret_is_never_taken_as_an_argument(path: Path) -> None:
    add_prod()
    before = path.read_bytes()
    for key in ("api_key", "password"):
        r = cli("config", "set", "prod", key, "sk_from_the_command_line_123")
        assert r.code == 2
        assert "never taken as an argument" in r.stderr
        assert f"| bulkop config set prod {key}" in r.stderr
        assert "sk_from_the_command_line_123" not in r.stdout + r.stderr
    assert path.read_bytes() == before


def test_remove_the_default_profile_clears_the_default(path: Path) -> None:
    add_prod()
    r = cli("config", "remove", "prod")
    assert r.code == 0 and "no default profile now" in r.stderr
    assert read(path) == {}
    assert cli("config", "show", "-o", "json").code == 0


def test_use_and_remove_check_the_profile_exists(path: Path) -> None:
    add_prod()
    before = path.read_bytes()
    for command in (
        ["use", "nope"],
        ["remove", "nope"],
        ["set", "nope", "retries", "1"],
        ["unset", "nope", "retries"],
        ["show", "nope"],
    ):
        r = cli("config", *command)
        assert r.code == 7, command
        assert r.stderr.splitlines() == [
            f"bulkop: error: profile 'nope' not found in {path} (profiles: prod); list them with "
            "`bulkop config list`, add one with `bulkop config add NAME`"
        ]
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["retries", "many"], 2, "retries should be a whole number"),
        (["retries", "--", "-1"], 2, "retries should be a whole number, 0 or more"),
        (["request_timeout", "0"], 2, "request_timeout should be a positive number"),
        (["timeout", "soon"], 2, "is not a duration like 30s"),
        (["allow_insecure_http", "maybe"], 2, "should be true or false"),
        (["base_url", "api.knock.app"], 2, "should be an http:// or https:// URL"),
        (["provider", "kafka"], 2, "provider should be one of knock, saymon"),
        (["provider", "saymon"], 2, "holds api_key, which provider saymon does not take"),
        (["colour", "red"], 2, "unknown key 'colour'"),
        (["password"], 2, "password does not apply to provider knock"),
        (["login", "ops"], 2, "login does not apply to provider knock"),
        (["api_key_env", "not a name"], 2, "should name an environment variable"),
        (["retries"], 2, "missing VALUE for retries"),
    ],
)
def test_set_validates_with_the_settings_table_and_changes_nothing(
    path: Path, args: list[str], code: int, message: str
) -> None:
    add_prod()
    before = path.read_bytes()
    r = cli("config", "set", "prod", *args, stdin=PASSWORD)
    assert r.code == code, r.stderr
    assert message in r.stderr
    assert len(r.stderr.splitlines()) == 1
    assert path.read_bytes() == before


def test_unset_refuses_the_provider_and_unknown_keys(path: Path) -> None:
    add_prod()
    before = path.read_bytes()
    assert cli("config", "unset", "prod", "provider").code == 2
    r = cli("config", "unset", "prod", "colour")
    assert r.code == 2 and "unknown key 'colour'" in r.stderr
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- bad files


def test_invalid_toml_is_one_line_naming_the_file_and_line(path: Path) -> None:
    path.parent.mkdir()
    path.write_text('default_profile = "prod"\n[profiles.prod]\nprovider = knock\n')
    before = path.read_bytes()
    for command in (
        ["config", "list"],
        ["config", "show"],
        ["config", "use", "prod"],
        ["config", "set", "prod", "retries", "1"],
        ["get", "x"],
        ["status", "x"],
    ):
        r = cli(*command)
        assert r.code == 7, command
        lines = r.stderr.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"bulkop: error: {path}: invalid TOML: ")
        assert "line 3" in lines[0]
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[profiles.prod]\nprovider = "kafka"\n', "profiles.prod: provider should be one of knock, saymon"),
        ('[profiles.prod]\nprovider = "knock"\ncolour = "red"\n', "profiles.prod: unknown key 'colour'"),
        ('[profiles.prod]\nretries = "three"\n', "profiles.prod: retries should be a whole number"),
        ("[profiles.prod]\nrequest_timeout = true\n", "request_timeout should be a number"),
        ('[profiles.prod]\nprovider = "knock"\npassword = "x"\n', "password does not apply to provider knock"),
        ('[profiles.prod]\napi_key = "a"\napi_key_env = "B"\n', "both api_key and api_key_env are set"),
        ('[profiles."a:b"]\nprovider = "knock"\n', "profile name 'a:b' should be"),
        ("profiles = 3\n", "profiles should be tables like [profiles.prod]"),
        ("[profiles]\nprod = 1\n", "profiles.prod should be a table"),
        ("default_profile = 1\n", "default_profile should be a profile's name"),
        ('color = "auto"\n', "unknown key 'color'"),
    ],
)
def test_invalid_content_names_the_file_the_key_and_the_fix(path: Path, text: str, message: str) -> None:
    path.parent.mkdir()
    path.write_text(text)
    r = cli("config", "list")
    assert r.code == 7
    assert len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith(f"bulkop: error: {path}: ")
    assert message in r.stderr
    assert "; " in r.stderr  # the hint: how to fix it
    assert path.read_text() == text


def test_not_utf8_and_unreadable_files_are_config_errors(path: Path) -> None:
    path.parent.mkdir()
    path.write_bytes(b'default_profile = "\xff"\n')
    r = cli("config", "list")
    assert r.code == 7 and "not UTF-8" in r.stderr
    path.unlink()
    path.mkdir()
    r = cli("config", "list")
    assert r.code == 7 and f"refusing to read {path}: it is a directory" in r.stderr
    path.rmdir()
    path.write_text("")
    path.chmod(0)
    r = cli("config", "list")
    if os.geteuid() != 0:  # root reads it anyway
        assert r.code == 7 and f"cannot read {path}" in r.stderr


def test_a_missing_profile_selected_by_flag_or_env_is_exit_7(path: Path) -> None:
    add_prod()
    assert cli("-p", "nope", "config", "show").code == 7
    r = cli("config", "show", env={"BULKOP_PROFILE": "nope"})
    assert r.code == 7 and "profile 'nope' not found" in r.stderr


# --------------------------------------------------------------------------- permissions


def test_loose_permissions_on_a_file_with_a_secret_warn_with_the_fix(path: Path) -> None:
    add_prod()
    path.chmod(0o644)
    r = cli("config", "list")
    assert r.code == 0
    assert r.stderr == (
        f"bulkop: warning: {path} holds a secret and other users may read it (mode 0644); fix: chmod 600 {path}\n"
    )
    # JSON output stays data only: the warning goes to stderr.
    json.loads(cli("config", "list", "-o", "json").stdout)
    # Any write puts the file back to 0600.
    assert cli("config", "set", "prod", "retries", "1").code == 0
    assert mode(path) == 0o600
    assert cli("config", "list").stderr == ""


def test_loose_permissions_without_a_secret_do_not_warn(path: Path) -> None:
    cli("config", "add", "prod", "--provider", "knock", "--api-key-env", "KNOCK_API_KEY_PROD")
    path.chmod(0o644)
    assert cli("config", "list").stderr == ""


def test_a_symlinked_config_stays_a_link(path: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "bulkop.toml"
    real.parent.mkdir()
    path.parent.mkdir()
    path.symlink_to(real)
    add_prod()
    assert path.is_symlink()
    assert read(real)["profiles"]["prod"]["api_key"] == SECRET
    assert mode(real) == 0o600


# --------------------------------------------------------------------------- failed writes


@pytest.mark.parametrize("broken", ["replace", "fsync", "write"])
def test_a_write_failing_half_way_leaves_the_old_file_intact(
    path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    add_prod()
    before = path.read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    if broken == "write":
        monkeypatch.setattr(
            config.tempfile, "mkstemp", lambda **kw: (_ for _ in ()).throw(PermissionError(13, "Permission denied"))
        )
    else:
        monkeypatch.setattr(config.os, broken, fail)
    r = cli("config", "set", "prod", "retries", "9")
    assert r.code == 7
    assert r.stderr.startswith(f"bulkop: error: could not write {path}: ")
    assert "the file is unchanged" in r.stderr
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.toml", "config.toml.lock"]


def test_save_creates_a_private_directory_and_file(tmp_path: Path) -> None:
    target = tmp_path / "new" / "deeper" / "config.toml"
    config.save(ConfigFile(target, "p", {"p": {"provider": "knock", "api_key": SECRET}}))
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700
    assert config.load(target).profiles == {"p": {"provider": "knock", "api_key": SECRET}}


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)
# What a valid login or password is (settings' rules): printable, and no ':' in a login.
_printable = _text.filter(str.isprintable)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    names=st.lists(
        st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=12).filter(
            lambda s: s[0] not in "-."
        ),
        min_size=1,
        max_size=4,
        unique=True,
    ),
    login=_printable.filter(lambda s: ":" not in s),
    password=_printable,
    retries=st.integers(0, 10**6),
)
def test_every_valid_profile_survives_a_save_and_load(
    tmp_path: Path, names: list[str], login: str, password: str, retries: int
) -> None:
    target = tmp_path / "prop" / "config.toml"
    profiles = {
        n: {
            "provider": "saymon",
            "base_url": "https://mon.example.com",
            "login": login,
            "password": password,
            "retries": retries,
        }
        for n in names
    }
    config.save(ConfigFile(target, names[0], profiles))
    assert config.load(target) == ConfigFile(target, names[0], profiles)


# --------------------------------------------------------------------------- output


def _add_three(path: Path) -> None:
    add_prod()
    cli(
        "config",
        "add",
        "staging",
        "--provider",
        "knock",
        "--base-url",
        "https://staging.example.com",
        "--api-key-env",
        "KNOCK_API_KEY_STAGING",
    )
    add_mon()


def test_list_snapshot(path: Path, screen) -> None:
    _add_three(path)
    r = cli("config", "list")
    assert r.code == 0 and r.stderr == ""
    assert r.stdout == screen


def test_show_snapshot(path: Path, screen) -> None:
    _add_three(path)
    cli("config", "set", "prod", "retries", "5")
    cli("config", "set", "prod", "timeout", "10m")
    r = cli("config", "show", "--base-url", "http://127.0.0.1:8080", env={"BULKOP_REQUEST_TIMEOUT": "12"})
    assert r.code == 0 and r.stderr == ""
    assert r.stdout.replace(str(path), "<CONFIG>") == screen
    assert max(len(line) for line in r.stdout.replace(str(path), "<CONFIG>").splitlines()) <= 80


def test_show_saymon_snapshot(path: Path, screen) -> None:
    _add_three(path)
    r = cli("config", "show", "mon")
    assert r.code == 0
    assert r.stdout.replace(str(path), "<CONFIG>") == screen


def test_rich_tables_at_width_80_snapshot(path: Path, screen) -> None:
    _add_three(path)
    profiles = cli("config", "list", "-o", "table")
    shown = cli("config", "show", "-o", "table", env={"KNOCK_API_KEY": ENV_SECRET})
    assert profiles.code == shown.code == 0
    assert "\x1b" not in profiles.stdout + shown.stdout
    screens = (profiles.stdout + "\n" + shown.stdout).replace(str(path), "<CONFIG>")
    assert max(len(line) for line in screens.splitlines()) <= 80
    assert "\n".join(line.rstrip() for line in screens.splitlines()) + "\n" == screen


def test_show_json_is_data_only_with_secrets_masked(path: Path) -> None:
    add_prod()
    r = cli("config", "show", "-o", "json")
    data = json.loads(r.stdout)
    assert data["config_file"] == str(path)
    assert data["settings"]["api_key"] == {"value": "…2wPe", "source": "profile", "detail": "prod"}
    assert set(data["settings"]) == {
        "provider",
        "base_url",
        "api_key",
        "request_timeout",
        "retries",
        "max_body_size",
        "allow_insecure_http",
        "interval",
        "timeout",
        "max_rps",
        "max_errors",
        "max_consecutive_failures",
    }
    r = cli("config", "show", "nope", "-o", "json")
    assert r.code == 7
    assert json.loads(r.stderr)["error"]["type"] == "config"


def test_user_text_is_not_interpreted_as_markup_or_escapes(path: Path) -> None:
    path.parent.mkdir()
    path.write_text('[profiles.p]\nprovider = "saymon"\nlogin = "[bold]x[/bold]"\n')
    for output in ("text", "table"):
        r = cli("config", "show", "p", "-o", output)
        assert r.code == 0
        assert "[bold]x[/bold]" in r.stdout
    # A control character is refused (a login must be printable), and never written raw.
    path.write_text('[profiles.p]\nprovider = "saymon"\nlogin = "[bold]x[/bold]\\u001b[2J"\n')
    r = cli("config", "show", "p")
    assert r.code == 7 and "login has a ':' or control characters" in r.stderr
    assert "\x1b" not in r.stdout + r.stderr


# --------------------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    ("level", "retries", "source"),
    [("default", 3, "default"), ("profile", 5, "profile"), ("env", 7, "env"), ("flag", 9, "flag")],
)
def test_show_says_where_each_value_came_from(path: Path, level: str, retries: int, source: str) -> None:
    add_prod()
    levels = ["default", "profile", "env", "flag"]
    given = levels[: levels.index(level) + 1]
    if "profile" in given:
        cli("config", "set", "prod", "retries", "5")
    env = {"BULKOP_RETRIES": "7"} if "env" in given else {}
    flags = ["--retries", "9"] if "flag" in given else []
    r = cli("config", "show", "-o", "json", *flags, env=env)
    assert json.loads(r.stdout)["settings"]["retries"]["value"] == retries
    assert json.loads(r.stdout)["settings"]["retries"]["source"] == source


def test_show_reports_how_the_profile_was_chosen(path: Path) -> None:
    add_prod()
    cli("config", "add", "other", "--provider", "knock", "--api-key-env", "OTHER_KEY")

    def chosen(*args: str, env: dict[str, str] | None = None) -> tuple[str, str]:
        data = json.loads(cli(*args, "-o", "json", env={"OTHER_KEY": SECRET, **(env or {})}).stdout)
        return data["profile"], data["profile_source"]

    assert chosen("config", "show") == ("prod", "default_profile")
    assert chosen("config", "show", env={"BULKOP_PROFILE": "other"}) == ("other", "env")
    assert chosen("config", "show", "-p", "other") == ("other", "flag")
    assert chosen("-p", "other", "config", "show") == ("other", "flag")
    assert chosen("config", "show", "other", env={"BULKOP_PROFILE": "prod"}) == ("other", "argument")


@pytest.mark.parametrize(("level", "attempts"), [("default", 4), ("profile", 1), ("env", 2), ("flag", 3)])
def test_get_sends_what_the_resolution_says(path: Path, sim: Simulator, level: str, attempts: int) -> None:
    """The same settings from default, profile, env and flag; the simulator sees the winner.

    base_url: every level below the winner points at a dead port, so only the winner's URL can
    reach the simulator. retries (default 3, profile 0, env 1, flag 2) against an operation that
    always answers 503: the number of requests received is retries + 1.
    """
    op_id = sim.add(Scenario(total_rows=10, rows_per_second=100, server_errors=100))
    levels = ["default", "profile", "env", "flag"]
    given = levels[: levels.index(level) + 1]
    winner_url = sim.base_url if level != "default" else None
    cli("config", "add", "prod", "--provider", "knock", stdin=KNOCK_TOKEN)
    env: dict[str, str] = {}
    flags: list[str] = []
    if "profile" in given:
        url = sim.base_url if level == "profile" else DEAD_URL
        cli("config", "set", "prod", "base_url", url)
        cli("config", "set", "prod", "retries", "0")
    if "env" in given:
        env = {"BULKOP_BASE_URL": sim.base_url if level == "env" else DEAD_URL, "BULKOP_RETRIES": "1"}
    if "flag" in given:
        flags = ["--base-url", sim.base_url, "--retries", "2"]
    if winner_url is None:
        # Nothing names the simulator: the default (https://api.knock.app) must not be contacted
        # from a test, so point only KNOCK_BASE_URL there and prove the default retry count.
        env = {"KNOCK_BASE_URL": sim.base_url}
    r = cli("get", op_id, "-o", "json", *flags, env=env, sleep=lambda s: None)
    assert r.code == 6, r.stderr
    received = sim.requests_for(op_id)
    assert len(received) == attempts
    assert {q.headers["authorization"] for q in received} == {f"Bearer {KNOCK_TOKEN}"}
    shown = json.loads(cli("config", "show", "-o", "json", *flags, env=env).stdout)["settings"]
    assert shown["retries"]["source"] == level
    assert shown["base_url"]["value"] == sim.base_url
    assert shown["base_url"]["source"] == ("env" if level == "default" else level)


def test_get_uses_the_env_token_over_the_profiles(path: Path, sim: Simulator) -> None:
    op_id = sim.add(Scenario(total_rows=10, rows_per_second=100))
    cli("config", "add", "prod", "--provider", "knock", "--base-url", sim.base_url, stdin=SECRET)
    r = cli("get", op_id, "-o", "json")
    assert r.code == 4
    assert sim.requests_for(op_id)[-1].headers["authorization"] == f"Bearer {SECRET}"
    r = cli("get", op_id, "-o", "json", env={"KNOCK_API_KEY": KNOCK_TOKEN})
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["id"] == op_id
    assert sim.requests_for(op_id)[-1].headers["authorization"] == f"Bearer {KNOCK_TOKEN}"


def test_get_reads_a_profiles_secret_through_its_env_indirection(path: Path, sim: Simulator) -> None:
    op_id = sim.add(Scenario(total_rows=10, rows_per_second=100))
    cli(
        "config",
        "add",
        "prod",
        "--provider",
        "knock",
        "--base-url",
        sim.base_url,
        "--api-key-env",
        "KNOCK_API_KEY_PROD",
    )
    assert "KNOCK" not in path.read_text().replace("KNOCK_API_KEY_PROD", "")
    r = cli("-p", "prod", "get", op_id, "-o", "json", env={"KNOCK_API_KEY_PROD": KNOCK_TOKEN})
    assert r.code == 0, r.stderr
    assert sim.requests_for(op_id)[-1].headers["authorization"] == f"Bearer {KNOCK_TOKEN}"
    r = cli("-p", "prod", "get", op_id, "-o", "json")
    assert r.code == 7 and "KNOCK_API_KEY_PROD" in r.stderr


def test_get_with_a_saymon_profile(path: Path, sim: Simulator) -> None:
    from conftest import SAYMON_LOGIN, SAYMON_PASSWORD

    op_id = sim.add(Scenario(provider="saymon", total_rows=10, rows_per_second=100))
    add_mon(sim.base_url, SAYMON_LOGIN, SAYMON_PASSWORD + "\n")
    r = cli("get", op_id, "-o", "json")
    assert r.code == 0, r.stderr
    assert SAYMON_PASSWORD not in r.stdout + r.stderr
    assert sim.requests_for(op_id)[-1].headers["authorization"].startswith("Basic ")


# --------------------------------------------------------------------------- real processes


def _clean_env(path: Path) -> dict[str, str]:
    return minimal_env(BULKOP_CONFIG=str(path))


@pytest.mark.slow
def test_the_secret_is_piped_in_through_a_real_process(path: Path) -> None:
    p = run_process(["config", "add", "prod", "--provider", "knock"], env=_clean_env(path), stdin=SECRET)
    assert p.returncode == 0, p.stderr
    assert SECRET not in p.stdout + p.stderr
    assert read(path)["profiles"]["prod"]["api_key"] == SECRET
    p = run_process(["config", "set", "prod", "api_key"], env=_clean_env(path))
    assert p.returncode == 2 and "stdin was empty" in p.stderr
    assert read(path)["profiles"]["prod"]["api_key"] == SECRET


def test_update_holds_a_lock_and_writes_nothing_when_the_change_fails(path: Path) -> None:
    add_prod()
    before = path.read_bytes()

    def change(cf: ConfigFile) -> None:
        cf.profiles.clear()
        raise ConfigError("nope")

    with pytest.raises(ConfigError):
        config.update(path, change)
    assert path.read_bytes() == before


def _run_in_terminal(args: list[str], env: dict[str, str], answers: list[str]) -> tuple[int, str]:
    """Run bulkop on a pseudo-terminal that is its controlling terminal; answer each prompt."""
    proc, master = spawn_on_pty(args, env, controlling=True)  # getpass reads /dev/tty
    seen = b""
    pending = list(answers)
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 20)
            if not ready:
                raise AssertionError(f"no output for 20 s; so far: {seen!r}")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            seen += data
            if pending and seen.rstrip().endswith(b":"):
                os.write(master, pending.pop(0).encode() + b"\n")
    finally:
        os.close(master)
    return proc.wait(timeout=20), seen.decode("utf-8", "replace")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "answers", "stored"),
    [
        (["--provider", "knock"], [SECRET], {"provider": "knock", "api_key": SECRET}),
        (
            ["--provider", "saymon", "--base-url", "https://mon.example.com"],
            ["ops", PASSWORD],
            {"provider": "saymon", "base_url": "https://mon.example.com", "login": "ops", "password": PASSWORD},
        ),
    ],
)
def test_in_a_terminal_the_secret_is_asked_for_without_echo(
    path: Path, args: list[str], answers: list[str], stored: dict
) -> None:
    code, screen = _run_in_terminal(["config", "add", "prod", *args], _clean_env(path), answers)
    assert code == 0, screen
    assert "for profile prod (input hidden):" in screen
    assert answers[-1] not in screen
    assert read(path)["profiles"]["prod"] == stored


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "answers"),
    [
        (["--provider", "knock"], ["\x03"]),  # Ctrl-C at the hidden prompt
        (["--provider", "saymon", "--base-url", "https://mon.example.com"], ["\x03"]),  # at the login prompt
        (["--provider", "saymon", "--base-url", "https://mon.example.com"], ["ops", "\x03"]),  # at the password
    ],
)
def test_ctrl_c_at_a_prompt_ends_the_prompts_line_and_exits_130(
    path: Path, args: list[str], answers: list[str]
) -> None:
    code, screen = _run_in_terminal(["config", "add", "prod", *args], _clean_env(path), answers)
    assert code == 130, screen
    lines = screen.replace("\r\n", "\n").splitlines()
    assert "bulkop: interrupted" in lines, screen  # on a line of its own, not after the prompt
    assert not path.exists()


# --------------------------------------------------------------------------- only regular files


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return fifo


def _device(tmp_path: Path) -> Path:
    """A character device: a private copy of /dev/null's node where we may create one (root),
    so that a regression replaces that copy, never the machine's /dev/null; else /dev/null
    itself (which a regression could not replace without root anyway)."""
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.stat(os.devnull).st_rdev)
        return node
    except OSError:
        return Path(os.devnull)


def _not_regular(kind: str, tmp_path: Path) -> Path:
    """A path where the config would be, holding something that is not a regular file."""
    if kind == "dev-null":
        return _device(tmp_path)
    if kind == "fifo":
        return _fifo(tmp_path)
    if kind == "directory":
        (tmp_path / "dir").mkdir()
        return tmp_path / "dir"
    target = {"link-to-dev-null": None, "link-to-fifo": None, "link-to-directory": tmp_path}[kind]
    if target is None:
        target = _fifo(tmp_path) if kind == "link-to-fifo" else _device(tmp_path)
    link = tmp_path / "link.toml"
    link.symlink_to(target)
    return link


NOT_REGULAR = ["dev-null", "fifo", "directory", "link-to-dev-null", "link-to-fifo", "link-to-directory"]


def _snapshot(path: Path) -> tuple:
    st = os.lstat(path)
    target = os.stat(path) if path.is_symlink() else None
    return (st.st_mode, st.st_ino, st.st_rdev, target and (target.st_mode, target.st_ino))


@pytest.mark.parametrize("kind", NOT_REGULAR)
@pytest.mark.parametrize(
    "command",
    [
        ["config", "add", "prod", "--provider", "knock"],
        ["config", "add", "prod", "--provider", "knock", "--api-key-env", "K"],
        ["config", "set", "prod", "retries", "5"],
        ["config", "use", "prod"],
    ],
)
def test_a_config_path_that_is_not_a_regular_file_is_refused_and_left_alone(
    tmp_path: Path, kind: str, command: list[str]
) -> None:
    target = _not_regular(kind, tmp_path)
    before = _snapshot(target)
    siblings = sorted(os.listdir(target.parent)) if target.parent != Path(os.devnull).parent else None
    r = cli(*command, stdin=SECRET, env={"BULKOP_CONFIG": str(target)}, sleep=lambda s: None)
    assert r.code == 7, r.stderr
    assert r.stderr.count("\n") == 1 and "not a regular file" in r.stderr, r.stderr
    assert _snapshot(target) == before
    if siblings is not None:  # no temporary file, no lock file left beside it
        assert sorted(os.listdir(target.parent)) == siblings
    assert not Path(os.devnull + ".lock").exists()


@pytest.mark.parametrize("kind", ["fifo", "link-to-fifo", "directory"])
@pytest.mark.parametrize(
    "command", [["config", "list"], ["config", "show"], ["get", "e3e70682-c209-4cac-a29f-6fbed82c07cd"]]
)
def test_reading_a_fifo_or_directory_as_the_config_is_exit_7_and_never_hangs(
    tmp_path: Path, kind: str, command: list[str]
) -> None:
    """A real process: a read blocked on a FIFO with no writer would hang until the timeout."""
    target = _not_regular(kind, tmp_path)
    p = run_process(command, env={"BULKOP_CONFIG": str(target)}, timeout=20)
    assert p.returncode == 7, p.stderr
    assert "not a regular file" in p.stderr and "Traceback" not in p.stderr


def test_dev_null_reads_as_no_profiles(tmp_path: Path) -> None:
    r = cli("config", "list", "-o", "json", env={"BULKOP_CONFIG": os.devnull})
    assert (r.code, json.loads(r.stdout)) == (0, [])


def test_a_symlink_to_a_regular_file_is_followed_and_its_target_replaced_atomically(tmp_path: Path) -> None:
    """Decision: follow (a dotfiles repository links config.toml); the link stays a link."""
    real = tmp_path / "dotfiles" / "bulkop.toml"
    real.parent.mkdir()
    real.write_text("")
    link = tmp_path / "config.toml"
    link.symlink_to(real)
    assert cli("config", "add", "prod", "--provider", "knock", stdin=SECRET, env={"BULKOP_CONFIG": str(link)}).code == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert read(real)["profiles"]["prod"]["api_key"] == SECRET
    assert mode(real) == 0o600
    assert sorted(os.listdir(real.parent)) == ["bulkop.toml"]  # no temporary file left


def test_every_write_ends_with_exactly_one_newline(path: Path) -> None:
    def check() -> None:
        text = path.read_text()
        assert text.endswith("\n") and not text.endswith("\n\n"), repr(text[-40:])

    add_prod()
    check()
    cli("config", "add", "bare", "--provider", "knock", "--api-key-env", "K")
    check()
    cli("config", "set", "bare", "retries", "2")
    check()
    cli("config", "remove", "prod")
    cli("config", "remove", "bare")
    check()
    # A profile whose table is empty still ends the file with a newline.
    cf = config.load(path)
    cf.profiles["empty"] = {}
    config.save(cf)
    check()
