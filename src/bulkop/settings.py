"""The one table of settings, and the one precedence: flag > env > profile > default.

A provider SDK's own variables (KNOCK_API_KEY, KNOCK_BASE_URL, SAYMON_LOGIN, SAYMON_PASSWORD)
are ambient: they apply to the default profile, but not to a profile chosen explicitly
(`--profile`, BULKOP_PROFILE, or a `PROFILE:ID` prefix), as the AWS CLI's `--profile` wins
over its ambient credentials. BULKOP_* variables and flags override every profile.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bulkop.errors import ConfigError, UsageError, did_you_mean

if TYPE_CHECKING:
    from pathlib import Path

    from bulkop.config import ConfigFile

# The providers whose SDK variables (KNOCK_*, SAYMON_*) bulkop reads; every other provider
# (built-in catalogue or config.toml's [providers.NAME]) takes its secrets from the profile.
PROVIDER_NAMES = ("knock", "saymon")
# Settings that carry a credential: they apply to a provider whose auth needs them.
CREDENTIALS = ("api_key", "login", "password")
MAX_SECONDS = 1e9  # ~31 years: beyond it, sockets and waits overflow
MiB = 1024 * 1024


class SettingType(StrEnum):
    """What a setting's value is; each has one converter (CONVERTERS) from env or TOML."""

    PROVIDER = "provider"
    URL = "url"
    STR = "str"
    SECRET = "secret"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DURATION = "duration"
    INTERVAL = "interval"


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: how it is typed, defaulted, named in the environment and documented."""

    name: str
    type: SettingType
    default: Any
    about: str  # what it is, for `config set --help`, `config show` and the man pages
    env: tuple[str, ...] = ()
    flag: str | None = None
    # The one command the setting concerns (None: every command that connects).
    command: str | None = None
    # The flag's own --help text; "(env: …; default: …)" is added from the fields above.
    flag_help: str = ""
    flag_metavar: str | None = None
    # How --help names a default of None ("none"); without it, no default is named.
    default_help: str | None = None
    providers: tuple[str, ...] = PROVIDER_NAMES
    # For secrets: a profile may name an environment variable to read it from instead.
    env_key: str | None = None
    # Provider-specific environment variables (e.g. KNOCK_BASE_URL only for knock).
    provider_env: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Which of those variables are a provider SDK's own (ambient credentials): not used for a
    # profile chosen explicitly.
    sdk_env: tuple[str, ...] = ()
    # What a string value must also satisfy to be usable (a header can carry it, ...): the one
    # check, applied when a value is written (`config set`/`add`) and when it is read.
    rule: str | None = None

    @property
    def secret(self) -> bool:
        return self.type is SettingType.SECRET

    @property
    def help(self) -> str:
        """The description, marked with its command when it concerns only one ("watch: …")."""
        return f"{self.command}: {self.about}" if self.command else self.about

    @property
    def all_env(self) -> tuple[str, ...]:
        """Every variable read for it, for any provider."""
        return self.env + tuple(v for names in self.provider_env.values() for v in names)

    @property
    def option_help(self) -> str:
        """The flag's --help: its text, the variables that set it and the default."""
        default = self.default_help
        if default is None and self.default is not None and not isinstance(self.default, bool):
            default = show_value(self.default)
        where = f"env: {', '.join(self.all_env)}" + (f"; default: {default}" if default is not None else "")
        return f"{self.flag_help} ({where})."

    def applies(self, provider: str, secrets_needed: tuple[str, ...] | None = None) -> bool:
        """Whether this setting means anything for `provider`; a credential only when its auth
        needs it (`secrets_needed`, from the definition; None: only the SDK providers')."""
        if self.name not in CREDENTIALS:
            return True
        if provider in PROVIDER_NAMES or secrets_needed is None:
            return provider in self.providers
        return self.name in secrets_needed

    def env_for(self, provider: str, *, explicit_profile: bool = False) -> tuple[str, ...]:
        """The variables read for this setting, in order; without the SDK's own ones when a
        profile was chosen explicitly."""
        names = self.env + self.provider_env.get(provider, ())
        return tuple(v for v in names if v not in self.sdk_env) if explicit_profile else names


