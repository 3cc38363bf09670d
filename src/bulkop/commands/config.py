"""`bulkop config`: add, list, show, set, unset, use and remove profiles; print the file's path."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar, cast

from bulkop import config
from bulkop.context import Context
from bulkop.errors import ConfigError, UsageError
from bulkop.providers import resolve as resolve_provider
from bulkop.settings import BY_NAME, SETTINGS, check_provider, validate_flag

T = TypeVar("T")


@dataclass(frozen=True)
class AddOptions:
    name: str
    provider: str
    base_url: str | None = None
    login: str | None = None
    api_key_env: str | None = None
    password_env: str | None = None


@dataclass(frozen=True)
class ListOptions:
    output: str | None = None  # table | text | json; None: table in a terminal, text when piped


@dataclass(frozen=True)
class ShowOptions:
    name: str | None = None
    output: str | None = None
    flags: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetOptions:
    name: str
    key: str
    value: str | None = None  # None for a secret: it comes from the prompt or stdin


@dataclass(frozen=True)
class UnsetOptions:
    name: str
    key: str


@dataclass(frozen=True)
class UseOptions:
    name: str


@dataclass(frozen=True)
class RemoveOptions:
    name: str


@dataclass(frozen=True)
class PathOptions:
    pass


# --------------------------------------------------------------------------- reading


def list_profiles(opts: ListOptions, ctx: Context) -> int:
    from bulkop.render import config as render

    cf = ctx.config()
    rows = render.profile_rows(cf)
    output = _output(opts.output, ctx)
    if output == "json":
        ctx.stdout.write(render.profiles_json(rows) + "\n")
        return 0
    if not rows:
        ctx.stderr.write(f"No profiles in {cf.path}; add one with `bulkop config add NAME --provider knock`.\n")
    elif output == "table":
        console = ctx.console()
        console.print(render.profiles_table(rows, console.width))
    else:
        ctx.stdout.write(render.profiles_text(rows))
    return 0


def show(opts: ShowOptions, ctx: Context) -> int:
    from bulkop.render import config as render

    settings = ctx.settings(opts.flags, profile=opts.name)
    chosen = "argument" if opts.name else settings.profile_source
    path = ctx.config().path
    output = _output(opts.output, ctx)
    if output == "json":
        ctx.stdout.write(render.settings_json(settings, chosen, path) + "\n")
    elif output == "table":
        console = ctx.console()
        console.print(render.settings_heading(settings, chosen, path), soft_wrap=True)
        console.print(render.settings_table(settings))
    else:
        ctx.stdout.write(render.settings_text(settings, chosen, path))
    if settings.ignored_env:
        how = "with BULKOP_PROFILE" if settings.profile_source == "env" else "by name"
        ctx.stderr.write(
            f"Not used: {', '.join(settings.ignored_env)} (a provider SDK's variables; profile "
            f"{settings.profile!r} was chosen {how}, so its own values win; "
            "BULKOP_* variables and flags still apply).\n"
        )
    return 0


def path(opts: PathOptions, ctx: Context) -> int:
    ctx.stdout.write(f"{config.config_path(ctx.env)}\n")
    return 0


def _output(requested: str | None, ctx: Context) -> str:
    return requested or ("table" if ctx.isatty(ctx.stdout) else "text")


# --------------------------------------------------------------------------- writing


def add(opts: AddOptions, ctx: Context) -> int:
    name = config.check_profile_name(opts.name)
    provider = validate_flag("provider", opts.provider)
    tables = ctx.config().providers
    try:
        check_provider(provider, tables)
    except ConfigError as e:
        raise UsageError(f"--provider: {e.message}", hint=e.hint) from None
    definition = resolve_provider(provider, tables)
    needed = definition.secrets_needed  # exactly what this provider's auth reads
    table: dict[str, Any] = {"provider": provider}
    if opts.base_url is not None:
        table["base_url"] = validate_flag("base_url", opts.base_url)
    elif definition.base_url is None:
        raise UsageError(
            f"--base-url is required for {provider} (it has no default address)",
            hint="e.g. --base-url https://jobs.example.com",
        )
    env_options = {"api_key": ("--api-key-env", opts.api_key_env), "password": ("--password-env", opts.password_env)}
    for secret, (option, value) in env_options.items():
        if value is not None and secret not in needed:
            raise UsageError(f"{option} does not apply to provider {provider}")
    if opts.login is not None and "login" not in needed:
        raise UsageError(f"--login does not apply to provider {provider}")
    cf = _writable_config(ctx)  # before asking for a secret that would then be thrown away
    _refuse_existing(cf, name)
    if "login" in needed:
        table["login"] = _given("login", opts.login if opts.login is not None else _read_login(ctx, opts))
    for setting in SETTINGS:
        if not setting.secret or setting.name not in needed:
            continue
        variable = env_options.get(setting.name, ("", None))[1]
        if variable is not None and setting.env_key is not None:
            table[setting.env_key] = variable
        else:
            table[setting.name] = _given(setting.name, _read_secret(ctx, setting.name, name, _add_example(opts)))
    table = config.validate_profile(name, table, cf.path, tables)

    def change(cf: config.ConfigFile) -> bool:
        _refuse_existing(cf, name)
        cf.profiles[name] = table
        if cf.default_profile not in cf.profiles:
            cf.default_profile = name
        return cf.default_profile == name

    is_default = config.update(cf.path, change)
    how = (
        "it is the default profile"
        if is_default
        else f"use it with `bulkop -p {name} ...` or make it the default with `config use`"
    )
    ctx.stderr.write(f"Added profile {name!r} ({provider}) to {cf.path}; {how}.\n")
    return 0


def set_key(opts: SetOptions, ctx: Context) -> int:
    name, key = opts.name, opts.key
    secret = key in BY_NAME and BY_NAME[key].secret
    if secret and opts.value is not None:
        # The value is deliberately not repeated: it is already somewhere it should not be.
        raise UsageError(
            f"{key} is a secret and is never taken as an argument "
            "(it would stay in your shell history and the process list)",
            hint=f"type it at the prompt, or pipe it in: {config.set_command(name, key)}",
        )
    cf = _writable_config(ctx)
    setting = _given_key(key, cf.profile(name).get("provider"), name, cf.providers)
    if secret:
        raw = _read_secret(ctx, key, name, config.set_command(name, key))
    elif opts.value is None:
        raise UsageError(f"missing VALUE for {key}", hint=f"e.g. {config.set_command(name, key)}")
    else:
        raw = opts.value
    if key in config.ENV_KEYS:
        value: Any = raw  # a variable's name, checked with the whole profile below
    else:
        try:
            value = config.stored_value(setting, raw)
        except ValueError as e:
            # Given to this command (argument, prompt or stdin): a usage error, refused before
            # anything is written. The same value found later in the file is a ConfigError (7).
            raise UsageError(f"{key} {e}", hint=f"{key}: {setting.help}") from None
        if key == "provider":
            try:
                check_provider(value, cf.providers, as_value=True)
            except ConfigError as e:
                raise UsageError(e.message, hint=e.hint) from None

    def change(cf: config.ConfigFile) -> list[str]:
        before = dict(cf.profile(name))
        table = {**before, key: value}
        # A secret and the variable to read it from are alternatives: the one just set wins.
        dropped = [k for k in _alternatives(key) if table.pop(k, None) is not None]
        try:
            cf.profiles[name] = config.validate_profile(name, table, cf.path, cf.providers)
        except ConfigError as e:
            try:
                config.validate_profile(name, before, cf.path, cf.providers)
            except ConfigError:
                raise e from None  # the profile was already broken in the file: exit 7
            raise _refused_change(cf, name, key, value, table, e) from None
        return dropped

    dropped = config.update(cf.path, change)
    shown = "" if secret else f" = {_toml_text(value)}"
    also = f" (removed {', '.join(dropped)})" if dropped else ""
    ctx.stderr.write(f"Set {key}{shown} in profile {name!r}{also}.\n")
    return 0


def unset_key(opts: UnsetOptions, ctx: Context) -> int:
    name, key = opts.name, opts.key
    if key == "provider":
        raise UsageError(
            "every profile names its provider",
            hint=f"change it with `bulkop config set {name} provider knock|saymon`",
        )
    cf = _writable_config(ctx)
    table = cf.profile(name)
    if key not in table:  # a key the file holds can always go, even one bulkop does not know
        _given_key(key, None, name)
        ctx.stderr.write(f"Profile {name!r} has no {key}; nothing to change.\n")
        return 0

    def change(cf: config.ConfigFile) -> None:
        cf.profile(name).pop(key, None)

    config.update(cf.path, change)
    ctx.stderr.write(f"Removed {key} from profile {name!r}.\n")
    return 0


def use(opts: UseOptions, ctx: Context) -> int:
    name = opts.name

    def change(cf: config.ConfigFile) -> None:
        # The default must be usable: a profile with a bad value is named with its fix (exit 7).
        config.validate_profile(name, cf.profile(name), cf.path, cf.providers)
        cf.default_profile = name

    _update_profile(ctx, name, change)
    ctx.stderr.write(f"Default profile is now {name!r}.\n")
    return 0


def remove(opts: RemoveOptions, ctx: Context) -> int:
    name = opts.name

    def change(cf: config.ConfigFile) -> bool:
        del cf.profiles[name]
        if cf.default_profile == name:
            cf.default_profile = None
            return True
        return False

    was_default = _update_profile(ctx, name, change)
    after = "; there is no default profile now (choose one with `bulkop config use NAME`)"
    ctx.stderr.write(f"Removed profile {name!r}{after if was_default else ''}.\n")
    return 0


def _update_profile(ctx: Context, name: str, change: Callable[[config.ConfigFile], T]) -> T:
    """Apply `change` to the config file (atomically, under its lock) once profile `name` is
    known to exist, in the file as read now and again as locked: else a ConfigError, unwritten."""

    def checked(cf: config.ConfigFile) -> T:
        cf.profile(name)
        return change(cf)

    cf = _writable_config(ctx)
    cf.profile(name)
    return config.update(cf.path, checked)


def _given_key(key: str, provider: Any, name: str, providers: Any = None) -> Any:
    """The setting a key typed to `config set`/`unset` is for: an unknown key, or one the
    profile's provider does not take, is a usage error (exit 2), refused before any write."""
    try:
        return config.check_key(key, provider, f"profile {name!r}: ", providers)
    except ConfigError as e:
        raise UsageError(e.message, hint=e.hint) from None


