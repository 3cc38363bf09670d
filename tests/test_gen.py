"""Generated docs: man pages and completions come from the Typer app, are good roff and current."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from bulkop import _gen
from bulkop.cli.common import Doc, Term, prose
from bulkop.cli.common import shell as shell_example
from bulkop.errors import EXIT_CODE_HELP
from bulkop.settings import SETTINGS
from conftest import minimal_env, run_cli

# The console script is installed next to the interpreter running the tests.
BULKOP = shutil.which("bulkop", path=str(Path(sys.executable).parent))
# Read outside the settings table, so only a test keeps their documentation from drifting.
OTHER_ENV = (
    "BULKOP_PROFILE",
    "BULKOP_CONFIG",
    "NO_COLOR",
    "FORCE_COLOR",
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "KNOCK_API_KEY",
    "KNOCK_BASE_URL",
    "SAYMON_LOGIN",
    "SAYMON_PASSWORD",
)
PROTOCOL_HINT = (
    "the shipped scripts speak click's completion protocol (_BULKOP_COMPLETE=bash_complete); "
    "Typer's own handler expects `complete_bash` and rejects it, so bulkop.cli.main must hand "
    "_BULKOP_COMPLETE to click.shell_completion.shell_complete"
)


@pytest.fixture(autouse=True)
def _no_build_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return _gen.generate(date="")


@pytest.fixture(scope="module")
def tree() -> list[_gen.Page]:
    return _gen.pages(_gen.app_command())


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory, files: dict[str, str]) -> Path:
    """The generated files, written to a fresh directory."""
    directory = tmp_path_factory.mktemp("generated")
    _gen.write(directory, files)
    return directory


def section(page: str, title: str) -> str:
    """The roff source of one section (`.SH TITLE` up to the next `.SH`)."""
    m = re.search(rf'^\.SH "?{re.escape(title)}"?\n(.*?)(?=^\.SH |\Z)', page, re.M | re.S)
    assert m, f"no {title} section"
    return m.group(1)


def run_check(argv: list[str], command: click.Command | None = None) -> tuple[int, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = _gen.main(argv, command=command, stdout=stdout, stderr=stderr)
    return code, stdout.getvalue() + stderr.getvalue()


# --------------------------------------------------------------------------- --check


def test_check_passes_on_the_committed_files() -> None:
    code, output = run_check(["--check"])
    assert code == 0, output


def test_check_fails_with_the_command_to_run_when_a_help_text_changed() -> None:
    command = _gen.app_command()
    assert isinstance(command, click.Group)
    command.commands["get"].help = "Show operations, described differently."

    code, output = run_check(["--check"], command)

    assert code == 1
    assert "man/bulkop-get.1 (differs)" in output
    assert "man/bulkop.1 (differs)" in output  # its COMMANDS list quotes the summary
    assert "Regenerate them with: python -m bulkop._gen\n" in output


def test_check_names_missing_and_leftover_files_and_writing_fixes_them(tmp_path: Path, files: dict[str, str]) -> None:
    _gen.write(tmp_path, files)
    (tmp_path / "man/bulkop-status.1").unlink()
    (tmp_path / "man/bulkop-retired.1").write_text(".TH OLD 1\n")
    (tmp_path / "man/README").write_text("not ours\n")

    code, output = run_check(["--check", "--out", str(tmp_path)])
    assert code == 1
    assert "man/bulkop-status.1 (missing)" in output
    assert "man/bulkop-retired.1 (no longer generated)" in output
    assert f"python -m bulkop._gen --out {tmp_path}" in output

    assert run_check(["--out", str(tmp_path)])[0] == 0
    code, output = run_check(["--check", "--out", str(tmp_path)])
    assert (code, output) == (0, f"{len(files)} generated files in {tmp_path} are up to date\n")
    assert not (tmp_path / "man/bulkop-retired.1").exists()
    assert (tmp_path / "man/README").exists()


def test_output_is_deterministic_and_dated_only_by_source_date_epoch(
    monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> None:
    assert _gen.generate() == files
    assert files["man/bulkop.1"].splitlines()[1] == (f'.TH BULKOP 1 "" "bulkop {_gen.__version__}" "User Commands"')
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dated = _gen.generate()
    assert '.TH BULKOP\\-GET 1 "2023-11-14" ' in dated["man/bulkop-get.1"]


# --------------------------------------------------------------------------- content


def test_there_is_a_page_for_every_command(files: dict[str, str], tree: list[_gen.Page]) -> None:
    pages = {name for name in files if name.startswith("man/")}
    assert pages == {page.file for page in tree}
    assert {
        "man/bulkop.1",
        "man/bulkop-get.1",
        "man/bulkop-status.1",
        "man/bulkop-watch.1",
        "man/bulkop-config.1",
        "man/bulkop-demo.1",
    } <= pages
    config = next(p for p in tree if p.path == ("bulkop", "config"))
    assert config.children, "bulkop config has no subcommands"
    for sub in config.children:
        assert f"man/bulkop-config-{sub.path[-1]}.1" in pages


def test_every_option_and_argument_of_every_command_is_on_its_page(
    files: dict[str, str], tree: list[_gen.Page]
) -> None:
    for page in tree:
        source = files[page.file]
        options = section(source, "OPTIONS")
        for param in _gen.visible_params(page):
            if isinstance(param, click.Option):
                for name in param.opts + param.secondary_opts:
                    assert _gen.bold(name) in options, f"{name} missing from {page.file}"
            else:
                metavar = param.make_metavar(page.ctx).removesuffix("...").strip("[]")
                assert _gen.italic(metavar) in section(source, "ARGUMENTS"), page.file


def test_the_main_page_has_every_section(files: dict[str, str], tree: list[_gen.Page]) -> None:
    page = files["man/bulkop.1"]
    for title in (
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "COMMANDS",
        "OPTIONS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ):
        section(page, title)
    exit_status = section(page, "EXIT STATUS")
    for code in EXIT_CODE_HELP:
        assert f"\\fB{int(code)}\\fR" in exit_status
    assert "config.toml" in section(page, "FILES")
    see_also = section(page, "SEE ALSO")
    for other in tree[1:]:
        assert f".BR {_gen.esc(other.name)} (1)" in see_also


def test_environment_covers_the_settings_table_and_every_variable_a_help_text_names(
    files: dict[str, str], tree: list[_gen.Page]
) -> None:
    environment = section(files["man/bulkop.1"], "ENVIRONMENT")
    named = {var for s in SETTINGS for var in s.env}
    named |= {var for s in SETTINGS for names in s.provider_env.values() for var in names}
    named |= set(OTHER_ENV)
    for page in tree:
        for text in [page.command.help] + [getattr(p, "help", None) for p in page.command.params]:
            for mention in re.findall(r"\benv:\s*([^;)]*)", _gen.plain(text)):
                named |= set(re.findall(r"\b[A-Z][A-Z0-9_]*[A-Z0-9]\b", mention))
    for var in sorted(named):
        assert f"\\fB{_gen.esc(var)}\\fR" in environment, var


def test_examples_come_from_each_commands_doc(files: dict[str, str], tree: list[_gen.Page]) -> None:
    everything = section(files["man/bulkop.1"], "EXAMPLES")
    with_examples = 0
    for page in tree:
        examples = _gen.split_epilog(page.command.epilog).examples
        with_examples += bool(examples)
        for example in examples:
            first = example.printed[0] if not example.prose else example.printed[0].split("`")[0]
            printed = _gen.esc(_gen.example_lines(first)[-1] if not example.prose else first)
            assert printed in section(files[page.file], "EXAMPLES"), page.file
            assert printed in everything
            assert f"  {example.printed[0]}" in page.command.epilog  # --help shows the same data
    assert with_examples >= 10


def test_every_example_line_fits_a_man_page(tree: list[_gen.Page]) -> None:
    """Examples are kept short here, not folded by the generator: each printed line, or the
    command and the comment after it once the comment moves to the line before, fits."""
    for page in tree:
        for example in _gen.split_epilog(page.command.epilog).examples:
            if example.prose:
                continue
            for printed in example.printed:
                for shown in _gen.example_lines(printed):
                    assert len(shown) <= _gen.EXAMPLE_WIDTH, f"{page.words}: {shown!r} is too long"


def test_a_long_command_goes_on_after_a_backslash_and_reads_as_one() -> None:
    example = shell_example('printf %s "$PW" | bulkop config add mon \\', "    --provider saymon --login ops")
    assert example.lines == ('printf %s "$PW" | bulkop config add mon --provider saymon --login ops',)
    assert shell_example("bulkop get $ID").lines == ("bulkop get $ID",)
    assert shell_example("a \\", "  b \\", "  c").lines == ("a b c",)
    assert _gen.example_lines("bulkop status $ID   # completed") == ["bulkop status $ID   # completed"]
    long = "bulkop status $ID --until 'processed_rows >= `500`'" + " " * 20 + "  # completed 1,000/1,000"
    assert _gen.example_lines(long) == [
        "# completed 1,000/1,000",
        "bulkop status $ID --until 'processed_rows >= `500`'",
    ]


def test_a_doc_is_the_epilog_help_shows_and_the_data_man_reads() -> None:
    doc = Doc(
        examples=(shell_example("bulkop get $ID"), prose("CI: `bulkop watch $ID` prints lines.")),
        notes=("Retries of [providers.NAME] are not counted.",),
        terms_title="Keys",
        terms=(Term("retries", "int", "How often."), Term("style", "", "`auto` or `never`.")),
        exit_codes="Exit codes: 0 ok, 1 failed.",
    )
    epilog = doc.epilog()
    assert epilog == (
        "Examples:\n\n  bulkop get $ID\n\n  CI: `bulkop watch $ID` prints lines.\n\n"
        "Retries of [providers.NAME] are not counted.\n\nKeys:\n\n  retries (int): How often.\n\n"
        "  style: `auto` or `never`.\n\nExit codes: 0 ok, 1 failed."
    )
    assert _gen.split_epilog(epilog) is doc
    assert _gen.split_epilog("Examples:\n\n  a text epilog is not parsed") == Doc()


# --------------------------------------------------------------------------- roff


def test_roff_escaping() -> None:
    assert _gen.esc(r"a\b") == r"a\eb"
    assert _gen.esc("--max-errors") == r"\-\-max\-errors"
    assert _gen.esc("it's `x` ^~") == r"it\(aqs \(gax\(ga \(ha\(ti"
    assert _gen.esc("naïve → 5 s…") == r"na\[u00EF]ve \(-> 5 s..."
    assert _gen.esc("🙂") == r"\[u1F642]"
    assert _gen.line(".hidden") == r"\&.hidden"
    assert _gen.prose("use `bulkop -h`") == r"use \fBbulkop \-h\fR"
    # help is plain text, never Rich markup (--help escapes it): every bracket is kept
    assert _gen.plain("[bold]Loud[/bold] and [OPTIONS]") == "[bold]Loud[/bold] and [OPTIONS]"


def synthetic_app() -> click.Group:
    """A command tree with every awkward character a help text can hold."""
    nasty = ".starts with a dot\n\n'starts with a quote, C:\\path\\to, naïve — “ok”, [providers.NAME] kept, tab\there"
    sub = click.Command(
        "x-y",
        help=nasty,
        epilog=Doc(
            examples=(shell_example("bulkop x-y --opt-z '\\d+' ..."), shell_example(".hidden-file --is-not-a-request")),
            terms_title="Keys",
            terms=(Term("retries", "int", "How often."), Term("style", "", "`auto` or `never`.")),
        ).epilog(),
        params=[
            click.Option(["--opt-z", "-z"], help="A value like \\d (default: .5).", metavar="REGEX"),
            click.Option(["--on/--off"], default=True, show_default=True, help="Toggle."),
            click.Option(["--level"], type=click.IntRange(1, 5), default=2, show_default=True),
            click.Argument(["names"], nargs=-1),
        ],
    )
    return click.Group("bulkop", help="Top.", commands=[sub])


@pytest.fixture(scope="module")
def groff() -> str:
    path = shutil.which("groff")
    if path is None:
        pytest.skip("groff is not installed (apt-get install groff)")
    return path


def render(groff: str, *paths: str | Path) -> subprocess.CompletedProcess[str]:
    """Pages as a terminal shows them at 80 columns (man's line length), without bold."""
    return subprocess.run(
        [groff, "-man", "-ww", "-Tutf8", "-P-cbou", "-rLL=78n", *map(str, paths)],
        capture_output=True,
        text=True,
        env=minimal_env(),
        check=False,
    )


def test_awkward_text_survives_roff(groff: str, tmp_path: Path) -> None:
    files = _gen.generate(synthetic_app(), date="")
    _gen.write(tmp_path, files)
    result = render(groff, tmp_path / "man/bulkop-x-y.1")
    assert result.stderr == ""
    text = " ".join(result.stdout.split())
    for expected in (
        ".starts with a dot",
        "'starts with a quote, C:\\path\\to, naïve — “ok”, [providers.NAME] kept, tab here",
        "-z, --opt-z REGEX",
        "A value like \\d (default: .5).",
        "--on / --off",
        "Default: true.",
        "--level INTEGER Default: 2. Range: 1 to 5.",
        "NAMES...",
        "Keys retries (int) How often. style auto or never.",
        "bulkop x-y --opt-z '\\d+' ...",
        ".hidden-file --is-not-a-request",
    ):
        assert expected in text, expected
    assert "\\[providers" not in text


def man_pages(out: Path, files: dict[str, str]) -> list[str]:
    return [str(out / name) for name in files if name.startswith("man/")]


def test_groff_reports_nothing_on_any_page(groff: str, out: Path, files: dict[str, str]) -> None:
    # One run for all pages: groff names the file in every warning.
    result = subprocess.run(
        [groff, "-man", "-ww", "-z", *man_pages(out, files)],
        capture_output=True,
        text=True,
        env=minimal_env(),
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_pages_render_within_80_columns(groff: str, out: Path, files: dict[str, str]) -> None:
    result = render(groff, *man_pages(out, files))
    assert result.stderr == ""
    assert "NAME" in result.stdout
    assert [line for line in result.stdout.splitlines() if len(line) > 80] == []


# --------------------------------------------------------------------------- completions


def shell(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install {name})")
    return path


@pytest.fixture
def console_script() -> str:
    if BULKOP is None:
        pytest.skip("the bulkop console script is not installed (pip install -e .)")
    return BULKOP


def shell_env() -> dict[str, str]:
    """The environment with the console script first on PATH, as an installed bulkop is."""
    assert BULKOP is not None
    return minimal_env(PATH=f"{Path(BULKOP).parent}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("completions/bulkop.bash", ["bash", "-n"]),
        ("completions/_bulkop", ["zsh", "-n"]),
        ("completions/bulkop.fish", ["fish", "--no-config", "-n"]),
    ],
)
def test_completion_scripts_parse(out: Path, name: str, check: list[str]) -> None:
    program = shell(check[0])
    result = subprocess.run(
        [program, *check[1:], str(out / name)], capture_output=True, text=True, env=minimal_env(), check=False
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_bash_completion_registers(out: Path) -> None:
    bash = shell("bash")
    script = f"source {out / 'completions/bulkop.bash'}; complete -p bulkop"
    result = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", script], capture_output=True, text=True, env=minimal_env(), check=False
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"complete .*-F _bulkop_completion bulkop\n", result.stdout)


def test_zsh_completion_registers(out: Path) -> None:
    zsh = shell("zsh")
    # A stand-in for compinit's compdef, which takes seconds to set up.
    script = f"compdef() {{ print -r -- $@ }}; source {out / 'completions/_bulkop'}"
    result = subprocess.run([zsh, "-f", "-c", script], capture_output=True, text=True, env=minimal_env(), check=False)
    assert (result.stdout, result.returncode) == ("_bulkop_completion bulkop\n", 0), result.stderr


def complete(words: str, cword: int) -> list[str]:
    """Ask the installed console script for completions, as the bash script does."""
    assert BULKOP is not None
    env = minimal_env(COMP_WORDS=words, COMP_CWORD=str(cword), _BULKOP_COMPLETE="bash_complete")
    result = subprocess.run([BULKOP], env=env, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, f"exit {result.returncode}, {result.stderr!r}: {PROTOCOL_HINT}"
    return result.stdout.splitlines()


def test_console_script_completes_commands_and_options(console_script: str, tree: list[_gen.Page]) -> None:
    assert "plain,watch" in complete("bulkop w", 1)
    assert complete("bulkop ", 1) == [f"plain,{page.path[-1]}" for page in tree[0].children]
    assert "plain,--output" in complete("bulkop get --o", 2)
    assert "plain,json" in complete("bulkop status x -o j", 4)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("bulkop w", "watch"),
        ("bulkop get --o", "--output"),
    ],
)
def test_bash_completion_end_to_end(console_script: str, out: Path, words: str, expected: str) -> None:
    bash = shell("bash")
    script = (
        f"source {out / 'completions/bulkop.bash'}; COMP_WORDS=({words}); "
        f"COMP_CWORD={len(words.split()) - 1}; _bulkop_completion bulkop; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", script],
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert expected in result.stdout.splitlines(), f"{result.stdout!r} {result.stderr!r}: {PROTOCOL_HINT}"


def test_fish_completion_end_to_end(console_script: str, out: Path) -> None:
    fish = shell("fish")
    script = f"source {out / 'completions/bulkop.fish'}; complete -C'bulkop get --o'"
    result = subprocess.run(
        [fish, "--no-config", "-c", script], env=shell_env(), capture_output=True, text=True, timeout=30, check=False
    )
    offered = [line.split("\t")[0] for line in result.stdout.splitlines()]
    assert "--output" in offered, f"{result.stdout!r} {result.stderr!r}: {PROTOCOL_HINT}"


@pytest.fixture
def profiles() -> None:
    from conftest import run_cli

    for name in ("prod", "prod-eu", "staging"):
        assert run_cli(["config", "add", name, "--provider", "knock", "--api-key-env", "K"]).code == 0


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("bulkop -p pr", 2, ["prod", "prod-eu"]),
        ("bulkop --profile s", 2, ["staging"]),
        ("bulkop get -p st", 3, ["staging"]),
        ("bulkop watch x --profile prod-", 4, ["prod-eu"]),
        ("bulkop config show p", 3, ["prod", "prod-eu"]),
        ("bulkop config use s", 3, ["staging"]),
        ("bulkop config remove prod", 3, ["prod", "prod-eu"]),
        ("bulkop config set st", 3, ["staging"]),
        ("bulkop -p x", 2, []),
    ],
)
def test_profile_names_complete_from_the_config_file(
    console_script: str, profiles: None, words: str, cword: int, expected: list[str]
) -> None:
    assert [c for c in complete(words, cword) if c] == [f"plain,{name}" for name in expected]