def show_value(value: Any) -> str:
    """A default as help and man pages print it: 30.0 as 30, True as true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "provider",
        SettingType.PROVIDER,
        "knock",
        "Which API the operations live on: a built-in provider (`bulkop providers`) or one defined "
        "in config.toml as [providers.NAME].",
        env=("BULKOP_PROVIDER",),
        flag="--provider",
        flag_help="API: a built-in provider (knock, saymon, zendesk, auth0, mailchimp, elasticsearch) or one "
        "defined in config.toml as [providers.NAME]",
        flag_metavar="NAME",
    ),
    Setting(
        "base_url",
        SettingType.URL,
        None,
        "API base URL (Knock default https://api.knock.app; SAYMON: your server, required). "
        "KNOCK_BASE_URL is not used for a profile chosen with -p or BULKOP_PROFILE.",
        env=("BULKOP_BASE_URL",),
        flag="--base-url",
        flag_help="API base URL",
        flag_metavar="URL",
        provider_env={"knock": ("KNOCK_BASE_URL",)},
        sdk_env=("KNOCK_BASE_URL",),
    ),
    Setting(
        "api_key",
        SettingType.SECRET,
        None,
        "API key, sent only in a header: Knock's, or that of a provider with bearer or header auth (set in its "
        "profile; KNOCK_API_KEY holds Knock's only). KNOCK_API_KEY is not used for a profile chosen with -p or "
        "BULKOP_PROFILE.",
        env=("KNOCK_API_KEY",),
        providers=("knock",),
        env_key="api_key_env",
        sdk_env=("KNOCK_API_KEY",),
        rule="token",
    ),
    Setting(
        "login",
        SettingType.STR,
        None,
        "Login for HTTP Basic auth: SAYMON's, or that of a provider with basic auth (set in its profile; "
        "SAYMON_LOGIN holds SAYMON's only). SAYMON_LOGIN is not used for a profile chosen with -p or BULKOP_PROFILE.",
        env=("SAYMON_LOGIN",),
        providers=("saymon",),
        sdk_env=("SAYMON_LOGIN",),
        rule="basic_login",
    ),
    Setting(
        "password",
        SettingType.SECRET,
        None,
        "Password for HTTP Basic auth: SAYMON's, or that of a provider with basic auth (set in its profile; "
        "SAYMON_PASSWORD holds SAYMON's only). SAYMON_PASSWORD is not used for a profile chosen with -p or "
        "BULKOP_PROFILE.",
        env=("SAYMON_PASSWORD",),
        providers=("saymon",),
        env_key="password_env",
        sdk_env=("SAYMON_PASSWORD",),
        rule="printable",
    ),
    Setting(
        "request_timeout",
        SettingType.FLOAT,
        30.0,
        "Seconds a request may take in all: connect, headers and body (connect: at most 5 s).",
        env=("BULKOP_REQUEST_TIMEOUT",),
        flag="--request-timeout",
        flag_help="Seconds to wait for each response",
        flag_metavar="SECONDS",
    ),
    Setting(
        "retries",
        SettingType.INT,
        3,
        "Retries of a request on connection errors, timeouts, 429, 502, 503, 504.",
        env=("BULKOP_RETRIES",),
        flag="--retries",
        flag_help="Retries on connection errors, timeouts, 429 and 502/503/504",
        flag_metavar="N",
    ),
    Setting(
        "max_body_size",
        SettingType.INT,
        64 * MiB,
        "Largest response body accepted, in bytes.",
        env=("BULKOP_MAX_BODY_SIZE",),
    ),
    Setting(
        "allow_insecure_http",
        SettingType.BOOL,
        False,
        "Allow sending credentials over plain http:// to a host that is not loopback.",
        env=("BULKOP_ALLOW_INSECURE_HTTP",),
        flag="--allow-insecure-http",
        flag_help="Send credentials over plain http:// to a non-loopback host",
    ),
    Setting(
        "interval",
        SettingType.INTERVAL,
        "auto",
        "seconds between polls of an operation, or 'auto' (adaptive, from ~1 s).",
        env=("BULKOP_INTERVAL",),
        flag="--interval",
        command="watch",
        flag_help="Seconds between polls of an operation, or auto: from ~1 s, slower while idle, closer near the ETA",
        flag_metavar="auto|SECONDS",
    ),
    Setting(
        "timeout",
        SettingType.DURATION,
        None,
        "give up after this long (e.g. 30s, 10m, 1h).",
        env=("BULKOP_TIMEOUT",),
        flag="--timeout",
        command="watch",
        flag_help="Give up after this long, exit 124: 30s, 10m, 1h",
        flag_metavar="DURATION",
        default_help="none",
    ),
    Setting(
        "max_rps",
        SettingType.FLOAT,
        10.0,
        "most requests per second to one profile's API.",
        env=("BULKOP_MAX_RPS",),
        flag="--max-rps",
        command="watch",
        flag_help="Most requests per second to one profile's API",
        flag_metavar="N",
    ),
    Setting(
        "max_errors",
        SettingType.INT,
        None,
        "fail (exit 1) a completed operation with more error rows than this.",
        env=("BULKOP_MAX_ERRORS",),
        flag="--max-errors",
        command="watch",
        flag_help="Exit 1 if a completed operation has more error rows than N, or an error count that cannot be known",
        flag_metavar="N",
        default_help="errors alone do not fail",
    ),
    Setting(
        "max_consecutive_failures",
        SettingType.INT,
        10,
        "give up (exit 6) after this many failed polls in a row of one operation.",
        env=("BULKOP_MAX_CONSECUTIVE_FAILURES",),
        flag="--max-consecutive-failures",
        command="watch",
        flag_help="Give up on an operation (exit 6) after N failed polls in a row",
        flag_metavar="N",
    ),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
# Top-level config keys, not per profile (the journal: README, Journal). Their environment
# variables: BULKOP_NO_JOURNAL=1, BULKOP_JOURNAL (the file), BULKOP_JOURNAL_DAYS.
TOP_LEVEL_KEYS: dict[str, type] = {"journal": bool, "journal_days": int}
# Keys a profile table may hold: every setting, plus the *_env indirections for secrets.
PROFILE_KEYS: frozenset[str] = frozenset([s.name for s in SETTINGS] + [s.env_key for s in SETTINGS if s.env_key])
# How a profile can be chosen explicitly; `default_profile` from the file is not explicit.
EXPLICIT_PROFILE_SOURCES = frozenset({"flag", "env"})


@dataclass(frozen=True, slots=True)
class Resolved:
    value: Any
    source: str  # "flag", "env", "profile", "default"
    detail: str = ""  # e.g. the variable's name, or the profile's name


@dataclass(frozen=True)
class Settings:
    """Every effective setting for one profile, each knowing where it came from."""

    profile: str | None
    profile_source: str  # "flag", "env", "default_profile" or "none"
    values: Mapping[str, Resolved]
    # SDK variables that are set but were not used, because the profile was chosen explicitly.
    ignored_env: tuple[str, ...] = ()
    # config.toml's [providers.NAME] tables, for resolving a provider that is not built in.
    provider_tables: Mapping[str, Any] = field(default_factory=dict)
    # What a refused credential (401/403) should make the user check, in this profile's terms.
    auth_hint: str | None = None
    # The credential settings the provider's auth reads (api_key; login and password; none).
    secrets_needed: tuple[str, ...] = ()

    @property
    def explicit_profile(self) -> bool:
        """Whether the user named the profile (-p, BULKOP_PROFILE, PROFILE:ID, an argument)."""
        return self.profile is not None and self.profile_source in EXPLICIT_PROFILE_SOURCES

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name].value
        except KeyError:
            raise AttributeError(name) from None

    @property
    def provider(self) -> str:
        return str(self.values["provider"].value)


# --------------------------------------------------------------------------- conversions

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", re.ASCII)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """'90', '30s', '10m', '1h30m', '250ms' → seconds. Raises ValueError with a clear reason."""
    s = text.strip().lower()
    if not s:
        raise ValueError("empty duration")
    try:
        value = float(s)
    except ValueError:
        pos, total = 0, 0.0
        for m in _DURATION.finditer(s):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if pos != len(s) or pos == 0:
            raise ValueError(f"{text!r} is not a duration like 30s, 10m, 1h or 1h30m") from None
        value = total
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    if value > MAX_SECONDS:
        raise ValueError(f"{text!r} is too long (at most {MAX_SECONDS:.0e} seconds)")
    return value


def _text(setting: Setting, raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("should be a string")
    if setting.rule and raw and (problem := _rule_problem(setting.rule, raw)):
        raise ValueError(problem)  # never the value: it may be a secret
    return raw


def _secret(setting: Setting, raw: Any) -> str:
    if raw == "":
        raise ValueError("is empty")
    return _text(setting, raw)


def _provider(setting: Setting, raw: Any) -> str:
    if isinstance(raw, str) and not _PROVIDER_NAME.fullmatch(raw):
        raise ValueError(f"should be a provider's name ({provider_list()})")
    return _text(setting, raw)


def _url(setting: Setting, raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("should be a string")
    return normalize_base_url(raw)


def _bool(setting: Setting, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    word = raw.strip().lower() if isinstance(raw, str) else None
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("should be true or false")


def _int(setting: Setting, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("should be a whole number")
    if isinstance(raw, str):
        try:
            raw = int(raw.strip())
        except ValueError:
            raise ValueError("should be a whole number") from None
    if not isinstance(raw, int) or raw < 0:
        raise ValueError("should be a whole number, 0 or more")
    return raw


def _float(setting: Setting, raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("should be a number")
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            raise ValueError("should be a number") from None
    if not isinstance(raw, (int, float)) or not math.isfinite(raw) or raw <= 0:
        raise ValueError("should be a positive number")
    if raw > MAX_SECONDS:
        raise ValueError(f"should be at most {MAX_SECONDS:.0e}")
    return float(raw)


def _duration(setting: Setting, raw: Any) -> float:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise ValueError("should be a duration like 30s, 10m or 1h")
    return parse_duration(raw)


def _interval(setting: Setting, raw: Any) -> float | str:
    if isinstance(raw, str) and raw.strip().lower() == "auto":
        return "auto"
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise ValueError("should be 'auto' or a number of seconds")
    try:
        return parse_duration(raw)
    except ValueError:
        raise ValueError("should be 'auto' or a number of seconds like 2 or 5s") from None


CONVERTERS: dict[SettingType, Callable[[Setting, Any], Any]] = {
    SettingType.PROVIDER: _provider,
    SettingType.URL: _url,
    SettingType.STR: _text,
    SettingType.SECRET: _secret,
    SettingType.INT: _int,
    SettingType.FLOAT: _float,
    SettingType.BOOL: _bool,
    SettingType.DURATION: _duration,
    SettingType.INTERVAL: _interval,
}


def convert(setting: Setting, raw: Any) -> Any:
    """Turn a value from the environment (a string) or a profile (TOML) into the setting's type."""
    return CONVERTERS[setting.type](setting, raw)


