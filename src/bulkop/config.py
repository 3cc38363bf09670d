"""Profiles on disk: locate, load (tomllib), validate and atomically save the TOML config file."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import stat
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bulkop.errors import ConfigError, UsageError
from bulkop.settings import (
    BY_NAME,
    PROFILE_KEYS,
    SETTINGS,
    TOP_LEVEL_KEYS,
    Setting,
    check_provider,
    convert,
    profile_not_found,
)

CONFIG_ENV = "BULKOP_CONFIG"
# `watch PROFILE:ID` splits on ':', and names appear unquoted in commands and TOML table headers.
PROFILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}", re.ASCII)
PROFILE_NAME_RULE = "should be 1-64 letters, digits, '-', '_' or '.' (no ':')"
_ENV_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
# Each *_env key names the secret it stands in for: {"api_key_env": "api_key", ...}.
ENV_KEYS: dict[str, str] = {s.env_key: s.name for s in SETTINGS if s.env_key}
# Keys are written in the order of the settings table, each secret's *_env right after it.
_KEY_ORDER = [k for s in SETTINGS for k in (s.name, s.env_key) if k]
_HEADER = "# bulkop profiles: change them with `bulkop config` (see `bulkop config --help`).\n"

T = TypeVar("T")


@dataclass
class ConfigFile:
    """The config file's content: the default profile's name and each profile's table."""

    path: Path
    default_profile: str | None = None
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    top_level: dict[str, Any] = field(default_factory=dict)  # journal, journal_days
    providers: dict[str, Any] = field(default_factory=dict)  # [providers.NAME] definitions, as written

    def profile(self, name: str) -> dict[str, Any]:
        """The named profile's table, or a ConfigError listing the profiles there are."""
        try:
            return self.profiles[name]
        except KeyError:
            raise profile_not_found(name, self.path, self.profiles) from None

    @property
    def holds_secret(self) -> bool:
        return any(s.name in p for p in self.profiles.values() for s in SETTINGS if s.secret)


def config_path(env: Mapping[str, str]) -> Path:
    """$BULKOP_CONFIG, or config.toml in the platform's user config directory."""
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("bulkop")) / "config.toml"


# --------------------------------------------------------------------------- reading


def load(path: Path, warn: Callable[[str], None] | None = None, *, for_repair: bool = False) -> ConfigFile:
    """Read and validate the file; a missing file is an empty config.

    `for_repair`: the profiles' keys and values are not checked yet (the file's shape and the
    provider definitions are): `config set/unset/use/remove` must be able to fix the very value
    whose error message told the user to run them. `update` checks the result before writing.
    """
    document = read_document(path)
    if document is None:
        return ConfigFile(path)
    cf = from_document(document, path, check_profiles=not for_repair)
    if warn is not None and cf.holds_secret:
        _check_permissions(path, warn)
    return cf


