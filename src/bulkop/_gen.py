"""Writes completions/ and man/ from the Typer app: `python -m bulkop._gen [--check] [--out DIR]`."""

from __future__ import annotations

import argparse
import difflib
import inspect
import os
import re
import shlex
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any, TextIO

import click
from click.shell_completion import BashComplete, FishComplete, ShellComplete, ZshComplete

from bulkop import __version__
from bulkop.cli.common import Doc, Epilog, Example
from bulkop.cli.docs import CONFIG_FILE, CONFIG_FILE_HELP, environment
from bulkop.errors import EXIT_CODE_HELP, EXIT_CODE_NAMES
from bulkop.settings import SETTINGS, show_value

PROG = "bulkop"
REGENERATE = "python -m bulkop._gen"
# The installed console script answers completions through click's protocol
# (`_BULKOP_COMPLETE=bash_complete` etc.), which these scripts speak.
COMPLETE_VAR = "_BULKOP_COMPLETE"
COMPLETIONS: dict[str, type[ShellComplete]] = {
    "completions/bulkop.bash": BashComplete,
    "completions/_bulkop": ZshComplete,  # `_NAME` is what zsh's fpath autoloading looks for
    "completions/bulkop.fish": FishComplete,
}
INSTALL = {
    "completions/bulkop.bash": "Install as /usr/share/bash-completion/completions/bulkop, "
    "or `source` it from ~/.bashrc.",
    "completions/_bulkop": "Install as _bulkop in a directory of $fpath (before compinit runs).",
    "completions/bulkop.fish": "Install as ~/.config/fish/completions/bulkop.fish.",
}
MAN_DIR = "man"

# The ENVIRONMENT section's first paragraph, on every page that has one.
ENVIRONMENT_INTRO = (
    "Settings come from, in order: command-line options, environment variables, "
    "the profile in the config file, built-in defaults. A profile chosen explicitly "
    "(--profile, BULKOP_PROFILE or PROFILE:ID) is not mixed with a provider SDK's "
    "variables (KNOCK_API_KEY, KNOCK_BASE_URL, SAYMON_LOGIN, SAYMON_PASSWORD); "
    "BULKOP_* variables and options still override it."
)


# --------------------------------------------------------------------------- the command tree


@dataclass
class Page:
    """One man page: a command of the tree and where it sits."""

    path: tuple[str, ...]  # ("bulkop", "config", "add")
    command: click.Command
    ctx: click.Context
    children: list[Page] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "-".join(self.path)

    @property
    def words(self) -> str:
        return " ".join(self.path)

    @property
    def file(self) -> str:
        return f"{MAN_DIR}/{self.name}.1"


def app_command() -> click.Command:
    """The click command tree Typer builds from `bulkop.cli.app` (a new one on every call)."""
    import typer

    from bulkop.cli import with_commands

    return typer.main.get_command(with_commands())


def pages(command: click.Command, prog: str = PROG) -> list[Page]:
    """Every visible command of the tree, depth first, in the order `--help` lists them."""
    found: list[Page] = []

    def visit(cmd: click.Command, path: tuple[str, ...], parent: click.Context | None) -> Page:
        # A context as click would make one (help option names are inherited), without parsing.
        ctx = click.Context(cmd, info_name=path[-1], parent=parent, **cmd.context_settings)
        page = Page(path, cmd, ctx)
        found.append(page)
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    page.children.append(visit(sub, (*path, name), ctx))
        return page

    visit(command, (prog,), None)
    return found


def visible_params(page: Page) -> list[click.Parameter]:
    return [p for p in page.command.get_params(page.ctx) if not getattr(p, "hidden", False)]


# --------------------------------------------------------------------------- help text


def plain(text: str | None) -> str:
    """Help text as `--help` shows it: plain text, never markup (cli.help escapes it for Rich)."""
    return inspect.cleandoc(text or "").partition("\f")[0]