_TOKEN = re.compile(r"[\x21-\x7e]+")


def _rule_problem(rule: str, value: str) -> str | None:
    """What is wrong with a value under its setting's rule, or None; never the value itself."""
    if rule == "token":  # sent in a header: printable ASCII without spaces, as every API key is
        return None if _TOKEN.fullmatch(value) else "has spaces, line breaks or non-ASCII characters"
    if rule == "basic_login":  # HTTP Basic: the login ends at the first ':'
        return "has a ':' or control characters" if ":" in value or not value.isprintable() else None
    if rule == "printable":
        return None if value.isprintable() else "has line breaks or control characters"
    raise AssertionError(f"unknown rule {rule}")


_PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}", re.ASCII)


def provider_list(tables: Mapping[str, Any] | None = None) -> str:
    """'built-in: knock, saymon, …; configured: acme' for messages and help."""
    from bulkop.providers import BUILTIN_NAMES

    text = f"built-in: {', '.join(BUILTIN_NAMES)}"
    return text + (f"; configured: {', '.join(sorted(tables))}" if tables else "")


def check_provider(name: str, tables: Mapping[str, Any] | None, where: str = "", *, as_value: bool = False) -> None:
    """A provider name must be built in or defined in config.toml (ConfigError listing them).

    `as_value`: the message reads as a bad value of the `provider` key ("provider should be one
    of …, not 'kafka'"), as for every other key; otherwise "unknown provider 'kafka'"."""
    from bulkop.providers import BUILTIN_NAMES

    if name not in BUILTIN_NAMES and name not in (tables or {}):
        known = [*BUILTIN_NAMES, *sorted(tables or {})]
        guess = did_you_mean(name, known)
        if as_value:
            guess = did_you_mean(name, known, " (did you mean {!r}?)")
            raise ConfigError(
                f"{where}provider should be one of {', '.join(known)}, not {name!r}{guess}",
                hint="define others as [providers.NAME] in config.toml",
            )
        raise ConfigError(
            f"{where}unknown provider {name!r}{guess}",
            hint=f"{provider_list(tables)}; define others as [providers.NAME] in config.toml",
        )