def read_document(path: Path) -> dict[str, Any] | None:
    """The file as parsed TOML, not yet validated (None if it does not exist): `bulkop providers`
    lists every definition, a broken one with its error, where `load` stops at the first."""
    data = _read(path)
    if data is None:
        return None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start})", hint="save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}", hint="fix that line (syntax: https://toml.io)") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply", hint="flatten the file") from None


def _read(path: Path) -> bytes | None:
    """The file's bytes; None if it does not exist. Only a regular file is read (or /dev/null,
    which reads as empty): a FIFO would block the read forever, a device never end."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: opening a FIFO with no writer returns at once
    except FileNotFoundError:
        return None
    except OSError as e:
        raise _read_error(path, e) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            if _is_devnull(st):
                return b""
            raise _not_a_regular_file(path, st.st_mode, "read")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    except OSError as e:
        raise _read_error(path, e) from None
    finally:
        os.close(fd)


def _is_devnull(st: os.stat_result) -> bool:
    try:
        return os.path.samestat(st, os.stat(os.devnull))
    except OSError:
        return False


def _read_error(path: Path, e: OSError) -> ConfigError:
    return ConfigError(
        f"cannot read {path}: {e.strerror or e}",
        hint=f"check it is a readable file, or point {CONFIG_ENV} at another one",
    )


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def irregular_kind(path: str | os.PathLike[str]) -> str | None:
    """What an existing path that is not a regular file is, after following links ("a FIFO
    (named pipe) (via the link to …)"); None for a regular file or nothing. Never opens it."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    resolved = os.path.realpath(path)
    return kind + (f" (via the link to {resolved})" if resolved != os.path.abspath(path) else "")


def _not_a_regular_file(path: Path, mode: int, action: str) -> ConfigError:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    resolved = os.path.realpath(path)
    via = f" (via the link to {resolved})" if resolved != os.path.abspath(path) else ""
    return ConfigError(
        f"refusing to {action} {path}: it is {kind}{via}, not a regular file",
        hint=f"point {CONFIG_ENV} at a regular file, or at a path that does not exist yet"
        + ("; nothing was changed" if action == "write" else ""),
    )


def _check_permissions(path: Path, warn: Callable[[str], None]) -> None:
    with contextlib.suppress(OSError):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            warn(
                f"{path} holds a secret and other users may read it (mode {mode:04o}); "
                f"fix: chmod 600 {shlex.quote(str(path))}"
            )


def from_document(document: Mapping[str, Any], path: Path, *, check_profiles: bool = True) -> ConfigFile:
    """Validate a parsed TOML document against the settings table (the profiles' keys and
    values only with `check_profiles`)."""
    for key in document:
        if key not in ("default_profile", "profiles", "providers", *TOP_LEVEL_KEYS):
            raise ConfigError(
                f"{path}: unknown key {key!r}",
                hint="the top level holds only default_profile, journal, journal_days, [profiles.NAME] "
                "and [providers.NAME] tables",
            )
        # journal_days is checked where it is used, as BULKOP_JOURNAL_DAYS is: a bad value is a
        # warning and the default, never a failed command (journal.open_journal).
        if key == "journal" and not isinstance(document[key], TOP_LEVEL_KEYS[key]):
            raise ConfigError(f"{path}: {key} should be {TOP_LEVEL_KEYS[key].__name__}", hint="see README, Journal")
    default = document.get("default_profile")
    if default is not None and not isinstance(default, str):
        raise ConfigError(
            f"{path}: default_profile should be a profile's name (a string)",
            hint="set it with `bulkop config use NAME`",
        )
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict):
        raise ConfigError(
            f"{path}: profiles should be tables like [profiles.prod]",
            hint="add profiles with `bulkop config add NAME`",
        )
    providers = document.get("providers", {})
    if not isinstance(providers, dict):
        raise ConfigError(f"{path}: providers should be tables like [providers.acme]", hint="see README, Any job API")
    from bulkop.providers import check_user_tables

    try:
        check_user_tables(providers)  # a definition's error names its key, at load (exit 7)
    except ConfigError as e:
        e.message = f"{path}: {e.message}"
        raise
    cf = ConfigFile(path, default or None, {}, {k: document[k] for k in TOP_LEVEL_KEYS if k in document}, providers)
    for name, table in profiles.items():
        if not PROFILE_NAME.fullmatch(name):
            raise ConfigError(f"{path}: profile name {name!r} {PROFILE_NAME_RULE}", hint="rename that table")
        if not isinstance(table, dict):
            raise ConfigError(
                f"{path}: profiles.{name} should be a table [profiles.{name}]", hint="see `bulkop config --help`"
            )
        cf.profiles[name] = validate_profile(name, table, path, providers) if check_profiles else dict(table)
    return cf


def check_profile_name(name: str) -> str:
    """A name given on the command line for a new profile."""
    if not PROFILE_NAME.fullmatch(name):
        raise UsageError(f"profile name {name!r} {PROFILE_NAME_RULE}", hint="e.g. prod, staging-eu")
    return name


def validate_profile(
    name: str, table: Mapping[str, Any], path: Path, providers: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Check every key and value of a profile; the error names the key and how to fix it."""
    where = f"{path}: profiles.{name}: "
    provider = table.get("provider")
    if isinstance(provider, str):
        check_provider(provider, providers, where, as_value=True)
    for key, value in table.items():
        try:
            setting = check_key(key, provider, where, providers)
        except ConfigError as e:  # in the file: say how to take it out, too
            e.hint = f"remove it with `bulkop config unset {name} {shlex.quote(key)}` ({e.hint})"
            raise
        if key in ENV_KEYS:
            if not isinstance(value, str) or not _ENV_VAR_NAME.fullmatch(value):
                raise ConfigError(
                    f"{where}{key} should name an environment variable, like KNOCK_API_KEY_PROD",
                    hint=f"fix it with `bulkop config set {name} {key} VARIABLE`",
                )
            if setting.name in table:
                raise ConfigError(
                    f"{where}both {setting.name} and {key} are set",
                    hint=f"keep one: `bulkop config unset {name} {setting.name}` or `... {key}`",
                )
        else:
            try:
                convert(setting, value)
            except ValueError as e:
                raise ConfigError(f"{where}{key} {e}", hint=f"fix it with {set_command(name, key)}") from None
    return dict(table)


def check_key(key: str, provider: Any, where: str = "", providers: Mapping[str, Any] | None = None) -> Setting:
    """The setting a profile key is for; an unknown key or one for another provider is an error."""
    if key not in PROFILE_KEYS:
        raise ConfigError(f"{where}unknown key {key!r}", hint=f"known keys: {known_keys()}")
    setting = BY_NAME[ENV_KEYS.get(key, key)]
    # Without a (valid) provider the profile follows BULKOP_PROVIDER or the default: any key goes.
    needed = secrets_needed(provider, providers)
    if needed is not None and not setting.applies(provider, needed):
        raise ConfigError(
            f"{where}{key} does not apply to provider {provider}",
            hint=f"a {provider} profile takes: {known_keys(provider, providers)}",
        )
    return setting


def secrets_needed(provider: Any, providers: Mapping[str, Any] | None = None) -> tuple[str, ...] | None:
    """The credential keys a provider's auth reads; None when the provider is not known."""
    from bulkop.providers import BUILTIN_NAMES, resolve

    if not isinstance(provider, str) or (provider not in BUILTIN_NAMES and provider not in (providers or {})):
        return None
    try:
        return resolve(provider, providers).secrets_needed
    except ConfigError:
        return None


def known_keys(provider: str | None = None, providers: Mapping[str, Any] | None = None) -> str:
    """The keys a profile (of one provider, if given) may hold, in the table's order."""
    needed = secrets_needed(provider, providers) if provider is not None else None
    return ", ".join(
        k
        for k in _KEY_ORDER
        if provider is None or needed is None or BY_NAME[ENV_KEYS.get(k, k)].applies(provider, needed)
    )


def set_command(name: str, key: str) -> str:
    """How to set a key from the command line (a secret is never an argument)."""
    if key in BY_NAME and BY_NAME[key].secret:
        return f'`printf %s "$SECRET" | bulkop config set {name} {key}`'
    return f"`bulkop config set {name} {key} VALUE`"


def stored_value(setting: Setting, raw: str) -> Any:
    """The value to write for `config set NAME KEY RAW`: typed as TOML, checked by the table.

    Raises ValueError saying what is wrong (never repeating the value).
    """
    value = convert(setting, raw)
    if setting.type in ("duration", "interval"):
        # A plain number is stored as one (interval = 5); "10m" or "auto" stays as written.
        text = raw.strip()
        try:
            number = float(text)
        except ValueError:
            return text.lower() if text.lower() == "auto" else text
        return int(number) if number.is_integer() else number
    return value


# --------------------------------------------------------------------------- writing


def save(cf: ConfigFile) -> None:
    """Write the file atomically (temp file in the same directory, fsync, os.replace), mode 0600."""
    import tomli_w

    text = _HEADER + tomli_w.dumps(_document(cf))
    if not text.endswith("\n"):  # a text file ends with a newline, whatever tomli_w does
        text += "\n"
    target = writable_target(cf.path)
    try:
        _make_dir(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise _write_error(cf.path, e) from None
    try:
        # mkstemp creates the file 0600, so the secret is never readable by others, even briefly.
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _write_error(cf.path, e) from None
        raise
    _fsync_dir(target.parent)


def writable_target(path: Path) -> Path:
    """The file a save replaces: `path`, or the file its symlinks lead to.

    A symlink to a regular file (a dotfiles repository) is followed and its target replaced
    atomically, so the link stays a link; anything that exists and is not a regular file (a
    device such as /dev/null, a FIFO, a directory, a socket, directly or through a link) is
    refused: replacing it would swap a device or a pipe for a file holding the secret.
    """
    target = Path(os.path.realpath(path))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return target
    except OSError as e:
        raise _write_error(path, e) from None
    if not stat.S_ISREG(st.st_mode):
        raise _not_a_regular_file(path, st.st_mode, "write")
    return target


def update(path: Path, change: Callable[[ConfigFile], T]) -> T:
    """Load, change and save under a lock, so that concurrent changes are never lost.

    If `change` raises, or the path is not a regular file, nothing is written (no lock file
    either).
    """
    writable_target(path)
    with _locked(path):
        cf = load(path, for_repair=True)
        before = {name: dict(table) for name, table in cf.profiles.items()}
        result = change(cf)
        # A change may repair a bad value (what the errors suggest), never write one: every
        # profile it touched must now be valid (else exit 7 naming the key, nothing written).
        # Profiles it did not touch stay as they were, broken or not: one broken profile must
        # not stop the repair of another.
        for name, table in cf.profiles.items():
            if before.get(name) != table:
                validate_profile(name, table, path, cf.providers)
        save(cf)
    return result


def _document(cf: ConfigFile) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if cf.default_profile:
        document["default_profile"] = cf.default_profile
    document.update(cf.top_level)
    if cf.providers:
        document["providers"] = cf.providers
    if cf.profiles:
        document["profiles"] = {
            name: dict(sorted(table.items(), key=lambda kv: _KEY_ORDER.index(kv[0])))
            for name, table in sorted(cf.profiles.items())
        }
    return document


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # Windows: no flock; os.replace still keeps every write whole
        yield
        return
    lock = path.with_name(path.name + ".lock")
    try:
        _make_dir(lock.parent)
        # Never follow a link or block on a FIFO planted at the lock's name.
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(lock, flags | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as e:
        raise _write_error(path, e) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _not_a_regular_file(lock, os.fstat(fd).st_mode, "lock")
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock; the lock file stays, deleting it would race


def _make_dir(directory: Path) -> None:
    # A directory bulkop creates is private; an existing one (e.g. $HOME) is left as it is.
    if not directory.is_dir():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, and then not needed.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_error(path: Path, e: OSError) -> ConfigError:
    return ConfigError(
        f"could not write {path}: {e.strerror or e}",
        hint="the file is unchanged; check the directory's permissions and free space",
    )
