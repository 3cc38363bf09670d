"""Entry point for `bulkop` and `python -m bulkop`: answers --version before loading the CLI."""

from __future__ import annotations

import sys


def main() -> None:
    from bulkop.collector import hold

    hold()  # see bulkop.collector: a tenth of a short command's time
    # The only thing answered before the parser: importing Typer and the commands costs
    # ~5x a bare interpreter start, which `bulkop --version` in a loop should not pay.
    if sys.argv[1:] in (["--version"], ["-V"]):
        from bulkop import __version__

        if sys.stdout is None:  # `>&-`: nothing to print to, as asked
            return
        try:
            sys.stdout.write(f"bulkop {__version__}\n")
            sys.stdout.flush()
        except BrokenPipeError:
            from bulkop.cli import _broken_pipe

            sys.exit(_broken_pipe())
        except OSError as e:  # a device that refused the write (a full disk): exit 74
            from bulkop.cli import _output_failed
            from bulkop.errors import is_output_error

            if not is_output_error(e):
                raise
            sys.exit(_output_failed(None, e))
        return
    import os

    # httpcore imports anyio (an async toolkit) for its async pool when its connection pool
    # is first built; bulkop's process is synchronous throughout, so the import is start-up
    # time spent on nothing. Only here, in bulkop's own process: a program that imports
    # bulkop.api as a library keeps anyio. A None entry makes `import anyio` fail, which
    # httpcore expects (anyio is an optional extra of httpcore's).
    sys.modules.setdefault("anyio", None)  # type: ignore[arg-type]
    from bulkop.context import drop_insane_sizes

    drop_insane_sizes(os.environ)  # before Typer reads TERMINAL_WIDTH and Rich reads COLUMNS
    from bulkop.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
