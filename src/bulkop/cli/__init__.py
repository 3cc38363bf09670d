"""The command line: the app, its global options, and the process entry where every error becomes
its exit code. Each verb is wired in its own module (cli/get.py, …) and registers itself."""

from __future__ import annotations

import functools
import os
import sys
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from bulkop import __version__
from bulkop.cli.common import EXIT_CODES_EPILOG, STATUS_POLL_LOOP, Color, ColorOpt, Debug, Doc, Profile, context
from bulkop.context import Context
from bulkop.errors import BulkopError

__all__ = ["STATUS_POLL_LOOP", "app", "main", "run"]

# Each verb's command name and the module under cli/ that wires it, in the order `--help` lists them.
VERBS = {
    "get": "get",
    "status": "status",
    "watch": "watch",
    "list": "listing",
    "config": "config",
    "demo": "demo",
    "providers": "providers",
}


class _LazyGroup(TyperGroup):
    """The root command of a run: a verb's click command is built (and its module imported) only
    when that verb is asked for. Typer builds every command's parameters from its function's
    signature, which for all seven verbs and their subcommands was a tenth of `bulkop get`'s
    time; `--help` and shell completion list every verb, and so build them all."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in VERBS:  # --help, completion and "did you mean" show every verb: built
            self.get_command(ctx, name)
        return super().list_commands(ctx)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in VERBS:  # a typo: "did you mean" looks among the built ones
            self.list_commands(ctx)
        return super().resolve_command(ctx, args)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in VERBS and name not in self.commands:
            command = _verb_command(name)
            if getattr(self, "_bulkop_escaped", False):  # help already escaped the tree it had
                from bulkop.cli.help import escape_tree

                escape_tree(command)
            self.add_command(command, name)
        return super().get_command(ctx, name)


def _new_app(cls: type[TyperGroup] = TyperGroup) -> typer.Typer:
    """An app with bulkop's settings and root options (a group, so that a lone verb keeps its
    name); verbs are registered on it afterwards."""
    new = typer.Typer(
        name="bulkop",
        cls=cls,
        epilog=Doc(exit_codes=EXIT_CODES_EPILOG).epilog(),
        no_args_is_help=True,
        add_completion=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        pretty_exceptions_enable=False,
    )
    new.callback()(root)
    return new


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"bulkop {__version__}\n")
        raise typer.Exit(0)


def root(
    ctx: typer.Context,
    profile: Profile = None,
    color: ColorOpt = Color.auto,
    debug: Debug = False,
    no_journal: Annotated[
        bool,
        typer.Option("--no-journal", help="Do not read or write the journal of operations (env: BULKOP_NO_JOURNAL=1)."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", "-V", help="Show the version and exit.", is_eager=True, callback=_version),
    ] = False,
) -> None:
    """Inspect and watch long-running bulk operations on HTTP APIs (Knock, SAYMON).

    `bulkop get` shows operations, `bulkop status` says in one line and its exit code whether one has ended, and `bulkop watch` follows operations until they end. Endpoints and credentials come from options, environment variables or a profile (`bulkop config`).
    """
    c = context(ctx)
    c.profile, c.color, c.debug, c.no_journal = profile, color.value, debug, no_journal


app = _new_app()  # every verb registered on it by with_commands(): the whole tree, for _gen and tests


def _register(target: typer.Typer, name: str) -> None:
    """Verb `name`'s module registers it on `target`. Imported here, not at the top: each verb
    module imports cli.common and so this package, which at the top would be an import cycle."""
    import importlib

    importlib.import_module(f"bulkop.cli.{VERBS[name]}").register(target)


@functools.cache
def with_commands() -> typer.Typer:
    """The app with every verb registered, in the order `--help` lists them (for _gen and tests;
    a run builds only its own verb, see _LazyGroup)."""
    for name in VERBS:
        _register(app, name)
    return app


def _verb_command(name: str) -> click.Command:
    """One verb's click command, built as Typer builds it inside the whole app."""
    from bulkop.cli.help import install

    holder = _new_app()
    _register(holder, name)
    group = typer.main.get_command(holder)
    assert isinstance(group, click.Group)
    command = group.commands[name]
    install(command)
    return command