_URL_SHAPE = "should be an http:// or https:// URL with a host, like https://api.knock.app"
_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?", re.ASCII)
_PATH = re.compile(r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)*", re.ASCII)


def normalize_base_url(raw: str) -> str:
    """Parse a base URL once, at the edge: `scheme://host[:port][/path]`, scheme lowercased.

    Everything later (TLS or not, which host gets credentials) decides on this normal form.
    Messages never repeat the URL: it may hold a password.
    """
    url = raw.strip()
    if not url.isascii() or not url.isprintable() or " " in url:
        raise ValueError(f"{_URL_SHAPE} (printable ASCII, no spaces; use punycode for international host names)")
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise ValueError(_URL_SHAPE)
    authority, slash, path = rest.partition("/")
    if "@" in rest:  # user info (a password may hold '/', '?' or '#': refuse any '@')
        raise ValueError("should not hold a user name or password (user:password@): give credentials as settings")
    if "?" in rest or "#" in rest or "\\" in rest:
        raise ValueError(f"{_URL_SHAPE} (no query, fragment or backslash)")
    host, port = authority.lower(), ""
    if host.startswith("["):
        literal, _, after = host[1:].partition("]")
        try:
            ipaddress.IPv6Address(literal)
        except ValueError:
            raise ValueError(f"{_URL_SHAPE} (the IPv6 address in brackets is not valid)") from None
        host, sep_port, port = f"[{literal}]", after[:1], after[1:]
        if after and sep_port != ":":
            raise ValueError(_URL_SHAPE)
    else:
        host, _, port = host.partition(":")
        if not host or not _HOST.fullmatch(host):
            raise ValueError(_URL_SHAPE)
    if ":" in authority.rpartition("]")[2] and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{_URL_SHAPE} (the port should be a number from 1 to 65535)")
    path = ("/" + path).rstrip("/") if slash else ""
    if not _PATH.fullmatch(path) or any(seg.lower().replace("%2e", ".") in (".", "..") for seg in path.split("/")):
        raise ValueError(f"{_URL_SHAPE} (the path has a character that needs %-encoding, or a . or .. segment)")
    return f"{scheme}://{host}{f':{int(port)}' if port else ''}{path}"


