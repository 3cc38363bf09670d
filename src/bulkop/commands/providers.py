"""`bulkop providers`: list the built-in and configured definitions, show one as TOML, and check
what one reads from a saved response body (offline: no request, no credentials)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkop.context import Context
from bulkop.errors import BulkopError, ConfigError, InvalidResponse, UsageError, did_you_mean
from bulkop.providers import BUILTIN_NAMES, ProviderDefinition, builtin, resolve
from bulkop.render.jsonout import dumps
from bulkop.sanitize import clean

STDIN = "-"
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ListOptions:
    output: str | None = None  # table | text | json | jsonl; None: table in a terminal, else text


@dataclass(frozen=True)
class ShowOptions:
    name: str
    as_name: str | None = None  # print it under [providers.AS_NAME]
    output: str = "toml"  # toml | json


@dataclass(frozen=True)
class CheckOptions:
    name: str
    file: str  # a path, or "-" for stdin
    op_id: str | None = None  # the id `get` would have asked for; None: the body's own
    output: str | None = None  # table | text | json; None: table in a terminal, else text
    definition: str | None = None  # a TOML file of [providers.NAME] tables, instead of config.toml


# --------------------------------------------------------------------------- where definitions are


def user_tables(ctx: Context) -> tuple[Path, Mapping[str, Any]]:
    """The config file's path and its [providers.NAME] tables, as written (not yet checked).

    Read without the config loader's checks, which stop at the first broken definition: these
    commands are where a user finds out which one is broken and why.
    """
    from bulkop import config

    path = config.config_path(ctx.env)
    document = config.read_document(path) or {}
    tables = document.get("providers", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: providers should be tables like [providers.acme]", hint="see README, Any job API")
    return path, tables


def find(name: str, ctx: Context, definition_file: str | None = None) -> ProviderDefinition:
    """The named definition: from `definition_file` when given, else built-in or config.toml's.

    An unknown name is a usage error (exit 2) with a did-you-mean, as `--provider NAME` is;
    a broken definition is a configuration error (exit 7) naming its key.
    """
    if definition_file is not None:
        return _from_file(name, definition_file)
    path, tables = user_tables(ctx)
    if name not in BUILTIN_NAMES and name not in tables:
        known = [*BUILTIN_NAMES, *tables]
        raise UsageError(
            f"unknown provider {clean(name, max_len=60)!r}{did_you_mean(name, known)}",
            hint=f"providers: {', '.join(clean(k, max_len=40) for k in known)} (see `bulkop providers`)",
        )
    try:
        return resolve(name, tables)
    except ConfigError as e:
        e.message = f"{path}: {e.message}"
        raise


def _from_file(name: str, file: str) -> ProviderDefinition:
    """A definition only in a file (`--definition FILE.toml`): [providers.NAME] tables, as
    `providers show` prints them. Its name may be a built-in's: nothing else reads this file."""
    import tomllib

    from bulkop.providers import parse_definition

    try:
        with open(file, "rb") as f:
            text = f.read(1 << 20).decode("utf-8")
        document = tomllib.loads(text)
    except OSError as e:
        raise UsageError(f"--definition: cannot read {clean(file)}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{clean(file)}: not UTF-8 text (byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{clean(file)}: invalid TOML: {e}", hint="fix that line (syntax: https://toml.io)") from None
    tables = document.get("providers")
    if not isinstance(tables, dict) or name not in tables:
        defined = ", ".join(clean(k, max_len=40) for k in tables) if isinstance(tables, dict) else ""
        raise UsageError(
            f"{clean(file)} has no [providers.{clean(name, max_len=60)}] table",
            hint=f"it defines: {defined}" if defined else "write it as `bulkop providers show` prints one",
        )
    return parse_definition(name, tables[name], where=f"{clean(file)}: providers.{name}")


# --------------------------------------------------------------------------- list


def list_providers(opts: ListOptions, ctx: Context) -> int:
    """Every provider, built-in first, then config.toml's in file order. A configured definition
    that cannot be used (broken, or named like a built-in) is listed with its error, reported on
    stderr, and makes the exit code 7, as `gh auth status` does for an account it cannot use:
    the list is complete, and a script (or CI) still learns that something needs fixing."""
    from bulkop.render import providers as render

    path, tables = user_tables(ctx)
    rows = [render.ProviderRow(name, render.BUILT_IN, builtin(name)) for name in BUILTIN_NAMES]
    errors: list[BulkopError] = []
    for name in tables:
        try:
            rows.append(render.ProviderRow(str(name), str(path), resolve(str(name), tables)))
        except ConfigError as e:
            rows.append(render.ProviderRow(str(name), str(path), error=e))
            errors.append(ConfigError(f"{path}: {e.message}", hint=e.hint))
    output = opts.output or ("table" if ctx.isatty(ctx.stdout) else "text")
    out = ctx.stdout
    if output == "json":
        out.write(render.providers_json(rows) + "\n")
    elif output == "jsonl":
        for row in rows:
            out.write(dumps(render.provider_record(row)) + "\n")
    elif output == "text":
        out.write(render.providers_text(rows))
    else:
        console = ctx.console(out)
        console.print(render.providers_table(rows, console.width))
    out.flush()
    for err in errors:
        ctx.report(err)
    return ConfigError.exit_code if errors else 0


# --------------------------------------------------------------------------- show


def show(opts: ShowOptions, ctx: Context) -> int:
    from bulkop.render import providers as render

    defn = find(opts.name, ctx)
    if opts.as_name is not None:
        defn = _renamed(defn, opts.as_name)
    if opts.output == "json":
        ctx.stdout.write(render.definition_json(defn) + "\n")
    else:
        comment = None
        if defn.name in BUILTIN_NAMES:
            comment = (
                f"The built-in provider {defn.name}. A definition in config.toml needs a name of its own:\n"
                f"bulkop providers show {defn.name} --as NEWNAME >> config.toml"
            )
        ctx.stdout.write(render.definition_toml(defn, comment=comment))
    ctx.stdout.flush()
    return 0