# --------------------------------------------------------------------------- process entry


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    open_closed_std_streams()
    _buffer_std_streams()
    try:
        # Completion speaks click's protocol (`_BULKOP_COMPLETE=bash_complete`), as the scripts
        # in completions/ do; Typer's own handler expects `complete_bash` and refuses click's form.
        if instruction := os.environ.get("_BULKOP_COMPLETE"):
            from click.shell_completion import shell_complete

            code: int = shell_complete(_root(), {}, "bulkop", "_BULKOP_COMPLETE", instruction)
        else:
            code = run(args)
        code = _flush_std_streams(code)
    except BrokenPipeError:  # stderr's reader went away while an error was being reported
        code = _broken_pipe()
    except OSError as e:
        from bulkop.errors import is_output_error

        if not is_output_error(e):
            raise
        code = _output_failed(None, e)
    sys.exit(code)


def open_closed_std_streams() -> None:
    """A standard stream the caller closed (`>&-`, `2>&-`, `<&-`) reads as /dev/null: what
    would have been written is discarded (as asked) and the exit code is the command's own,
    instead of an AttributeError on None."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))  # noqa: SIM115 (lives as long as the process)


def _buffer_std_streams() -> None:
    """Give stdout and stderr a buffered layer even under PYTHONUNBUFFERED=1 (or `python -u`).

    Unbuffered, a TextIOWrapper writes straight to the raw file and ignores a short write: when
    the reader of a pipe leaves mid-write the kernel returns the bytes it took, the rest is
    dropped silently and the command exits 0 instead of 141. A BufferedWriter writes until all
    is written or the write fails (BrokenPipeError). Commands flush where promptness matters.
    """
    import io

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        raw = getattr(stream, "buffer", None)
        if isinstance(stream, io.TextIOWrapper) and isinstance(raw, io.RawIOBase):
            wrapper = io.TextIOWrapper(
                io.BufferedWriter(raw),
                encoding=stream.encoding,
                errors=stream.errors,
                line_buffering=name == "stderr" or stream.line_buffering,
            )
            setattr(sys, name, wrapper)


def _flush_std_streams(code: int) -> int:
    """Flush stdout and stderr before the interpreter does: a reader that went away is exit
    141, silently; a device that refused the write (a full disk) is exit 74.

    Without this the final flush happens at interpreter shutdown, where the error is "Exception
    ignored" on stderr and the exit code is 120 (only PYTHONUNBUFFERED hid it).
    """
    from bulkop.errors import is_output_error

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            return _broken_pipe()
        except OSError as e:
            if not is_output_error(e):
                raise
            return _output_failed(None, e)
        except ValueError:  # closed already
            pass
    return code


@functools.cache
def _command() -> click.Command:
    """The whole click command tree, every verb built (for _gen, tests and introspection)."""
    from bulkop.cli.help import install

    command = typer.main.get_command(with_commands())
    install(command)  # options' names are never cut in --help
    return command


@functools.cache
def _root() -> click.Group:
    """The command a run parses with: the root options, and each verb built when it is named."""
    from bulkop.cli.help import install

    holder = _new_app(_LazyGroup)
    group = typer.main.get_command(holder)
    assert isinstance(group, _LazyGroup)
    install(group)  # the verbs are installed as they are built
    return group


def run(args: list[str], ctx: Context | None = None) -> int:
    """Run the CLI; every error becomes its documented exit code here and nowhere else."""
    import signal

    from bulkop.errors import ExitCode, Terminated

    ctx = ctx or Context()

    def on_sigterm(signum: int, frame: object) -> None:
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    except ValueError:  # not the main thread (tests calling run() from a worker)
        previous = None
    command = _root()
    try:
        # Parse and invoke without Typer's `main`, which would turn Ctrl-C and a broken pipe
        # into exit codes of its own: every exit code is decided below, and nowhere else.
        with command.make_context("bulkop", list(args), obj=ctx) as click_ctx:
            command.invoke(click_ctx)
        return 0
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.exceptions.Abort:
        ctx.stderr.write("bulkop: interrupted\n")
        return ExitCode.INTERRUPTED
    except click.ClickException as e:
        ctx.json_errors = ctx.json_errors or _asks_for_json(args)
        _usage_error(ctx, e)
        return ExitCode.USAGE
    except BulkopError as e:
        return _fail(ctx, e)
    except KeyboardInterrupt:
        ctx.stderr.write("bulkop: interrupted\n")
        return ExitCode.INTERRUPTED
    except Terminated:
        ctx.stderr.write("bulkop: terminated\n")
        return ExitCode.TERMINATED
    except BrokenPipeError:
        return _broken_pipe()
    except SystemExit as e:
        # Rich answers a broken pipe with SystemExit(1) of its own (Console.on_broken_pipe).
        if isinstance(e.__context__, BrokenPipeError):
            return _broken_pipe()
        raise
    except Exception as e:  # a bug: one line, and the traceback only with --debug
        if isinstance(e.__context__, BrokenPipeError) or (isinstance(e, OSError) and e.errno == 32):
            return _broken_pipe()
        from bulkop.errors import InternalError, is_output_error

        refused = next((x for x in (e, e.__context__) if x is not None and is_output_error(x)), None)
        if refused is not None:  # a full disk under stdout is no bug: its own exit code
            return _output_failed(ctx, refused)

        return _fail(
            ctx, InternalError(f"internal error: {type(e).__name__}: {e}", hint="rerun with --debug and report it")
        )
    finally:
        ctx.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _fail(ctx: Context, err: BulkopError) -> int:
    from bulkop.errors import InternalError

    ctx.report(err)
    if ctx.debug and isinstance(err, InternalError):  # a bug: the traceback is for its report
        import traceback

        traceback.print_exc(file=ctx.stderr)
    return err.exit_code


def _broken_pipe() -> int:
    # The reader went away (`| head`, `2>&1 | head`): say nothing more.
    _silence_std_streams()
    from bulkop.errors import ExitCode

    return ExitCode.PIPE


def _output_failed(ctx: Context | None, e: BaseException) -> int:
    """A standard stream refused a write (ENOSPC, EIO): one line saying so on stderr if stderr
    still takes it, then exit 74; what stdout still holds is dropped."""
    from bulkop.errors import OutputError

    reason = getattr(e, "strerror", None) or type(e).__name__
    err = OutputError(f"cannot write the output ({reason})", hint="check the disk or the device it goes to")
    _silence_std_streams(keep_stderr=True)
    try:
        if ctx is not None:
            ctx.report(err)
        else:
            sys.stderr.write(f"bulkop: error: {err.message}; {err.hint}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        _silence_std_streams()
    return err.exit_code


def _silence_std_streams(keep_stderr: bool = False) -> None:
    """Point stdout (and stderr) at /dev/null, so that neither a later write nor Python's own
    flush at exit meets the failed stream again ("Exception ignored", exit 120)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for stream in (sys.stdout,) if keep_stderr else (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
            stream.flush()  # what it still holds now goes to /dev/null too
        except (OSError, ValueError, AttributeError):
            pass


def _usage_error(ctx: Context, e: click.ClickException) -> None:
    from bulkop.errors import UsageError

    message = _dedupe_sentences(e.format_message()).rstrip(".")
    if not message:  # `bulkop` or `bulkop config` alone: the help was the answer
        return
    sub = getattr(e, "ctx", None)
    where = sub.command_path if sub is not None else "bulkop"
    hint = f"see `{where} --help`"
    option = getattr(e, "option_name", "") or ""
    if isinstance(e, click.NoSuchOption) and option[1:].replace(".", "", 1).isdigit():
        # `config set p max_errors -1`: a negative number reads as an option; `--` ends them.
        hint = f"a value that starts with '-' goes after `--`: `{where} … -- VALUE`"
    ctx.report(UsageError(message, hint=hint))


def _asks_for_json(args: list[str]) -> bool:
    """Whether the command line asked for JSON output, read from the words alone: a usage error
    is found before any command has run, and a script reading JSON must get its error as JSON."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("-o", "--output") and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--output="):
            value = arg.removeprefix("--output=")
        elif arg.startswith("-o") and not arg.startswith("--"):
            value = arg[2:].removeprefix("=")
        else:
            continue
        if value.lower() in ("json", "jsonl"):
            return True
    return False


def _dedupe_sentences(message: str) -> str:
    """Typer and Click both append "Did you mean 'get'?" to an unknown command: say it once."""
    import re

    sentences = re.split(r"(?<=[.?!])\s+", message.strip())
    kept = [s for i, s in enumerate(sentences) if s not in sentences[:i]]
    return " ".join(kept)
