"""`bulkop list` with the journal off says so, and which switch turned it off (not "no
operations in the journal (try --since all)", which sends the user looking in the wrong place)."""

from __future__ import annotations

import pytest

from conftest import run_cli
from helpers import write_config


@pytest.mark.parametrize(
    ("args", "env", "config", "switch"),
    [
        (["--no-journal", "list"], {}, "", "--no-journal"),
        (["list"], {"BULKOP_NO_JOURNAL": "1"}, "", "BULKOP_NO_JOURNAL"),
        (["list"], {}, "journal = false\n", "`journal = false` in the config file"),
        (["list", "-o", "text"], {"BULKOP_NO_JOURNAL": "yes"}, "", "BULKOP_NO_JOURNAL"),
    ],
)
def test_list_with_the_journal_off_names_the_switch(isolated_env, args, env, config, switch):
    if config:
        write_config(config)
    r = run_cli(args, env)
    assert (r.code, r.stdout) == (0, "")
    assert r.stderr == f"bulkop: the journal is off ({switch}), so there is nothing to list\n"


def test_an_empty_journal_still_says_it_is_empty(isolated_env):
    r = run_cli(["list"])
    assert r.code == 0 and "no operations in the journal" in r.stderr
