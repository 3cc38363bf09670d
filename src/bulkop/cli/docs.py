"""What the man pages say beyond --help (python -m bulkop._gen reads it): the variables read
outside the settings table, and the config file."""

from __future__ import annotations

from dataclasses import dataclass

from bulkop.settings import SETTINGS, Setting, show_value


@dataclass(frozen=True)
class EnvVar:
    """An environment variable as the ENVIRONMENT section documents it."""

    name: str
    help: str  # plain text; `code` spans become bold
    command: str | None = None  # the one command it concerns, or None for every command


# Variables read outside the settings table: by the config loader, the console and `watch`.
OTHER_ENV: tuple[EnvVar, ...] = (
    EnvVar(
        "BULKOP_PROFILE", "Profile to use when no `--profile` is given, instead of the config file's `default_profile`."
    ),
    EnvVar("BULKOP_CONFIG", "Path of the config file, instead of the default (see FILES)."),
    EnvVar("NO_COLOR", "Set and not empty: no colour, unless `--color always` or FORCE_COLOR."),
    EnvVar(
        "FORCE_COLOR",
        "Set and not empty: colour and terminal output even when the output is not a terminal, unless `--color never`.",
    ),
    EnvVar("TERM", "`dumb`: no colour, and `watch` prints lines instead of a live display."),
    EnvVar("COLUMNS", "Output width in characters, instead of the terminal's width."),
    EnvVar(
        "CI",
        "Set and not empty, `0` or `false`: `watch` prints plain, throttled lines instead of a live display.",
        "watch",
    ),
    EnvVar(
        "GITHUB_ACTIONS",
        "`true`: `watch` reports failed operations as `::error` "
        "annotations and folds error items into `::group::` blocks.",
        "watch",
    ),
    EnvVar(
        "GITHUB_STEP_SUMMARY",
        "A file `watch` appends a Markdown table of the operations to (GitHub Actions sets it).",
        "watch",
    ),
    EnvVar(
        "BULKOP_JOURNAL",
        "Path of the journal of operations seen (`bulkop list`), instead of "
        "`journal.sqlite3` in the user state directory (`~/.local/state/bulkop` on Linux).",
    ),
    EnvVar(
        "BULKOP_NO_JOURNAL",
        "`1`: neither read nor write the journal, as `--no-journal` or "
        "`journal = false` at the top of the config file.",
    ),
    EnvVar(
        "BULKOP_JOURNAL_DAYS",
        "Days an operation stays in the journal after it was last seen, "
        "instead of the config file's top-level `journal_days` (default 30).",
    ),
)

CONFIG_FILE = "$XDG_CONFIG_HOME/bulkop/config.toml"
# platformdirs' user_config_dir("bulkop") on each platform, as config.config_path uses it.
CONFIG_FILE_HELP = (
    "The config file: TOML with an optional `default_profile` and one `[profiles.NAME]` table "
    "per profile, changed with `bulkop config` (written atomically, mode 0600). "
    "Without XDG_CONFIG_HOME: `~/.config/bulkop/config.toml`; on macOS "
    "`~/Library/Application Support/bulkop/config.toml`; on Windows "
    "`%LOCALAPPDATA%\\bulkop\\bulkop\\config.toml`. BULKOP_CONFIG overrides the path."
)


def environment() -> list[EnvVar]:
    """Every variable bulkop reads: the settings table first, then the others."""
    found: list[EnvVar] = []
    for setting in SETTINGS:
        only = setting.providers[0] if len(setting.providers) == 1 else None
        found += [EnvVar(var, _setting_help(setting, only), setting.command) for var in setting.env]
        for provider, names in sorted(setting.provider_env.items()):
            found += [EnvVar(var, _setting_help(setting, provider), setting.command) for var in names]
    return found + list(OTHER_ENV)


def _setting_help(setting: Setting, provider: str | None) -> str:
    parts = [setting.help]
    if provider:
        parts.append(f"Only with provider `{provider}`.")
    if setting.flag:
        parts.append(f"Option `{setting.flag}` overrides it;")
        parts.append(f"it overrides the profile key `{setting.name}`.")
    else:
        parts.append(f"It overrides the profile key `{setting.name}`.")
    if setting.env_key:
        parts.append(f"A profile may instead name a variable to read it from (`{setting.env_key}`).")
    if setting.default is not None:
        default = f"`{show_value(setting.default)}`"
        if isinstance(setting.default, int) and not isinstance(setting.default, bool):
            mib = setting.default / (1024 * 1024)
            if setting.default >= 1024 * 1024 and mib.is_integer():
                default += f" ({int(mib)} MiB)"
        parts.append(f"Default: {default}.")
    return " ".join(parts)
