"""The journal: what it records (and never), many writers at once, kill -9, bad files, schema.

Writers are real bulkop processes against the simulator, given an explicit minimal environment;
the journal file is read back with the standard library's sqlite3, as any user could.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bulkop.journal import MIGRATIONS, SCHEMA_VERSION, Journal, Seen, host_of
from conftest import (
    KNOCK_TOKEN,
    SAYMON_LOGIN,
    SAYMON_PASSWORD,
    Scenario,
    run_cli,
)
from helpers import EPOCH, basic_credentials, done, journal_env, running

BODY_MARKER = "body-only-marker-7f3a"  # in every response body; must never reach the journal


def journal_file() -> Path:
    return Path(os.environ["BULKOP_JOURNAL"])


def rows(sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(journal_file())
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def bulkop(args: list[str], extra: dict[str, str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bulkop", *args],
        env=journal_env(extra),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


# --------------------------------------------------------------------------- what it records


def test_get_records_each_field_of_a_knock_operation(sim, knock_env):
    op = sim.add(done(name="users.identify", total_rows=500, extra_fields={"note": BODY_MARKER}))
    r = run_cli(["get", op, "-o", "json"], knock_env)
    assert r.code == 0, r.stderr
    (row,) = rows(
        "SELECT profile, provider, host, id, name, status, processed_rows, estimated_total_rows, "
        "first_seen, last_seen, ended_at FROM operations"
    )
    profile, provider, host, op_id, name, status, processed, estimated, first, last, ended = row
    assert (profile, provider, op_id, name, status) == ("", "knock", op, "users.identify", "completed")
    assert host == f"127.0.0.1:{sim.base_url.rsplit(':', 1)[1]}"
    assert (processed, estimated) == (500, 500)
    assert first <= last and ended is not None


def test_status_records_a_saymon_operation_under_its_provider(sim, saymon_env):
    op = sim.add(running(provider="saymon", id="4da5e709d4713d60c8a70639"))
    r = run_cli(["status", op], saymon_env)
    assert r.code == 3, r.stderr
    assert rows("SELECT provider, id, status, processed_rows FROM operations") == [("saymon", op, "processing", None)]


def test_a_second_fetch_updates_the_entry_and_keeps_first_seen(frozen_sim, clock, env):
    op = frozen_sim.add(Scenario(queued_seconds=0, total_rows=1000, rows_per_second=10))
    for step in (10, 20):
        clock.t = step
        assert run_cli(["get", op, "-o", "json"], env, wall=clock.wall).code == 0
    ((first, last, processed),) = rows("SELECT first_seen, last_seen, processed_rows FROM operations")
    assert (first, last) == ((EPOCH + timedelta(seconds=10)).timestamp(), (EPOCH + timedelta(seconds=20)).timestamp())
    assert processed == 200
    assert rows("SELECT t, processed FROM samples ORDER BY t") == [
        ((EPOCH + timedelta(seconds=10)).timestamp(), 100),
        ((EPOCH + timedelta(seconds=20)).timestamp(), 200),
    ]


def test_the_profile_is_recorded_by_name(sim, tmp_path):
    Path(os.environ["BULKOP_CONFIG"]).parent.mkdir(parents=True, exist_ok=True)
    Path(os.environ["BULKOP_CONFIG"]).write_text(
        f'[profiles.prod]\nprovider = "knock"\nbase_url = "{sim.base_url}"\napi_key_env = "MY_KEY"\n'
    )
    op = sim.add(done())
    assert run_cli(["get", f"prod:{op}", "-o", "json"], {"MY_KEY": KNOCK_TOKEN}).code == 0
    assert rows("SELECT profile, id FROM operations") == [("prod", op)]


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://user:pw@api.example.com/v1?token=x", "api.example.com"),
        ("http://127.0.0.1:8080", "127.0.0.1:8080"),
        ("https://API.knock.app/", "api.knock.app"),
        ("http://[::1]:9/x", "::1:9"),
        ("", ""),
        (None, ""),
    ],
)
def test_host_never_keeps_userinfo_path_or_query(url, host):
    assert host_of(url) == host


def test_no_secret_and_no_body_reaches_the_journal(sim, knock_env, saymon_env, tmp_path):
    knock_op = sim.add(running(name="users.identify", error_rate=0.5, extra_fields={"note": BODY_MARKER}))
    finished = sim.add(done(name="objects.set", error_rate=0.5, extra_fields={"note": BODY_MARKER}))
    saymon_op = sim.add(running(provider="saymon", id="5da5e709d4713d60c8a70639"))
    assert run_cli(["get", knock_op, finished, "-o", "json"], knock_env).code == 0
    assert run_cli(["status", finished], knock_env).code == 0
    assert run_cli(["status", saymon_op], saymon_env).code == 3
    piped = json.dumps({"bulk_operation": {"id": knock_op, "name": "users.identify", "note": BODY_MARKER}})
    assert run_cli(["watch", "-", "--timeout", "1s", "--interval", "0.2"], knock_env, stdin=piped).code == 124
    assert run_cli(["list", "--refresh", "-o", "json"], knock_env).code == 0
    body = json.loads(run_cli(["get", finished, "-o", "json"], knock_env).stdout)
    error_ids = [item["id"] for item in body["error_items"]]
    assert error_ids
    data = b"".join(p.read_bytes() for p in journal_file().parent.iterdir() if p.is_file())
    assert data, "the journal was not written"
    for secret in (KNOCK_TOKEN, SAYMON_PASSWORD, f"{SAYMON_LOGIN}:{SAYMON_PASSWORD}", BODY_MARKER, *error_ids):
        assert secret.encode() not in data

    assert basic_credentials().encode() not in data


def test_ids_piped_from_a_bulk_endpoint_are_recorded_before_the_first_poll(sim, knock_env):
    # The operation does not exist on the server: the first poll fails (404), yet the journal
    # already holds what the bulk endpoint said about it.
    piped_id = "0f8fad5b-d9cb-469f-a165-70867728950e"
    body = {"bulk_operation": {"id": piped_id, "name": "users.bulk_set", "status": "queued", "__typename": "x"}}
    lines = "\n".join([json.dumps(body), json.dumps({"id": "7c9e6679-7425-40de-944b-e07fc1f90ae7"})])
    r = run_cli(["watch", "-"], knock_env, stdin=lines)
    assert r.code == 5, r.stderr
    recorded = dict(rows("SELECT id, name FROM operations"))
    assert recorded == {piped_id: "users.bulk_set", "7c9e6679-7425-40de-944b-e07fc1f90ae7": None}


def test_piped_full_bulk_operation_objects_keep_their_status_and_counts(sim, knock_env):
    op = sim.add(done(name="users.identify", total_rows=40))
    body = run_cli(["get", op, "-o", "json"], knock_env).stdout
    journal_file().unlink()
    for extra in journal_file().parent.glob("journal.sqlite3-*"):
        extra.unlink()
    missing = dict(json.loads(body), id="0f8fad5b-d9cb-469f-a165-70867728950e")
    r = run_cli(["watch", "-"], knock_env, stdin=json.dumps([missing]))
    assert r.code == 5
    assert rows("SELECT id, name, status, processed_rows FROM operations") == [
        ("0f8fad5b-d9cb-469f-a165-70867728950e", "users.identify", "completed", 40)
    ]


def test_watch_records_its_observations_with_samples(sim, knock_env):
    # 3 s of work: the view writes its first poll at once, then at most every watch.journal.FLUSH_EVERY (2 s)
    op = sim.add(Scenario(queued_seconds=0, total_rows=1200, rows_per_second=400))
    r = run_cli(["watch", op, "--interval", "0.2"], knock_env)
    assert r.code == 0, r.stderr
    ((status, ended),) = rows("SELECT status, ended_at FROM operations")
    assert status == "completed" and ended is not None
    samples = rows("SELECT processed FROM samples ORDER BY t")
    assert len(samples) >= 2 and samples[-1] == (1200,)


# --------------------------------------------------------------------------- switched off


@pytest.mark.parametrize(
    ("args", "env", "config"),
    [
        (["--no-journal"], {}, ""),
        ([], {"BULKOP_NO_JOURNAL": "1"}, ""),
        ([], {"BULKOP_NO_JOURNAL": "true"}, ""),
        ([], {}, "journal = false\n"),
    ],
)
def test_the_journal_can_be_turned_off(sim, knock_env, args, env, config):
    if config:
        Path(os.environ["BULKOP_CONFIG"]).parent.mkdir(parents=True, exist_ok=True)
        Path(os.environ["BULKOP_CONFIG"]).write_text(config)
    op = sim.add(done())
    r = run_cli([*args, "get", op, "-o", "json"], {**knock_env, **env})
    assert r.code == 0 and r.stderr == ""
    assert not journal_file().exists()


def test_bulkop_journal_moves_the_file_and_xdg_state_is_the_default(sim, knock_env, tmp_path, monkeypatch):
    op = sim.add(done())
    moved = tmp_path / "elsewhere" / "j.db"
    assert run_cli(["get", op, "-o", "json"], {**knock_env, "BULKOP_JOURNAL": str(moved)}).code == 0
    assert moved.exists()
    monkeypatch.delenv("BULKOP_JOURNAL")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state-home"))
    assert run_cli(["status", op], knock_env).code == 0
    assert (tmp_path / "state-home" / "bulkop" / "journal.sqlite3").exists()


def test_a_config_with_journal_keys_survives_a_config_write(tmp_path):
    config = Path(os.environ["BULKOP_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("journal = false\njournal_days = 7\n")
    r = run_cli(["config", "add", "prod", "--provider", "knock", "--api-key-env", "MY_KEY"], {})
    assert r.code == 0, r.stderr
    text = config.read_text()
    assert "journal = false" in text and "journal_days = 7" in text and "[profiles.prod]" in text


def test_a_journal_key_of_the_wrong_type_is_a_config_error(sim, knock_env):
    config = Path(os.environ["BULKOP_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('journal = "no"\n')
    r = run_cli(["get", sim.add(done()), "-o", "json"], knock_env)
    assert r.code == 7 and "journal should be bool" in r.stderr


# --------------------------------------------------------------------------- many processes


def test_twenty_concurrent_writers_and_a_reader_lose_nothing(sim, knock_env):
    ids = [sim.add(done(name=f"op-{i}")) for i in range(40)]
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "bulkop", "get", ids[2 * i], ids[2 * i + 1], "-o", "json"],
            env=journal_env(knock_env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(20)
    ]
    reads = 0
    read_errors = []
    while any(w.poll() is None for w in writers) or reads == 0:
        r = bulkop(["list", "-o", "json", "--limit", "0"], knock_env)
        reads += 1
        if r.returncode != 0 or r.stderr:
            read_errors.append(r.stderr)
        json.loads(r.stdout)
    for w in writers:
        assert w.wait(60) == 0
        stderr = w.stderr.read()
        assert stderr == "", stderr
        w.stderr.close()
    assert read_errors == []
    listed = json.loads(bulkop(["list", "-o", "json", "--limit", "0"], knock_env).stdout)
    assert sorted(e["id"] for e in listed) == sorted(ids)


def test_twenty_processes_writing_the_same_operations_keep_one_entry_each(tmp_path):
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from bulkop.journal import Journal, Seen\n"
        "j = Journal(Path(sys.argv[1]), warn=lambda m: print(m, file=sys.stderr))\n"
        "for n in range(30):\n"
        "    j.record([Seen(None, 'knock', 'h', f'op-{k}', 'processing', processed_rows=n) for k in range(5)],"
        " time.time() + n * 1e-3)\n"
    )
    path = journal_file()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path)],
            env=journal_env({}),
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(20)
    ]
    for p in procs:
        assert p.wait(120) == 0
        assert p.stderr.read() == ""
        p.stderr.close()
    assert rows("SELECT count(*) FROM operations") == [(5,)]
    assert rows("PRAGMA integrity_check") == [("ok",)]


# --------------------------------------------------------------------------- kill -9


def test_kill_9_during_writes_leaves_a_journal_that_opens_and_lists(sim, knock_env):
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from bulkop.journal import Journal, Seen\n"
        "j = Journal(Path(sys.argv[1]), sample_cap=50)\n"
        "n = 0\n"
        "while True:\n"
        "    n += 1\n"
        "    j.record([Seen(None, 'knock', 'h', f'op-{n % 300}', 'processing', name='x' * 150,"
        " processed_rows=n) for _ in range(1)], time.time())\n"
        "    if n == 200: print('ready', flush=True)\n"
    )
    victims = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(journal_file())],
            env=journal_env({}),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for v in victims:
        assert v.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    for v in victims:
        v.send_signal(signal.SIGKILL)
        v.wait(10)
        v.stdout.close()
    r = bulkop(["list", "-o", "json", "--limit", "0"], knock_env)
    assert r.returncode == 0 and r.stderr == ""
    assert len(json.loads(r.stdout)) == 300
    assert rows("PRAGMA integrity_check") == [("ok",)]
    op = sim.add(done())
    after = bulkop(["get", op, "-o", "json"], knock_env)
    assert after.returncode == 0 and after.stderr == ""


# --------------------------------------------------------------------------- bad files


def _not_sqlite(path: Path) -> None:
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 200)


def _corrupt(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.executemany("INSERT INTO t VALUES (?)", [("y" * 500,)] * 50)
    conn.commit()
    conn.close()
    data = bytearray(path.read_bytes())
    data[100:] = b"\xde\xad\xbe\xef" * ((len(data) - 100) // 4) + b"\x00" * ((len(data) - 100) % 4)
    path.write_bytes(bytes(data))


def _newer_schema(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.commit()
    conn.close()


def _directory(path: Path) -> None:
    path.mkdir()


def _parent_is_a_file(path: Path) -> None:
    path.parent.rmdir()
    path.parent.write_text("a file where the journal's directory should be\n")


BAD_FILES = {
    "not-sqlite": _not_sqlite,
    "corrupt": _corrupt,
    "newer-schema": _newer_schema,
    "a-directory": _directory,
    "parent-is-a-file": _parent_is_a_file,
}


def _same(text: str) -> str:
    """Output with its timestamps masked: two runs a second apart print different times."""
    import re

    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", text)


def _assert_same_as_without_journal(args: list[str], env: dict[str, str], **kwargs) -> None:
    bad = bulkop(args, env, **kwargs)
    off = bulkop(["--no-journal", *args], env)
    assert bad.returncode == off.returncode
    assert _same(bad.stdout) == _same(off.stdout)
    warnings = [line for line in _same(bad.stderr).splitlines() if line not in _same(off.stderr).splitlines()]
    assert len(warnings) == 1, bad.stderr
    assert warnings[0].startswith("bulkop: warning: journal ") and "Traceback" not in bad.stderr


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_journal_file_is_one_warning_and_changes_nothing_else(sim, knock_env, case):
    journal_file().parent.mkdir(parents=True, exist_ok=True)
    BAD_FILES[case](journal_file())
    before = journal_file().read_bytes() if journal_file().is_file() else None
    done_op, failed_op = sim.add(done(total_rows=10)), sim.add(done(fail_at=0.5))
    running_op = sim.add(Scenario(queued_seconds=0, total_rows=10**9, rows_per_second=1e-6))
    _assert_same_as_without_journal(["get", done_op, failed_op, "-o", "json", "--exit-status"], knock_env)
    _assert_same_as_without_journal(["status", failed_op], knock_env)
    _assert_same_as_without_journal(["status", running_op, "-o", "json"], knock_env)
    _assert_same_as_without_journal(["watch", done_op, "-o", "json"], knock_env)
    if before is not None:
        assert journal_file().read_bytes() == before, "a journal bulkop cannot read must be left as it was"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files")
@pytest.mark.parametrize("what", ["file", "directory"])
def test_a_read_only_journal_is_one_warning(sim, knock_env, what):
    op = sim.add(done())
    assert bulkop(["get", op, "-o", "json"], knock_env).returncode == 0
    target = journal_file() if what == "file" else journal_file().parent
    for extra in journal_file().parent.glob("journal.sqlite3-*"):
        extra.unlink()
    target.chmod(0o444 if what == "file" else 0o555)
    try:
        _assert_same_as_without_journal(["status", op], knock_env)
    finally:
        target.chmod(0o644 if what == "file" else 0o755)


@pytest.mark.skipif(os.access("/proc/sys/kernel", os.W_OK), reason="needs a read-only directory")
def test_a_journal_in_a_read_only_place_is_one_warning(sim, knock_env, monkeypatch):
    """/proc/sys is read-only even for root: the journal can be neither created nor written."""
    monkeypatch.setenv("BULKOP_JOURNAL", "/proc/sys/kernel/bulkop-journal.sqlite3")
    op = sim.add(done())
    _assert_same_as_without_journal(["get", op, "-o", "json"], knock_env)
    _assert_same_as_without_journal(["status", op], knock_env)


def _limit_file_size(limit: int):
    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_is_one_warning(sim, knock_env):
    """No room to grow: RLIMIT_FSIZE at the journal's size makes every write past it fail."""
    first = sim.add(done())
    assert bulkop(["get", first, "-o", "json"], knock_env).returncode == 0
    conn = sqlite3.connect(journal_file())
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = journal_file().stat().st_size
    op = sim.add(done(name="n" * 100))
    _assert_same_as_without_journal(["get", op, "-o", "json"], knock_env, preexec_fn=_limit_file_size(size))
    assert rows("PRAGMA integrity_check") == [("ok",)]