def without_userinfo(url: str) -> str:
    """A URL as it may be shown: anything before an `@` (a user name, a password) elided."""
    if "@" not in url:
        return url
    scheme, sep, _ = url.partition("://")
    prefix = f"{scheme}://" if sep and "@" not in scheme else ""
    return f"{prefix}…@{url.rpartition('@')[2]}"


# --------------------------------------------------------------------------- resolution


def select_profile(flag: str | None, env: Mapping[str, str], cfg: ConfigFile | None) -> tuple[str | None, str]:
    """Which profile is in force, and why: --profile, BULKOP_PROFILE, the default, or none."""
    if flag:
        name, source = flag, "flag"
    elif env.get("BULKOP_PROFILE"):
        name, source = env["BULKOP_PROFILE"], "env"
    elif cfg is not None and cfg.default_profile:
        name, source = cfg.default_profile, "default_profile"
    else:
        return None, "none"
    if cfg is None or name not in cfg.profiles:
        raise profile_not_found(name, cfg.path if cfg is not None else None, cfg.profiles if cfg else {})
    return name, source


def profile_not_found(name: str, path: Path | None, profiles: Mapping[str, Any]) -> ConfigError:
    """The error for a profile name that the config file (at `path`, if there is one) lacks."""
    where = f" in {path}" if path is not None else ""
    return ConfigError(
        f"profile {name!r} not found{where} ({known_profiles(name, profiles)})",
        hint="list them with `bulkop config list`, add one with `bulkop config add NAME`",
    )