def _refused_change(
    cf: config.ConfigFile, name: str, key: str, value: Any, table: dict[str, Any], e: ConfigError
) -> UsageError:
    """A value given to `config set` that the rest of a valid profile does not fit: exit 2, as
    for any bad value given to it (exit 7 is for what is already in the file)."""
    if key == "provider":
        stale = []
        for k in table:
            try:
                config.check_key(k, value, "", cf.providers)
            except ConfigError:
                stale.append(k)
        if stale:
            unset = ", ".join(f"`bulkop config unset {name} {k}`" for k in stale)
            return UsageError(
                f"profile {name!r} holds {', '.join(stale)}, which provider {value} does not take",
                hint=f"first {unset}; then set the provider and its own keys (`bulkop providers show {value}`)",
            )
    return UsageError(f"profile {name!r}: " + e.message.removeprefix(f"{cf.path}: profiles.{name}: "), hint=e.hint)


def _writable_config(ctx: Context) -> config.ConfigFile:
    """The config, for a command that will write it: a device, FIFO or directory at its path
    is refused (exit 7) before anything is asked or checked. Its profiles' values are not
    checked here (config.load for_repair): the command may be the fix of a bad one."""
    path = config.config_path(ctx.env)
    config.writable_target(path)
    return config.load(path, ctx.warn, for_repair=True)