def test_a_journal_locked_for_long_is_waited_for_not_reported(sim, knock_env):
    op = sim.add(done())
    assert bulkop(["get", op, "-o", "json"], knock_env).returncode == 0
    holder = sqlite3.connect(journal_file(), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bulkop", "status", op],
        env=journal_env(knock_env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    holder.execute("COMMIT")
    holder.close()
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and err == "", err


# --------------------------------------------------------------------------- schema and size


def test_schema_is_versioned_and_migrated_from_an_empty_file(tmp_path):
    path = tmp_path / "j.sqlite3"
    sqlite3.connect(path).close()  # an empty SQLite file: version 0
    j = Journal(path)
    j.record([Seen(None, "knock", "h", "a", "queued")], 1000.0)
    j.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == max(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT id, status FROM operations").fetchall() == [("a", "queued")]
    conn.close()


def test_a_v1_journal_keeps_its_entries_when_opened_again(tmp_path):
    path = tmp_path / "j.sqlite3"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO operations (provider, host, id, status, first_seen, last_seen) "
        "VALUES ('saymon', 'h', 'old', 'processing', ?, ?)",
        (time.time(), time.time()),
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    assert [e.id for e in Journal(path).entries()] == ["old"]


def test_entries_older_than_journal_days_are_pruned(tmp_path):
    day = 86400.0
    for name, when in (("old", 1000), ("recent", 1025), ("new", 1031)):  # one process (Journal) each
        Journal(tmp_path / "j.sqlite3", days=30).record(
            [Seen(None, "knock", "h", name, "completed", processed_rows=1)], when * day
        )
    assert [e.id for e in Journal(tmp_path / "j.sqlite3").entries()] == ["new", "recent"]
    conn = sqlite3.connect(tmp_path / "j.sqlite3")
    assert conn.execute("SELECT count(*) FROM samples").fetchone() == (2,)  # old's went with it
    conn.close()


def test_journal_days_comes_from_the_environment_or_the_config(sim, knock_env):
    op = sim.add(done())
    old = datetime.now(UTC) - timedelta(days=5)
    assert run_cli(["get", op, "-o", "json"], knock_env, wall=lambda: old).code == 0
    assert run_cli(["list", "--since", "all", "-o", "json"], knock_env).stdout.count(op) == 1
    other = sim.add(done())
    assert run_cli(["get", other, "-o", "json"], {**knock_env, "BULKOP_JOURNAL_DAYS": "3"}).code == 0
    listed = run_cli(["list", "--since", "all", "-o", "json"], knock_env).stdout
    assert op not in listed and other in listed


def test_samples_are_bounded_and_keep_their_whole_span(tmp_path):
    j = Journal(tmp_path / "j.sqlite3", sample_cap=40)
    for n in range(1000):
        j.record([Seen(None, "knock", "h", "a", "processing", processed_rows=n)], 1000.0 + n)
    samples = j.samples(Seen(None, "knock", "h", "a"))
    assert 20 <= len(samples) <= 40
    assert samples[0] == (1000.0, 0) and samples[-1] == (1999.0, 999)
    assert [t for t, _ in samples] == sorted(t for t, _ in samples)


def _v1(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    return conn


def test_migrating_a_v1_journal_merges_duplicates_of_one_operation(tmp_path):
    path = tmp_path / "j.sqlite3"
    conn = _v1(path)
    insert = (
        "INSERT INTO operations (profile, provider, host, id, name, status, processed_rows, started_at, "
        "first_seen, last_seen, ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    # Seen through env variables (no profile) while processing, later through `demo`: done.
    conn.execute(insert, ("", "knock", "h", "a", "users.identify", "processing", 10, 100.0, 100.0, 110.0, None))
    conn.execute(insert, ("demo", "knock", "h", "a", None, "completed", 50, None, 300.0, 400.0, 119.0))
    # The same id on another host, or another provider, is another operation.
    conn.execute(insert, ("", "knock", "other", "a", None, "processing", 1, None, 100.0, 100.0, None))
    conn.execute(insert, ("", "saymon", "h", "s", None, "completed", None, None, 100.0, 100.0, 100.0))
    conn.execute(insert, ("prod", "saymon", "h", "s", None, "processing", None, None, 50.0, 90.0, None))
    (a_env,) = conn.execute("SELECT key FROM operations WHERE profile = '' AND host = 'h' AND id = 'a'").fetchone()
    (a_demo,) = conn.execute("SELECT key FROM operations WHERE profile = 'demo'").fetchone()
    conn.executemany(
        "INSERT INTO samples (op, t, processed) VALUES (?, ?, ?)",
        [(a_env, 105.0, 10), (a_env, 110.0, 20), (a_demo, 110.0, 20), (a_demo, 119.0, 50), (a_demo, 400.0, 50)],
    )
    conn.commit()
    conn.close()
    j = Journal(path)
    entries = {(e.provider, e.host, e.id): e for e in j.entries()}
    assert len(entries) == 3
    a = entries[("knock", "h", "a")]
    assert (a.profile, a.status, a.status_word, a.name, a.processed_rows) == (
        "demo",
        "completed",
        "completed",
        "users.identify",
        50,
    )
    assert (a.first_seen, a.last_seen, a.started_at, a.ended_at) == (100.0, 400.0, 100.0, 119.0)
    # One series; the duplicate sample at 110 once; the one after the end (a later `get`) gone.
    assert j.samples(a) == [(105.0, 10), (110.0, 20), (119.0, 50)]
    s = entries[("saymon", "h", "s")]
    assert (s.profile, s.status_word, s.first_seen) == (None, "finished", 50.0)
    assert entries[("knock", "other", "a")].status == "processing"
    # From now on the one entry is updated, through whichever profile.
    j.record([Seen("prod", "knock", "other", "a", "completed", word="completed", processed_rows=9)], 500.0)
    assert [e.profile for e in j.entries() if e.host == "other"] == ["prod"]
    assert len(j.entries()) == 3
    j.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()


def test_samples_are_taken_only_while_running_and_once_at_the_end(tmp_path):
    j = Journal(tmp_path / "j.sqlite3")
    key = Seen(None, "knock", "h", "a")
    for t, status, rows_ in ((0, "queued", 0), (10, "queued", 0), (20, "processing", 0), (30, "processing", 100)):
        j.record([Seen(None, "knock", "h", "a", status, word=status, processed_rows=rows_)], float(t))
    j.record([Seen(None, "knock", "h", "a", "completed", word="completed", processed_rows=150, ended_at=35.0)], 40.0)
    for t in (50.0, 60.0):  # `get` long after the end
        j.record([Seen("demo", "knock", "h", "a", "completed", word="completed", processed_rows=150)], t)
    assert j.samples(key) == [(20.0, 0), (30.0, 100), (35.0, 150)]


def test_a_saymon_entry_keeps_the_word_saymon_said(sim, saymon_env):
    op = sim.add(done(provider="saymon", id="4da5e709d4713d60c8a70639"))
    assert run_cli(["get", op, "-o", "json"], saymon_env).code == 0
    assert rows("SELECT provider, status, word FROM operations") == [("saymon", "completed", "finished")]