def paragraphs(text: str) -> list[str]:
    """Paragraphs split on blank lines, single line breaks joined, as `--help` does."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def summary(cmd: click.Command) -> str:
    """The first sentence of a command's help, for NAME and command lists."""
    text = plain(cmd.short_help) if cmd.short_help else next(iter(paragraphs(plain(cmd.help))), "")
    return re.split(r"(?<=\.)\s", text, maxsplit=1)[0].rstrip(".")


def split_epilog(epilog: str | None) -> Doc:
    """What a command's epilog was built from (cli.common.Doc): examples, notes, exit codes."""
    return epilog.doc if isinstance(epilog, Epilog) else Doc()


# --------------------------------------------------------------------------- roff

_GLYPHS = {
    "\\": r"\e",
    "-": r"\-",  # a minus, so options and commands survive copy and paste
    "'": r"\(aq",  # groff turns plain quotes, backticks, carets and tildes into
    "`": r"\(ga",  # typographic ones that a shell would not accept
    "^": r"\(ha",
    "~": r"\(ti",
    "\t": " ",
    # Typographic characters as glyphs every groff device has, the terminal ones falling
    # back to ASCII; any other non-ASCII character becomes \[uXXXX].
    "\u2026": "...",
    "\u2014": r"\(em",
    "\u2013": r"\(en",
    "\u2018": r"\(oq",
    "\u2019": r"\(cq",
    "\u201c": r"\(lq",
    "\u201d": r"\(rq",
    "\u00a0": r"\~",
    "\u00d7": r"\(mu",
    "\u2192": r"\(->",
    "\u2265": r"\(>=",
    "\u2264": r"\(<=",
    "\u2022": r"\(bu",
}


def esc(text: str) -> str:
    """Plain text → roff text: special characters escaped, non-ASCII as \\[uXXXX]."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _GLYPHS:
            out.append(_GLYPHS[ch])
        elif code < 32 or code == 127:
            continue
        elif code > 126:
            out.append(f"\\[u{code:04X}]")
        else:
            out.append(ch)
    return "".join(out)


def bold(text: str) -> str:
    return rf"\fB{esc(text)}\fR"


def italic(text: str) -> str:
    return rf"\fI{esc(text)}\fR"


def prose(text: str) -> str:
    """Prose with `code` spans in bold, as a man page shows literal text."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unmatched backtick is just a character
        return esc(text)
    return "".join(bold(p) if i % 2 else esc(p) for i, p in enumerate(parts))


def line(text: str) -> str:
    """One input line; a leading dot would be read as a request."""
    return rf"\&{text}" if text.startswith((".", "'")) else text


def quoted_arg(text: str) -> str:
    return '"' + esc(text).replace('"', r"\(dq") + '"'