def test_profile_completion_is_silent_when_the_config_cannot_be_read(console_script: str, isolated_env: Path) -> None:
    isolated_env.parent.mkdir(parents=True, exist_ok=True)
    isolated_env.write_text("not [ toml")
    assert [c for c in complete("bulkop -p p", 2) if c] == []


def test_bash_completion_of_profile_names_end_to_end(console_script: str, out: Path, profiles: None) -> None:
    bash = shell("bash")
    script = (
        f"source {out / 'completions/bulkop.bash'}; COMP_WORDS=(bulkop -p st); "
        "COMP_CWORD=2; _bulkop_completion bulkop; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", script],
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.stdout.splitlines() == ["staging"], f"{result.stdout!r} {result.stderr!r}: {PROTOCOL_HINT}"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("bulkop get --provider ", ["knock", "saymon", "zendesk", "auth0", "mailchimp", "elasticsearch"]),
        ("bulkop watch --provider s", ["saymon"]),
        ("bulkop get -o ", ["table", "text", "json", "jsonl"]),
        ("bulkop status x --output ", ["text", "json"]),
        ("bulkop watch -o j", ["json"]),
        ("bulkop get ", ["@last", "prod:", "staging:"]),
        ("bulkop status @", ["@last"]),
        ("bulkop watch pr", ["prod:"]),
        ("bulkop get prod:", []),
    ],
)
def test_bash_completes_choices_and_ids(console_script: str, out: Path, words: str, expected: list[str]) -> None:
    for name in ("prod", "staging"):
        added = run_cli(["config", "add", name, "--provider", "knock"], stdin="sk_test_completion\n")
        assert added.code == 0, added.stderr
    bash = shell("bash")
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    empty_word = '""' if words.endswith(" ") else ""  # the word being completed, still empty
    script = (
        f"source {out / 'completions/bulkop.bash'}; COMP_WORDS=({words} {empty_word}); "
        f"COMP_CWORD={cword}; _bulkop_completion bulkop; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", script],
        env=shell_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert [line for line in result.stdout.splitlines() if line] == expected, f"{result.stdout!r} {result.stderr!r}"