def _renamed(defn: ProviderDefinition, new: str) -> ProviderDefinition:
    """The definition under a new name, checked as config.toml will check it (so what is printed
    loads back): a valid name, not a built-in's."""
    from bulkop.providers import parse_definition, to_table

    if new in BUILTIN_NAMES:
        raise UsageError(f"--as {new!r} is a built-in provider's name", hint=f"e.g. --as {new}-custom")
    try:
        return parse_definition(new, to_table(defn))
    except ConfigError as e:
        raise UsageError(f"--as: {e.message}", hint=e.hint) from None


# --------------------------------------------------------------------------- check


def check(opts: CheckOptions, ctx: Context) -> int:
    """Read a saved body as `get` would read a live 2xx answer, and show the result.

    Exit codes are those of a live answer: 6 when the body is not an operation this definition
    can read (not JSON, a status value the mapping lacks, a missing required field, a wrong
    type), 7 for a broken definition, 2 for an unknown provider or a malformed --id.
    """
    defn = find(opts.name, ctx, opts.definition)
    op_id = defn.check_id(opts.op_id) if opts.op_id is not None else None
    label = "stdin" if opts.file == STDIN else clean(opts.file, max_len=200)
    data = _read_body(opts.file, ctx, _cap(ctx), label)
    body = _decode(data, label)
    try:
        op = defn.normalize(op_id or _id_from(defn, body), body)
        if op_id is not None:
            _check_echoed_id(defn, op_id, op.id)
    except InvalidResponse as e:  # exit 6: the body is not an operation this definition reads
        e.message = f"{label}: an invalid {defn.name} operation: {clean(e.message, max_len=300)}"
        raise
    except UsageError as e:  # exit 2: what to pass (--id), not a verdict on the body
        e.message = f"{label}: {clean(e.message, max_len=300)}"
        raise
    output = opts.output or ("table" if ctx.isatty(ctx.stdout) else "text")
    out = ctx.stdout
    if output == "json":
        from bulkop.render.providers import operation_fields

        out.write(dumps(operation_fields(op, defn.fields["status"].search(body)), indent=2) + "\n")
    elif output == "text":
        from bulkop.render.text import operation_text

        out.write(operation_text(op, ctx.wall()) + "\n")
    else:
        from bulkop.render.table import operation_view

        console = ctx.console(out)
        console.print(operation_view(op, ctx.wall(), width=console.width))
    out.flush()
    return 0


def _cap(ctx: Context) -> int:
    """The body cap of a live answer (max_body_size, BULKOP_MAX_BODY_SIZE)."""
    from bulkop.settings import BY_NAME

    try:
        return int(ctx.settings().max_body_size)
    except BulkopError:  # a bad setting is reported where it is used; the default cap holds here
        return int(BY_NAME["max_body_size"].default)


def _read_body(file: str, ctx: Context, cap: int, label: str) -> bytes:
    """The saved body, refused beyond `cap` bytes as a live answer would be (exit 6)."""
    if file == STDIN:
        if ctx.isatty(ctx.stdin):
            raise UsageError(
                "`-` reads the body from stdin, but stdin is a terminal",
                hint="pipe it in: curl -s URL | bulkop providers check NAME -",
            )
        binary = getattr(ctx.stdin, "buffer", None)
        if binary is not None:
            return _bounded(binary.read, cap, label)
        return _bounded(lambda n: ctx.stdin.read(n).encode("utf-8", "surrogateescape"), cap, label)
    try:
        with open(file, "rb") as f:
            return _bounded(f.read, cap, label)
    except OSError as e:
        raise UsageError(
            f"cannot read {label}: {e.strerror or e}", hint="give the path of a saved response body"
        ) from None


def _bounded(read: Callable[[int], bytes], cap: int, label: str) -> bytes:
    from bulkop.api.http import human_bytes

    chunks: list[bytes] = []
    size = 0
    while chunk := read(_CHUNK):
        size += len(chunk)
        if size > cap:
            raise InvalidResponse(
                f"{label} holds more than {human_bytes(cap)}, the cap on an answer (max_body_size)",
                hint="a live answer this large would be refused too; raise BULKOP_MAX_BODY_SIZE",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(data: bytes, label: str) -> Any:
    import json

    from bulkop.api.http import excerpt

    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        where = f" ({e.msg} at line {e.lineno} column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        raise InvalidResponse(
            f"{label} is not JSON{where}: {excerpt(data)}",
            hint="save the body alone (curl -s, not curl -i or -v)",
        ) from None


def _id_from(defn: ProviderDefinition, body: Any) -> str:
    """The id to read the body as when --id is not given: the body's own, when it says it."""
    expr = defn.fields.get("id")
    value = None
    if expr is not None and isinstance(body, dict):
        try:
            value = expr.search(body)
        except Exception:  # normalize names the field and why it cannot be read
            value = None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    if defn.formats.get("id") == "uuid":
        raise UsageError(
            f"the body does not say which {defn.name} operation it is",
            hint="pass the id it answers with --id ID",
        )
    return "-"


def _check_echoed_id(defn: ProviderDefinition, op_id: str, echoed: object) -> None:
    """As for a live answer: a body about another operation is not an answer about this one."""
    if "id" not in defn.fields:
        return
    try:
        same = defn.check_id(str(echoed)) == op_id
    except UsageError:
        same = False
    if not same:
        raise InvalidResponse(
            f"it is about operation {clean(str(echoed), max_len=80)!r}, not the one asked for ({op_id})"
        )