def known_profiles(name: str, profiles: Mapping[str, Any]) -> str:
    """'profiles: dev, prod; did you mean 'prod'?' for a name that is not a profile."""
    return f"profiles: {', '.join(sorted(profiles)) or 'none'}" + did_you_mean(name, sorted(profiles))


def resolve(
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    cfg: ConfigFile | None = None,
    profile_flag: str | None = None,
) -> Settings:
    """Resolve every setting. `flags` holds only options the user actually gave (not None)."""
    profile_name, profile_source = select_profile(profile_flag, env, cfg)
    profile: Mapping[str, Any] = cfg.profiles[profile_name] if cfg and profile_name else {}
    explicit = profile_name is not None and profile_source in EXPLICIT_PROFILE_SOURCES
    tables: Mapping[str, Any] = cfg.providers if cfg is not None else {}
    values: dict[str, Resolved] = {}
    provider = _resolve_one(BY_NAME["provider"], "knock", flags, env, profile, profile_name, explicit)
    name = str(provider.value)
    try:
        check_provider(name, tables)
    except ConfigError as e:
        if provider.source == "flag":
            raise UsageError(f"--provider: {e.message}", hint=e.hint) from None
        where = {"env": "BULKOP_PROVIDER: ", "profile": f"profile {profile_name!r}: "}.get(provider.source, "")
        e.message = where + e.message
        raise
    values["provider"] = provider
    from bulkop.providers import resolve as resolve_provider

    definition = resolve_provider(name, tables)
    needed = None if name in PROVIDER_NAMES else definition.secrets_needed
    for setting in SETTINGS[1:]:
        values[setting.name] = _resolve_one(
            setting, name, flags, env, profile, profile_name, explicit, setting.applies(name, needed)
        )
    if values["base_url"].value is None and definition.base_url:
        values["base_url"] = Resolved(normalize_base_url(definition.base_url), "default")
    ignored: tuple[str, ...] = ()
    if explicit:
        ignored = tuple(
            var for s in SETTINGS if name in s.providers for var in s.env_for(name) if var in s.sdk_env and env.get(var)
        )
    hint = _auth_hint(name, needed, profile_name, explicit)
    return Settings(profile_name, profile_source, values, ignored, tables, hint, definition.secrets_needed)