def _refuse_existing(cf: config.ConfigFile, name: str) -> None:
    if name in cf.profiles:
        raise ConfigError(
            f"profile {name!r} already exists in {cf.path}",
            hint=f"change it with `bulkop config set {name} KEY VALUE`, or `bulkop config remove {name}` first",
        )


def _alternatives(key: str) -> list[str]:
    """The keys that `key` replaces: a secret's *_env indirection, or the secret itself."""
    if key in config.ENV_KEYS:
        return [config.ENV_KEYS[key]]
    env_key = BY_NAME[key].env_key
    return [env_key] if env_key else []


def _toml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def _add_example(opts: AddOptions) -> str:
    if opts.provider == "saymon":
        return (
            f'printf %s "$SAYMON_PASSWORD" | bulkop config add {opts.name} --provider saymon '
            "--base-url URL --login LOGIN"
        )
    if opts.provider == "knock":
        return f'printf %s "$KNOCK_API_KEY" | bulkop config add {opts.name} --provider knock'
    return f'printf %s "$SECRET" | bulkop config add {opts.name} --provider {opts.provider} --base-url URL'


# --------------------------------------------------------------------------- input


def _given(key: str, raw: str) -> Any:
    """A value typed for `config add`, checked by the settings table as every command will read
    it: a bad one is a usage error now, not a config error on every later command."""
    try:
        return config.stored_value(BY_NAME[key], raw)
    except ValueError as e:
        raise UsageError(f"{key} {e}", hint=f"{key}: {BY_NAME[key].help}") from None


def _read_secret(ctx: Context, key: str, profile: str, example: str) -> str:
    """A hidden prompt in a terminal; otherwise one line of stdin (never an argument)."""
    if ctx.isatty(ctx.stdin):
        import getpass

        try:
            value = getpass.getpass(f"{key} for profile {profile} (input hidden): ", stream=cast(TextIO, ctx.stderr))
        except EOFError:
            value = ""
        except KeyboardInterrupt:
            _end_prompt_line(ctx)  # "bulkop: interrupted" on a line of its own, not after the prompt
            raise
    else:
        value = ctx.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not value:
        raise UsageError(
            f"no {key} given ({'empty answer' if ctx.isatty(ctx.stdin) else 'stdin was empty'})",
            hint=f"type it at the prompt, or pipe it in: {example}",
        )
    return value


def _read_login(ctx: Context, opts: AddOptions) -> str:
    if not ctx.isatty(ctx.stdin):
        # Piped stdin carries the password; guessing which line is the login would be fragile.
        raise UsageError(
            "--login is required when stdin is not a terminal",
            hint=f"e.g. {_add_example(opts)}",
        )
    ctx.stderr.write(f"login for profile {opts.name}: ")
    ctx.stderr.flush()
    try:
        login = ctx.stdin.readline().strip()
    except KeyboardInterrupt:
        _end_prompt_line(ctx)
        raise
    if not login:
        raise UsageError("no login given", hint=f"pass it with --login, e.g. {_add_example(opts)}")
    return login


def _end_prompt_line(ctx: Context) -> None:
    import contextlib

    with contextlib.suppress(OSError, ValueError):
        ctx.stderr.write("\n")
        ctx.stderr.flush()