class Roff:
    """A man page being written: requests and text lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def req(self, request: str, *args: str) -> None:
        self.lines.append(" ".join((f".{request}", *args)))

    def text(self, text: str) -> None:
        for part in text.splitlines():
            if part.strip():
                self.lines.append(line(part.strip()))

    def literal(self, text: str) -> None:
        """A line of no-fill text, its spacing kept."""
        self.lines.append(line(text))

    def section(self, title: str) -> None:
        self.req("SH", quoted_arg(title) if " " in title else esc(title))

    def item(self, tag: str, body: str, indent: str | None = None) -> None:
        self.req("TP", *([indent] if indent else []))
        self.text(tag)
        self.text(body)

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"


# --------------------------------------------------------------------------- options


def _value(value: Any) -> str:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, (list, tuple)):
        return ", ".join(_value(v) for v in value)
    return show_value(value)


def _choices(param: click.Parameter) -> list[str] | None:
    if isinstance(param.type, click.Choice):
        return [_value(c) for c in param.type.choices]
    metavar = getattr(param, "metavar", None) or ""
    # A metavar like "knock|saymon" lists literal values, as a Choice would.
    return metavar.split("|") if "|" in metavar else None


def _metavar(param: click.Parameter, ctx: click.Context) -> str:
    if isinstance(param, click.Option) and (param.is_flag or param.count):
        return ""
    choices = _choices(param)
    if choices:  # literal values in bold, a placeholder among them (e.g. SECONDS) in italic
        return "{" + "|".join(italic(c) if c.isupper() else bold(c) for c in choices) + "}"
    metavar = param.make_metavar(ctx)
    if param.metavar is None and isinstance(param.type, (click.IntRange, click.FloatRange)):
        # Click says "INTEGER RANGE"; the range itself is spelled out in the description.
        metavar = metavar.replace(" RANGE", "")
    dots = "..." if metavar.endswith("...") else ""
    return italic(metavar.removesuffix("...").strip("[]")) + dots


def option_tag(param: click.Option, ctx: click.Context) -> str:
    # Short forms first, as man pages list them.
    names = sorted(param.opts, key=lambda o: o.startswith("--"))
    tag = ", ".join(bold(n) for n in names)
    if param.secondary_opts:
        tag += " / " + ", ".join(bold(n) for n in param.secondary_opts)
    metavar = _metavar(param, ctx)
    return f"{tag} {metavar}" if metavar else tag


def _range(kind: Any) -> str | None:
    if not isinstance(kind, (click.IntRange, click.FloatRange)):
        return None
    low, high = kind.min, kind.max
    if low is not None and high is not None:
        return f"Range: {_value(low)} to {_value(high)}."
    if low is not None:
        return f"Range: {'more than' if kind.min_open else 'at least'} {_value(low)}."
    if high is not None:
        return f"Range: {'less than' if kind.max_open else 'at most'} {_value(high)}."
    return None


def _default(param: click.Parameter, ctx: click.Context) -> str | None:
    show = getattr(param, "show_default", None)
    if isinstance(show, str):
        return show
    if not (show or ctx.show_default):
        return None
    if isinstance(param, click.Option) and param.is_flag and not param.secondary_opts:
        return None  # a flag's default is being absent
    default = param.get_default(ctx, call=False)
    if default is None or callable(default) or default == ():
        return None
    return _value(default)


def param_help(param: click.Parameter, ctx: click.Context) -> str:
    """The help text plus what `--help` shows in brackets: default, range, required."""
    parts = [" ".join(plain(getattr(param, "help", None)).split())]
    if param.required:
        parts.append("Required.")
    if (default := _default(param, ctx)) is not None:
        parts.append(f"Default: `{default}`.")
    if (span := _range(param.type)) is not None:
        parts.append(span)
    # Variables are named in the help itself (from the settings table), not as click envvars.
    if isinstance(param, click.Option) and param.multiple:
        parts.append("May be given more than once.")
    return " ".join(p for p in parts if p)


def panels(page: Page) -> list[tuple[str, list[click.Option]]]:
    """Options grouped like `--help` groups them: "Options" first, then each panel in turn."""
    groups: dict[str, list[click.Option]] = {"Options": []}
    for param in visible_params(page):
        if isinstance(param, click.Option):
            groups.setdefault(getattr(param, "rich_help_panel", None) or "Options", []).append(param)
    return [(title, opts) for title, opts in groups.items() if opts]


# --------------------------------------------------------------------------- the pages


def man_page(page: Page, tree: Sequence[Page], date: str) -> str:
    """The roff source of one page; `tree` is every page, the root first."""
    r = Roff()
    r.lines.append(rf".\" Generated by {esc(REGENERATE)} from the Typer app; do not edit.")
    r.req(
        "TH", esc(page.name.upper()), "1", f'"{date}"', quoted_arg(f"{PROG} {__version__}"), quoted_arg("User Commands")
    )
    # No hyphenation (an option name broken across lines cannot be copied) and a ragged right.
    r.req("nh")
    r.req("ad", "l")
    for write_section in (
        _name,
        _synopsis,
        _description,
        _commands,
        _arguments,
        _options,
        _exit_status,
        _environment,
        _files,
        _examples,
        _see_also,
    ):
        write_section(r, page, tree)
    return r.render()


def _name(r: Roff, page: Page, tree: Sequence[Page]) -> None:
    r.section("NAME")
    # whatis(1) shows this line as it is: no font changes, so no code spans either.
    text = summary(page.command).replace("`", "") or page.words
    r.text(f"{esc(page.name)} \\- {esc(text)}")


def _synopsis(r: Roff, page: Page, tree: Sequence[Page]) -> None:
    r.section("SYNOPSIS")
    usage = " ".join(page.command.collect_usage_pieces(page.ctx))
    r.text(f"{bold(page.words)} {_usage(usage)}")
    if page is tree[0] and any("--version" in getattr(p, "opts", ()) for p in visible_params(page)):
        r.req("br")
        r.text(f"{bold(page.words)} {bold('--version')}")


def _description(r: Roff, page: Page, tree: Sequence[Page]) -> None:
    r.section("DESCRIPTION")
    for i, para in enumerate(paragraphs(plain(page.command.help))):
        if i:
            r.req("PP")
        r.text(prose(para))
    if page is not tree[0]:
        r.req("PP")
        r.text(f"The options of {bold(PROG)}(1) may also be given before the command name.")
    doc = split_epilog(page.command.epilog)
    for note in doc.notes:
        r.req("PP")
        r.text(prose(note))
    if doc.terms:
        r.req("SS", quoted_arg(doc.terms_title))
    for term in doc.terms:
        r.item(bold(term.name) + (f" ({italic(term.kind)})" if term.kind else ""), prose(term.text))


def _commands(r: Roff, page: Page, tree: Sequence[Page]) -> None:
    if page.children:
        r.section("COMMANDS")
        for sub in _descendants(page):
            r.item(bold(sub.words), f"{prose(summary(sub.command))}. See {bold(sub.name)}(1).")


def _arguments(r: Roff, page: Page, tree: Sequence[Page]) -> None:
    arguments = [p for p in visible_params(page) if isinstance(p, click.Argument)]
    if arguments:
        r.section("ARGUMENTS")
        for arg in arguments:
            r.item(_metavar(arg, page.ctx), prose(param_help(arg, page.ctx)))


def _options(r: Roff, page: Page, tree: Sequence[Page]) -> None:
    groups = panels(page)
    if groups:
        r.section("OPTIONS")
    for title, options in groups:
        if len(groups) > 1:
            r.req("SS", quoted_arg(title))
        for opt in options:
            r.item(option_tag(opt, page.ctx), prose(param_help(opt, page.ctx)))


def _exit_status(r: Roff, page: Page, tree: Sequence[Page]) -> None:
    r.section("EXIT STATUS")
    # A command's own "Exit codes: ..." line, unless it only repeats the one of bulkop(1).
    note = split_epilog(page.command.epilog).exit_codes
    if note and note != split_epilog(tree[0].command.epilog).exit_codes:
        r.text(prose(note))
    codes = sorted(EXIT_CODE_HELP)
    # One indent wide enough for every tag keeps the descriptions in one column.
    width = max(len(f"{int(c)} ({EXIT_CODE_NAMES[c]})") for c in codes) + 2
    for i, code in enumerate(codes):
        r.item(
            f"{bold(str(int(code)))} ({esc(EXIT_CODE_NAMES[code])})",
            prose(EXIT_CODE_HELP[code]),
            indent=None if i else f"{width}n",
        )


_SETTING_FLAGS = {s.option_help for s in SETTINGS if s.flag}  # a setting's flag, as cli/ builds it


def _environment(r: Roff, page: Page, tree: Sequence[Page]) -> None:
    """All variables on bulkop(1); on a page whose help names any, those that concern it."""
    if page is tree[0]:
        variables = environment()
    else:
        # A page that takes a setting's flag, or whose help names a variable as options do.
        takes_setting = any(getattr(p, "help", None) in _SETTING_FLAGS for p in visible_params(page))
        if not takes_setting and "(env: " not in plain(page.command.help):
            return
        variables = [v for v in environment() if v.command in (None, page.path[1])]
    r.section("ENVIRONMENT")
    r.text(esc(ENVIRONMENT_INTRO))
    for var in variables:
        r.item(bold(var.name), prose(var.help))


def _files(r: Roff, page: Page, tree: Sequence[Page]) -> None:
    # The config file concerns `bulkop config ...` and every command that takes a profile.
    takes_profile = any("--profile" in getattr(p, "opts", ()) for p in visible_params(page))
    if page is tree[0] or page.path[1] == "config" or takes_profile:
        r.section("FILES")
        r.item(italic(CONFIG_FILE), prose(CONFIG_FILE_HELP))


def _examples(r: Roff, page: Page, tree: Sequence[Page]) -> None:
    """A command's examples; bulkop(1) collects every command's, each shown once."""
    groups: dict[str, list[Example]] = {}
    seen: set[Example] = set()
    for source in tree if page is tree[0] else [page]:
        for example in split_epilog(source.command.epilog).examples:
            if example not in seen:
                seen.add(example)
                groups.setdefault("" if source is page else source.words, []).append(example)
    if not groups:
        return
    r.section("EXAMPLES")
    for title, examples in groups.items():
        if title:
            r.req("SS", quoted_arg(title))
        for example in examples:
            r.req("PP")
            if example.prose:
                r.text(prose(" ".join(example.lines)))
                continue
            r.req("nf")
            for printed in example.printed:
                for shown in example_lines(printed):
                    r.literal(esc(shown))
            r.req("fi")


def _see_also(r: Roff, page: Page, tree: Sequence[Page]) -> None:
    others = sorted(p.name for p in _related(page, tree))
    if others:
        r.section("SEE ALSO")
    for i, name in enumerate(others):
        r.req("BR", esc(name), "(1)" + ("," if i < len(others) - 1 else ""))


def _usage(usage: str) -> str:
    # Metavars (words in capitals) are replaceable, so italic; the rest is literal.
    parts = re.split(r"([A-Z][A-Z0-9_]*)", usage)
    return "".join(italic(p) if i % 2 else esc(p) for i, p in enumerate(parts))


def _descendants(page: Page) -> Iterator[Page]:
    for child in page.children:
        yield child
        yield from _descendants(child)


def _related(page: Page, tree: Sequence[Page]) -> list[Page]:
    """Root: every other page. Others: the root, their ancestors, siblings and descendants."""
    if len(page.path) == 1:
        return [p for p in tree if p is not page]
    return [
        p
        for p in tree
        if p is not page
        and (
            p.path == page.path[: len(p.path)]  # an ancestor
            or p.path[:-1] == page.path[:-1]  # a sibling
            or p.path[: len(page.path)] == page.path  # a descendant
        )
    ]


EXAMPLE_WIDTH = 72  # with the section's 7-column indent, fits an 80-column terminal


def example_lines(printed: str) -> list[str]:
    """A line of an example as the man page prints it: a comment after a command that would not
    fit goes on the line before it (tests keep each part within EXAMPLE_WIDTH)."""
    command, sep, comment = printed.partition("  # ")
    return [f"# {comment}", command.rstrip()] if sep and len(printed) > EXAMPLE_WIDTH else [printed]


# --------------------------------------------------------------------------- files


def date_from_env(env: Mapping[str, str]) -> str:
    """The .TH date: from SOURCE_DATE_EPOCH (reproducible builds), or none at all."""
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return ""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%d")


def completion_script(path: str, command: click.Command) -> str:
    comp = COMPLETIONS[path](command, {}, PROG, COMPLETE_VAR)
    # ShellComplete.source, not BashComplete.source: the latter runs the local bash to warn
    # about its version, a side effect with no bearing on the script.
    script = ShellComplete.source(comp).strip("\n")
    header = f"# Generated by {REGENERATE} from the Typer app; do not edit.\n# {INSTALL[path]}"
    first, _, rest = script.partition("\n")
    if first.startswith("#compdef"):  # zsh reads it only as the very first line
        return f"{first}\n{header}\n{rest}\n"
    return f"{header}\n{script}\n"


def generate(command: click.Command | None = None, *, date: str | None = None) -> dict[str, str]:
    """Every generated file: path relative to the project → content."""
    command = command if command is not None else app_command()
    date = date_from_env(os.environ) if date is None else date
    tree = pages(command)
    files = {path: completion_script(path, command) for path in COMPLETIONS}
    for page in tree:
        files[page.file] = man_page(page, tree, date)
    return dict(sorted(files.items()))


def stale(out: Path, files: Mapping[str, str]) -> list[tuple[str, str]]:
    """(path, why) for every file that differs from what would be generated."""
    found = []
    for path, content in files.items():
        target = out / path
        if not target.exists():
            found.append((path, "missing"))
        elif target.read_text(encoding="utf-8") != content:
            found.append((path, "differs"))
    for path in _leftovers(out, files):
        found.append((path, "no longer generated"))
    return sorted(found)


def _leftovers(out: Path, files: Mapping[str, str]) -> list[str]:
    # Pages of commands that were removed or renamed; other files there are left alone.
    man = out / MAN_DIR
    if not man.is_dir():
        return []
    return sorted(f"{MAN_DIR}/{p.name}" for p in man.glob(f"{PROG}*.1") if f"{MAN_DIR}/{p.name}" not in files)


def write(out: Path, files: Mapping[str, str]) -> list[str]:
    """Write the files that changed and remove leftovers; returns what was touched."""
    touched = []
    for path, why in stale(out, files):
        target = out / path
        if why == "no longer generated":
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(files[path], encoding="utf-8", newline="\n")
        touched.append(path)
    return touched


def _diff(out: Path, path: str, content: str, limit: int = 12) -> list[str]:
    target = out / path
    old = target.read_text(encoding="utf-8").splitlines() if target.exists() else []
    lines = list(difflib.unified_diff(old, content.splitlines(), path, f"{path} (generated)", n=0, lineterm=""))
    return lines[:limit] + ([f"... ({len(lines) - limit} more diff lines)"] if len(lines) > limit else [])


def project_root() -> Path:
    """The checkout this module lives in (src/bulkop/_gen.py), else the working directory."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def main(
    argv: Sequence[str] | None = None,
    command: click.Command | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """The `python -m bulkop._gen` command; `command` lets tests generate from another tree."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="compare with the files on disk and exit 1 if any is out of date"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where completions/ and man/ go (default: the project root)",
    )
    args = parser.parse_args(argv)
    out: Path = args.out or project_root()
    files = generate(command)
    if args.check:
        problems = stale(out, files)
        if not problems:
            stdout.write(f"{len(files)} generated files in {out} are up to date\n")
            return 0
        stderr.write(f"Generated files in {out} are out of date:\n")
        for path, why in problems:
            stderr.write(f"  {path} ({why})\n")
        for path, why in problems:
            if why == "differs":
                stderr.write("\n".join(_diff(out, path, files[path])) + "\n")
        where = f" --out {shlex.quote(str(args.out))}" if args.out else ""
        stderr.write(f"Regenerate them with: {REGENERATE}{where}\n")
        return 1
    touched = write(out, files)
    stdout.write(f"{len(touched)} of {len(files)} files updated in {out}\n")
    for path in touched:
        stdout.write(f"  {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