def _auth_hint(
    provider: str, needed: tuple[str, ...] | None, profile: str | None = None, explicit: bool = False
) -> str:
    """What to check when the credential is refused or missing, naming only what is really read
    for this provider and profile: 'check KNOCK_API_KEY or the profile's api_key (…)'. The SDK
    variables are read only for their own provider (KNOCK_* for knock, SAYMON_* for saymon) and
    not for a profile chosen explicitly; every other provider's secrets come from a profile."""
    names = [s for s in CREDENTIALS if BY_NAME[s].applies(provider, needed)]
    variables = [
        v
        for s in names
        for v in BY_NAME[s].env_for(provider, explicit_profile=explicit)
        if provider in BY_NAME[s].providers or v.startswith("BULKOP_")
    ]
    if not names:
        return "check the provider's auth (`bulkop providers show " + provider + "`)"
    keys = " and ".join(names)
    if profile is not None:
        where = (
            f"profile {profile}'s {keys} (`bulkop config show {profile}`; change with "
            + ", ".join(f"`bulkop config set {profile} {n}`" for n in names)
            + ")"
        )
    else:
        where = f"a profile's {keys} (`bulkop config add NAME --provider {provider}`)"
    if variables:
        return f"check {'/'.join(variables)} or {where}"
    return f"check {where}"


def _resolve_one(
    setting: Setting,
    provider: str,
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    profile: Mapping[str, Any],
    profile_name: str | None,
    explicit_profile: bool = False,
    applies: bool = True,
) -> Resolved:
    if flags.get(setting.name) is not None:
        return Resolved(flags[setting.name], "flag", setting.flag or "")
    if applies:
        # A provider SDK's own variables (KNOCK_API_KEY, …) are read for that provider only.
        variables = setting.env_for(provider, explicit_profile=explicit_profile)
        if provider not in setting.providers:
            variables = tuple(v for v in variables if v.startswith("BULKOP_"))
        for var in variables:
            raw = env.get(var)
            if raw is not None and raw != "":
                try:
                    return Resolved(convert(setting, raw), "env", var)
                except ValueError as e:
                    raise ConfigError(
                        f"environment variable {var} ({setting.name}) {e}",
                        hint=f"fix or unset {var}",
                    ) from None
    if applies and profile:
        if setting.name in profile:
            try:
                return Resolved(convert(setting, profile[setting.name]), "profile", profile_name or "")
            except ValueError as e:
                raise ConfigError(
                    f"profile {profile_name!r}: key {setting.name!r} {e}",
                    hint=f"fix it with `bulkop config set {profile_name} {setting.name} VALUE`",
                ) from None
        if setting.env_key and setting.env_key in profile:
            var = profile[setting.env_key]
            raw = env.get(var) if isinstance(var, str) else None
            if not raw:
                raise ConfigError(
                    f"profile {profile_name!r} reads {setting.name} from ${var}, which is not set",
                    hint=f"export {var}, or change the profile's {setting.env_key}",
                )
            try:
                return Resolved(convert(setting, raw), "profile", f"{profile_name} via ${var}")
            except ValueError as e:
                raise ConfigError(f"environment variable {var} ({setting.name}) {e}", hint=f"fix {var}") from None
    return Resolved(setting.default if applies else None, "default")


def validate_flag(name: str, raw: Any) -> Any:
    """Convert a command-line value, reporting a problem as a usage error (exit 2)."""
    setting = BY_NAME[name]
    try:
        return convert(setting, raw)
    except ValueError as e:
        shown = without_userinfo(raw) if setting.type is SettingType.URL and isinstance(raw, str) else raw
        message = str(e) if repr(str(raw)) in str(e) else f"{shown!r} {e}"
        raise UsageError(f"{setting.flag or name} {message}") from None


def mask(secret: str | None) -> str:
    """Show enough of a secret to recognise it, never enough to use it: `…9kTg` (its last 4
    characters, as the AWS CLI does), and nothing at all of a secret under 12 characters."""
    if not secret:
        return ""
    if len(secret) < 12:
        return "…" * 3
    return f"…{secret[-4:]}"
