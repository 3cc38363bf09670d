"""What happens when a standard stream fails, in a real process: a reader gone from stderr (as
from stdout) is 141 and silent; a device that refuses the write (/dev/full) is one line and 74;
a stream the caller closed (`>&-`) reads as /dev/null. Never a traceback, never "Exception
ignored", never exit 120 (Python's own code for a failed flush at exit)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bulkop.simulator import Scenario
from conftest import knock_env_for, minimal_env

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")


@pytest.fixture
def ops(sim):
    done = sim.add(Scenario(name="done", total_rows=10, queued_seconds=0, duration=0))
    failing = sim.add(Scenario(name="fails", total_rows=100, queued_seconds=0, duration=0.5, fail_at=0.5))
    return {"DONE": done, "FAILED": failing, "env": minimal_env(knock_env_for(sim), BULKOP_NO_JOURNAL="1")}


def argv(words: list[str], ops: dict) -> list[str]:
    return [sys.executable, "-m", "bulkop", *(ops.get(w, w) for w in words)]


@pytest.mark.parametrize(
    "words",
    [
        ["watch", "DONE", "FAILED", "--display", "lines", "--interval", "0.2"],
        ["get", "not-a-uuid"],
        ["get", "DONE", "--debug"],
        ["status", "FAILED", "-v"],
    ],
    ids=["watch-lines", "usage-error", "get-debug", "status-debug"],
)
def test_both_streams_into_a_pipe_whose_reader_leaves_is_141(ops, words):
    """`bulkop … 2>&1 | head -0`: what stderr still had to say has nowhere to go."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        p = subprocess.run(
            argv(words, ops), env=ops["env"], stdin=subprocess.DEVNULL, stdout=write_end, stderr=write_end, timeout=60
        )
    finally:
        os.close(write_end)
    assert p.returncode == 141


@needs_dev_full
@pytest.mark.parametrize(
    ("words", "json_error"),
    [
        (["get", "DONE", "-o", "json"], True),
        (["get", "DONE"], False),
        (["get", "DONE", "FAILED", "-o", "jsonl"], True),
        (["status", "DONE"], False),
        (["config", "path"], False),
        (["providers"], False),
        (["--version"], False),
        (["watch", "DONE", "-o", "json"], True),
    ],
)
def test_a_full_disk_under_stdout_is_one_line_and_exit_74(ops, words, json_error):
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            argv(words, ops), env=ops["env"], stdin=subprocess.DEVNULL, stdout=full, stderr=subprocess.PIPE, timeout=60
        )
    err = p.stderr.decode()
    assert p.returncode == 74, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "cannot write the output (No space left on device)" in err
    if json_error:
        assert '"exit_code":74' in err.splitlines()[-1]
    else:
        assert err.splitlines()[-1].startswith("bulkop: error: cannot write the output")


@needs_dev_full
@pytest.mark.parametrize("words", [["get", "DONE", "-o", "json"], ["get", "not-a-uuid"], ["--version"]])
def test_both_streams_on_a_full_disk_is_exit_74(ops, words):
    """Even an error that could not be said (stderr full too) is 74: the output was lost."""
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            argv(words, ops), env=ops["env"], stdin=subprocess.DEVNULL, stdout=full, stderr=full, timeout=60
        )
    assert p.returncode == 74


@pytest.mark.parametrize(
    ("redirect", "words", "code"),
    [
        (">&-", ["get", "DONE"], 0),
        (">&-", ["get", "DONE", "-o", "json"], 0),
        (">&-", ["--version"], 0),
        (">&-", ["watch", "FAILED", "--display", "lines", "--interval", "0.2"], 1),
        ("2>&-", ["get", "not-a-uuid"], 2),
        ("2>&-", ["status", "DONE"], 0),
        ("<&-", ["watch", "-"], 2),  # no ids on a closed stdin: a usage error, as for an empty one
        (">&- 2>&-", ["get", "DONE"], 0),
    ],
)
def test_a_closed_stream_reads_as_dev_null(ops, redirect, words, code):
    command = " ".join(f"'{w}'" for w in argv(words, ops))
    p = subprocess.run(
        ["bash", "-c", f"exec {command} {redirect}"], env=ops["env"], capture_output=True, text=True, timeout=60
    )
    assert p.returncode == code, p.stderr
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr
