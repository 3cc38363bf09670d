"""The journal: a local SQLite record of every operation bulkop has seen (never a secret).

Stdlib only. Opened on first use, one transaction per command or per batch of polls. It never
costs a result: any problem with the file (corrupt, not SQLite, read-only, full, locked for too
long) is one warning line on stderr, and the journal is off for the rest of the process.

Only these leave the process: profile name, provider name (a plain string, so providers defined
as data later keep working), the base URL's host[:port] (never userinfo, path or query), the id,
the operation's name, status, counts and times, and (time, processed rows) samples.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FILE_NAME = "journal.sqlite3"
DEFAULT_DAYS = 30
SAMPLE_CAP = 240  # samples kept per operation; beyond it the older half is thinned
# How long a statement waits for another process's transaction. bulkop's own transactions last
# milliseconds; a longer wait means a stuck holder, and the journal must never cost a result.
BUSY_TIMEOUT_MS = 1_000
UNFINISHED = ("queued", "processing")
# A sample more than this ahead of the reader's clock is from a process whose clock runs ahead
# (or a corrupt row): never the latest sample, and left out of every series.
FUTURE_SLACK = 5.0

# Schema migrations, each from the version before it to its own number (PRAGMA user_version).
# Never edit a released step: append the next one.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE operations (
            key INTEGER PRIMARY KEY,
            profile TEXT NOT NULL DEFAULT '',
            provider TEXT NOT NULL,
            host TEXT NOT NULL,
            id TEXT NOT NULL,
            name TEXT,
            status TEXT,
            processed_rows INTEGER,
            estimated_total_rows INTEGER,
            success_count INTEGER,
            error_count INTEGER,
            started_at REAL,
            first_seen REAL NOT NULL,
            last_seen REAL NOT NULL,
            ended_at REAL,
            UNIQUE (profile, provider, host, id)
        )""",
        "CREATE INDEX operations_last_seen ON operations (last_seen)",
        """CREATE TABLE samples (
            op INTEGER NOT NULL REFERENCES operations (key) ON DELETE CASCADE,
            t REAL NOT NULL,
            processed INTEGER NOT NULL
        )""",
        "CREATE INDEX samples_op_t ON samples (op, t)",
    ),
    # v2: an operation is its provider, host and id (the profile is only how it was last
    # reached), so one operation is one entry: duplicates are merged into the most recently
    # seen one, with its samples. The status word the provider's views show is kept beside the
    # normalised status (SAYMON's are "finished" / "not finished", never "completed"), and
    # samples taken after an operation's end (a `get` long after it) are dropped.
    2: (
        "ALTER TABLE operations ADD COLUMN word TEXT",
        """UPDATE operations SET word = CASE
               WHEN status IS NULL THEN NULL
               WHEN provider = 'saymon' THEN
                   CASE WHEN status IN ('completed', 'failed') THEN 'finished' ELSE 'not finished' END
               ELSE status END""",
        """CREATE TEMP TABLE keeper AS
               SELECT o.key AS key, (
                   SELECT k.key FROM operations k
                   WHERE k.provider = o.provider AND k.host = o.host AND k.id = o.id
                   ORDER BY k.last_seen DESC, k.key DESC LIMIT 1
               ) AS keep FROM operations o""",
        "UPDATE samples SET op = (SELECT keep FROM keeper WHERE keeper.key = samples.op)",
        "DELETE FROM samples WHERE rowid NOT IN (SELECT min(rowid) FROM samples GROUP BY op, t)",
        *(
            f"""UPDATE operations SET {column} = coalesce({column}, (
                   SELECT o.{column} FROM operations o
                   WHERE o.provider = operations.provider AND o.host = operations.host AND o.id = operations.id
                       AND o.{column} IS NOT NULL
                   ORDER BY o.last_seen DESC, o.key DESC LIMIT 1))"""
            for column in (
                "name",
                "status",
                "word",
                "processed_rows",
                "estimated_total_rows",
                "success_count",
                "error_count",
                "started_at",
            )
        ),
        """UPDATE operations SET first_seen = (
               SELECT min(o.first_seen) FROM operations o
               WHERE o.provider = operations.provider AND o.host = operations.host AND o.id = operations.id)""",
        "DELETE FROM operations WHERE key NOT IN (SELECT keep FROM keeper)",
        "DROP TABLE keeper",
        "CREATE UNIQUE INDEX operations_identity ON operations (provider, host, id)",
        """DELETE FROM samples WHERE t > (
               SELECT o.ended_at FROM operations o WHERE o.key = samples.op AND o.ended_at IS NOT NULL)""",
    ),
}
SCHEMA_VERSION = max(MIGRATIONS)
FINISHED = ("completed", "failed")


@dataclass(frozen=True, slots=True)
class Seen:
    """One observation of an operation, as the journal stores it."""

    profile: str | None
    provider: str
    host: str
    id: str
    status: str | None = None  # normalised: queued, processing, completed or failed
    name: str | None = None
    processed_rows: int | None = None
    estimated_total_rows: int | None = None
    success_count: int | None = None
    error_count: int | None = None
    started_at: float | None = None
    ended_at: float | None = None  # the operation's own end time, when the API says it
    word: str | None = None  # the status as the provider's views show it (models.status_word)
    # When the counts were observed (epoch seconds): a sample is the count at the time of the
    # poll that saw it, not at the time of the write (a watch writes up to a second later, and
    # with several watches at once their write times interleave with older counts).
    observed_at: float | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One operation as the journal remembers it."""

    id: str
    profile: str | None
    provider: str
    host: str
    name: str | None
    status: str | None
    processed_rows: int | None
    estimated_total_rows: int | None
    success_count: int | None
    error_count: int | None
    started_at: float | None
    first_seen: float
    last_seen: float
    ended_at: float | None
    word: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def status_word(self) -> str | None:
        """The status as `get` and `status` show it for this provider (SAYMON: finished or not)."""
        if self.status is None:
            return None
        return self.word or self.status  # every row since v2 has its word (seen_op stores it)

    @property
    def counts_known(self) -> bool:
        return self.processed_rows is not None

    @property
    def ref(self) -> str:
        """How to name it on the command line: PROFILE:ID, or the id alone."""
        return f"{self.profile}:{self.id}" if self.profile else self.id

    def duration(self, now: float) -> float | None:
        """From its start (or first sight) to its end, or to now while it is unfinished."""
        start = self.started_at if self.started_at is not None else self.first_seen
        end = self.ended_at if self.ended_at is not None else (self.last_seen if self.finished else now)
        return max(0.0, end - start)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "profile": self.profile,
            "provider": self.provider,
            "host": self.host,
            "name": self.name,
            "status": self.status_word,
            "finished": self.finished,
            "processed_rows": self.processed_rows,
            "estimated_total_rows": self.estimated_total_rows,
            "success_count": self.success_count,
            "error_count": self.error_count,
            "started_at": _iso(self.started_at),
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "ended_at": _iso(self.ended_at),
        }


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def host_of(base_url: str | None) -> str:
    """`https://user:pw@api.example.com:8443/x` → `api.example.com:8443`: no userinfo, ever."""
    if not base_url:
        return ""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(base_url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    return f"{host}:{port}" if port else host


def _epoch(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


_MAX_INT = 2**63 - 1  # SQLite's INTEGER


def _text(value: object, limit: int = 200) -> str | None:
    """Server text as the journal keeps it: one printable line (no lone surrogates, which
    SQLite cannot encode), capped."""
    if not isinstance(value, str):
        return None
    from bulkop.sanitize import clean

    return clean(value, max_len=limit)


def _count(value: object) -> int | None:
    """A count SQLite can hold, or None (unknown) for anything else."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_INT:
        return value
    return None


def seen_op(op: Any, *, profile: str | None, host: str, observed_at: float | None = None) -> Seen:
    """A Seen from a BulkOperation (models.py) fetched from `host` (see host_of), observed at
    `observed_at` (epoch seconds; None: when it is written)."""
    return Seen(
        profile=profile,
        provider=str(op.provider),
        host=host,
        id=_text(str(op.id)) or "",
        status=op.status.value,
        word=op.status_word,
        name=_text(op.name),
        processed_rows=_count(op.processed_rows),
        estimated_total_rows=_count(op.estimated_total_rows),
        success_count=_count(op.success_count),
        error_count=_count(op.known_error_count),
        started_at=_epoch(op.started_at or op.inserted_at),
        ended_at=_epoch(op.completed_at or op.failed_at),
        observed_at=observed_at,
    )


def seen_json(data: Mapping[str, Any], *, profile: str | None, provider: str, host: str, op_id: str) -> Seen:
    """A Seen from what a bulk endpoint answered (leniently: a field of the wrong type is skipped)."""

    def count(key: str) -> int | None:
        return _count(data.get(key))

    def when(*keys: str) -> float | None:
        for key in keys:
            value = data.get(key)
            if isinstance(value, str):
                try:
                    parsed = datetime.fromisoformat(value)
                except ValueError:
                    continue
                if parsed.tzinfo is not None:
                    return parsed.timestamp()
        return None

    status = data.get("status")
    status = status if status in ("queued", "processing", "completed", "failed") else None
    return Seen(
        profile=profile,
        provider=provider,
        host=host,
        id=op_id,
        status=status,
        word=status,  # a body that says only finished or not has no "status" at all
        name=_text(data.get("name")),
        processed_rows=count("processed_rows"),
        estimated_total_rows=count("estimated_total_rows"),
        success_count=count("success_count"),
        error_count=count("error_count"),
        started_at=when("started_at", "inserted_at"),
        ended_at=when("completed_at", "failed_at"),
    )


def seen_in_json(data: Any) -> list[dict[str, Any]]:
    """The BulkOperation-like objects in a bulk endpoint's JSON (what `watch -` reads)."""
    found: list[dict[str, Any]] = []
    items = data if isinstance(data, list) else [data]
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("bulk_operation"), dict):
            found += seen_in_json(item["bulk_operation"])
        elif isinstance(item, dict) and isinstance(item.get("id"), str):
            found.append(item)
    return found


class Journal:
    """The journal file. Every method is safe to call when the journal is off or broken."""

    def __init__(
        self,
        path: Path | None,
        *,
        days: int = DEFAULT_DAYS,
        warn: Callable[[str], None] | None = None,
        sample_cap: int = SAMPLE_CAP,
    ) -> None:
        self.path = path  # None: the journal is off
        self.days = days
        self.sample_cap = max(4, sample_cap)
        self._warn = warn
        self._conn: Any = None
        self._broken = False
        self._pruned = False
        self._lock = threading.Lock()  # watch records from one thread, but be safe

    @property
    def enabled(self) -> bool:
        return self.path is not None and not self._broken

    # ------------------------------------------------------------------ the file

    def _connection(self) -> Any:
        if self._conn is None:
            import sqlite3

            assert self.path is not None
            _refuse_irregular(self.path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                version = conn.execute("PRAGMA user_version").fetchone()[0]  # also: is it SQLite?
                if version > SCHEMA_VERSION:
                    raise _Newer(version)  # before WAL: a newer bulkop's file is left untouched
                if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                # Never wait for the disk: every short-lived command's last close checkpoints,
                # and with NORMAL that cost two fsyncs in every `get`, slow on a busy disk.
                # A crash of bulkop (kill -9) still loses at most the write in progress;
                # only an OS crash or power cut can lose recent entries or damage the file,
                # which is then one warning (like any corrupt journal) until it is deleted.
                conn.execute("PRAGMA synchronous = OFF")
                conn.execute("PRAGMA foreign_keys = ON")
                self._migrate(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _migrate(self, conn: Any) -> None:
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it done
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _Newer(version)
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _guard(self, action: Callable[[Any], Any], default: Any) -> Any:
        """Run `action(connection)`; any problem with the file: one warning, then off."""
        if not self.enabled:
            return default
        import sqlite3

        with self._lock:
            try:
                return action(self._connection())
            # ValueError/OverflowError: a value SQLite cannot bind (the journal must never cost
            # a result, whatever a server sent).
            except (sqlite3.Error, OSError, ValueError, OverflowError, _Newer, _Irregular) as e:
                self._fail(e)
                return default

    def _guard_aside(self, action: Callable[[Any], Any]) -> None:
        """`_guard(action)` on a daemon thread, the caller waiting for it in Python: SQLite's
        busy wait blocks in C, where Ctrl-C and SIGTERM would wait for it; here they interrupt
        the wait at once, the journal is dropped (silently: the signal is the news) and the
        statement is interrupted."""
        done = threading.Event()

        def work() -> None:
            try:
                self._guard(action, None)
            finally:
                done.set()

        threading.Thread(target=work, name="bulkop-journal", daemon=True).start()
        try:
            done.wait()
        except BaseException:
            self._broken = True
            conn = self._conn
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.interrupt()
            raise

    def _fail(self, e: BaseException) -> None:
        self._broken = True
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._warn is not None:
            reason = str(e) or type(e).__name__
            self._warn(f"journal {self.path} not used ({reason}); the command itself is unaffected")

    def close(self) -> None:
        # Never wait here: a write abandoned to a signal may still hold the lock (its daemon
        # thread ends with the process).
        if not self._lock.acquire(blocking=not self._broken):
            return
        try:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
                self._conn = None
        finally:
            self._lock.release()

    # ------------------------------------------------------------------ writing

    def record(self, seen: Iterable[Seen], now: float, *, samples: bool = True) -> None:
        """Record observations in one transaction; prune what is too old."""
        batch = list(seen)
        if not batch or not self.enabled:
            return

        def write(conn: Any) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for s in batch:
                    row = self._upsert(conn, s, now)
                    if samples and s.processed_rows is not None and row is not None:
                        # Samples are the running interval only: while processing, then one at
                        # the end; never while queued (they would drag a seeded rate towards 0)
                        # nor after the end (a later `get` would flatten the average).
                        rowid, ended = row
                        at = _finite(s.observed_at)
                        at = now if at is None else min(at, now)
                        if s.status == "processing":
                            self._sample(conn, rowid, at, s.processed_rows, now)
                        elif s.status in FINISHED and ended is not None:
                            self._close(conn, rowid, min(at, ended), s.processed_rows, now)
                if not self._pruned:  # once per process: its samples go with it (ON DELETE CASCADE)
                    conn.execute("DELETE FROM operations WHERE last_seen < ?", (now - self.days * 86400.0,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            self._pruned = True

        self._guard_aside(write)

    def _upsert(self, conn: Any, s: Seen, now: float) -> tuple[int, float | None] | None:
        """Insert or update the one entry of this operation (provider, host, id): the profile is
        how it was last reached, so seeing it through another profile moves it there."""
        finished = s.status in FINISHED
        ended = (s.ended_at if s.ended_at is not None else now) if finished else None
        row = conn.execute(
            """INSERT INTO operations (profile, provider, host, id, name, status, processed_rows,
                   estimated_total_rows, success_count, error_count, started_at, first_seen, last_seen, ended_at,
                   word)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (provider, host, id) DO UPDATE SET
                   profile = excluded.profile,
                   name = coalesce(excluded.name, name),
                   status = coalesce(excluded.status, status),
                   word = CASE WHEN excluded.status IS NULL THEN word ELSE excluded.word END,
                   processed_rows = coalesce(excluded.processed_rows, processed_rows),
                   estimated_total_rows = coalesce(excluded.estimated_total_rows, estimated_total_rows),
                   success_count = coalesce(excluded.success_count, success_count),
                   error_count = coalesce(excluded.error_count, error_count),
                   started_at = coalesce(excluded.started_at, started_at),
                   last_seen = max(last_seen, excluded.last_seen),
                   ended_at = CASE WHEN excluded.status IS NULL THEN ended_at
                                   ELSE coalesce(ended_at, excluded.ended_at) END
               RETURNING key, ended_at""",
            (
                s.profile or "",
                s.provider,
                s.host,
                s.id,
                _text(s.name),
                s.status,
                s.processed_rows,
                s.estimated_total_rows,
                s.success_count,
                s.error_count,
                _finite(s.started_at),
                now,
                now,
                _finite(ended),
                None if s.status is None else _text(s.word),
            ),
        ).fetchone()
        return None if row is None else (int(row[0]), None if row[1] is None else float(row[1]))

    @staticmethod
    def _last_sample(conn: Any, op: int, now: float) -> Any:
        """The latest sample not in the future: one written by a process whose clock runs ahead
        must not block every other process's samples until the clocks meet."""
        return conn.execute(
            "SELECT t, processed FROM samples WHERE op = ? AND t <= ? ORDER BY t DESC LIMIT 1",
            (op, now + FUTURE_SLACK),
        ).fetchone()

    def _close(self, conn: Any, op: int, t: float, processed: int, now: float) -> None:
        """The sample at the end: the final count at the end time, once. When a sample taken
        while processing is already as late (recorded after its poll, or the server's clock),
        the final count goes just after it."""
        last = self._last_sample(conn, op, now)
        if last is not None and t <= last[0]:
            if last[1] == processed:
                return
            t = last[0] + 0.001
        self._sample(conn, op, t, processed, now)

    def _sample(self, conn: Any, op: int, t: float, processed: int, now: float) -> None:
        # Written in time order: an observation older than the latest sample (another watch
        # wrote a newer one first) adds nothing the series lacks, and readers sort anyway.
        last = self._last_sample(conn, op, now)
        if last is not None and t <= last[0]:
            return
        conn.execute("INSERT INTO samples (op, t, processed) VALUES (?, ?, ?)", (op, t, processed))
        (n,) = conn.execute("SELECT count(*) FROM samples WHERE op = ?", (op,)).fetchone()
        if n > self.sample_cap:
            # Thin the older half to every other sample: the series keeps its whole span (for
            # the chart) and its recent detail (for the rate), in bounded space.
            conn.execute(
                """DELETE FROM samples WHERE rowid IN (
                       SELECT rowid FROM (
                           SELECT rowid, row_number() OVER (ORDER BY t) AS k FROM samples WHERE op = ?
                       ) WHERE k % 2 = 0 AND k <= ?)""",
                (op, n // 2),
            )

    # ------------------------------------------------------------------ reading

    def entries(
        self,
        *,
        since: float | None = None,
        statuses: Sequence[str] = (),
        profile: str | None = None,
        limit: int | None = None,
    ) -> list[Entry]:
        """Operations seen since `since` (epoch seconds), newest first."""
        where: list[str] = ["1"]
        args: list[Any] = []
        if since is not None:
            where.append("last_seen >= ?")
            args.append(since)
        if statuses:
            # Each word as the views show it; "finished" and "not finished" are every finished
            # (or unfinished) operation, whichever provider and word.
            either: list[str] = []
            for word in dict.fromkeys(statuses):
                if word == "finished":
                    either.append("status IN ('completed', 'failed')")
                elif word == "not finished":
                    either.append("status IN ('queued', 'processing')")
                else:
                    either.append("word = ?")
                    args.append(word)
            where.append(f"({' OR '.join(either)})")
        if profile is not None:
            where.append("profile = ?")
            args.append(profile)
        sql = f"SELECT {_COLUMNS} FROM operations WHERE {' AND '.join(where)} ORDER BY last_seen DESC, key DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"

        def read(conn: Any) -> list[Entry]:
            return [_entry(row) for row in conn.execute(sql, args)]

        result: list[Entry] = self._guard(read, [])
        return result

    def profiles(self) -> set[str]:
        """Every profile an operation in the journal was last reached through."""

        def read(conn: Any) -> set[str]:
            return {str(p) for (p,) in conn.execute("SELECT DISTINCT profile FROM operations WHERE profile != ''")}

        result: set[str] = self._guard(read, set())
        return result

    def samples(self, entry: Entry | Seen) -> list[tuple[float, int]]:
        """The (time, processed rows) series of one operation, oldest first."""

        def read(conn: Any) -> list[tuple[float, int]]:
            return [
                (float(t), int(p))
                for t, p in conn.execute(
                    """SELECT s.t, s.processed FROM samples s JOIN operations o ON o.key = s.op
                       WHERE o.provider = ? AND o.host = ? AND o.id = ? ORDER BY s.t""",
                    (entry.provider, entry.host, entry.id),
                )
            ]

        result: list[tuple[float, int]] = self._guard(read, [])
        return result


_COLUMNS = (
    "id, profile, provider, host, name, status, processed_rows, estimated_total_rows, success_count, "
    "error_count, started_at, first_seen, last_seen, ended_at, word"
)


def _entry(row: Sequence[Any]) -> Entry:
    values = list(row)
    values[1] = values[1] or None
    return Entry(*values)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class _Newer(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(f"written by a newer bulkop (schema {version}, this one reads {SCHEMA_VERSION})")


class _Irregular(Exception):
    pass


def _refuse_irregular(path: Path) -> None:
    """SQLite writes whatever the path is: BULKOP_JOURNAL=/dev/stdout put a database into the
    NDJSON. The file and its -wal/-shm siblings are regular files or absent, else untouched."""
    from bulkop.config import irregular_kind

    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if kind := irregular_kind(each):
            raise _Irregular(f"{'it' if each == path else each} is {kind}, not a regular file; nothing was written")


# --------------------------------------------------------------------------- configuration


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def open_journal(
    env: Mapping[str, str],
    top_level: Mapping[str, Any],
    *,
    no_journal: bool = False,
    warn: Callable[[str], None] | None = None,
) -> Journal:
    """The journal as configured: --no-journal > BULKOP_NO_JOURNAL > config `journal = false`;
    BULKOP_JOURNAL moves the file; BULKOP_JOURNAL_DAYS or config `journal_days` ages it."""
    off = no_journal or _flag(env.get("BULKOP_NO_JOURNAL")) or top_level.get("journal") is False
    days = DEFAULT_DAYS
    raw_days = env.get("BULKOP_JOURNAL_DAYS") or top_level.get("journal_days")
    if raw_days is not None:
        days = _days(raw_days, warn)
    if off:
        return Journal(None, days=days, warn=warn)
    return Journal(journal_path(env), days=days, warn=warn)


MAX_DAYS = 3650


def _days(raw: object, warn: Callable[[str], None] | None) -> int:
    """journal_days from the config file or BULKOP_JOURNAL_DAYS, alike: a whole number from 1
    to MAX_DAYS; anything else is one warning and the default (it never costs a command)."""
    text = raw.strip() if isinstance(raw, str) else raw
    if isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= 6:
        value: object = int(text)
    else:
        value = text
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_DAYS:
        return value
    if warn is not None:
        shown = _text(raw if isinstance(raw, str) else repr(raw), 40)
        warn(f"journal_days {shown!r} is not a whole number of days from 1 to {MAX_DAYS}; using {DEFAULT_DAYS}")
    return DEFAULT_DAYS


def journal_path(env: Mapping[str, str]) -> Path:
    if env.get("BULKOP_JOURNAL"):
        return Path(env["BULKOP_JOURNAL"]).expanduser()
    from platformdirs import user_state_path

    return user_state_path("bulkop") / FILE_NAME


# --------------------------------------------------------------------------- watch


# What makes a series of samples consistent enough to read a rate from. Several processes
# write one journal at once, each its own polls, so the stored series is a merge of views that
# disagree by up to a poll's latency (or a clock's skew): a rate is read only from the part of
# it that is consistent, over a span long enough that such noise is small beside it, and by a
# slope that one bad point cannot move. No rate is better than a wrong one: the watch learns
# the rate from its own polls within seconds.
MIN_GAP = 1.0  # seconds: points closer than this are one point (their mean)
SEED_MIN_POINTS = 3
SEED_MIN_SPAN = 3.0  # seconds
RESET_FRACTION = 0.5  # two points in a row at or below this share of the maximum: a restart


def consistent_series(samples: Sequence[tuple[float, int]], *, now: float | None = None) -> list[tuple[float, int]]:
    """The consistent part of a (time, processed rows) series, oldest first: finite times not
    ahead of `now` (+ FUTURE_SLACK), sorted; only the last run when the counter restarted from
    near 0 (a re-run under the same id); the longest run whose counts never go backwards (a
    point that does, or a lone spike, is dropped); points closer than MIN_GAP merged."""
    limit = math.inf if now is None else now + FUTURE_SLACK
    points = sorted(
        (float(t), max(0, int(p)))
        for t, p in samples
        if isinstance(t, (int, float)) and math.isfinite(t) and t <= limit
    )
    if len(points) < 2:
        return points
    # A restart: the count falls to at most half its maximum and stays there for two points
    # (one low point is noise; a lone spike high above the rest restarts at worst the history
    # before it, which a rate never reads).
    top, start = points[0][1], 0
    for i in range(1, len(points)):
        rows = points[i][1]
        if (
            rows < top
            and rows <= top * RESET_FRACTION
            and i + 1 < len(points)
            and points[i + 1][1] <= top * RESET_FRACTION
        ):
            start, top = i, rows
        top = max(top, rows)
    points = _non_decreasing(points[start:])
    merged: list[tuple[float, int]] = []
    group: list[tuple[float, int]] = []
    for point in points:
        if group and point[0] - group[0][0] >= MIN_GAP:
            merged.append(_mean(group))
            group = []
        group.append(point)
    merged.append(_mean(group))
    return merged


def _non_decreasing(points: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """The longest subsequence whose counts never decrease (patience sorting, O(n log n)); of
    equally long ones, the latest."""
    import bisect

    tails: list[int] = []  # the smallest last count of a run of each length
    tail_at: list[int] = []  # its index
    before = [-1] * len(points)
    for i, (_, rows) in enumerate(points):
        k = bisect.bisect_right(tails, rows)
        if k == len(tails):
            tails.append(rows)
            tail_at.append(i)
        else:
            tails[k] = rows
            tail_at[k] = i
        before[i] = tail_at[k - 1] if k else -1
    run = []
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        run.append(points[i])
        i = before[i]
    return run[::-1]


def _mean(group: Sequence[tuple[float, int]]) -> tuple[float, int]:
    if len(group) == 1:
        return group[0]
    return sum(t for t, _ in group) / len(group), round(sum(p for _, p in group) / len(group))


def seed_samples(
    samples: Sequence[tuple[float, int]], window: float, *, now: float | None = None
) -> list[tuple[float, int]]:
    """What a re-attached watch seeds its rate from: two points on the line that fits the recent
    consistent series (within `window` s of its last point, at least SEED_MIN_POINTS points over
    SEED_MIN_SPAN s; else nothing). Its slope is the median of the pairwise slopes (Theil-Sen:
    one bad point cannot move it); it ends at the last point, never above a count observed, so
    the watch's first poll continues it. The running phase only: a leading run without progress
    (an older journal's queued samples) keeps only its last point."""
    run = consistent_series(samples, now=now)
    first = 0
    while first + 1 < len(run) and run[first + 1][1] == run[0][1]:
        first += 1
    run = run[first:]
    last = run[-1][0] if run else 0.0
    recent = [s for s in run if s[0] >= last - window]
    if len(recent) < SEED_MIN_POINTS:
        recent = run[-SEED_MIN_POINTS:]
    if len(recent) < SEED_MIN_POINTS or recent[-1][0] - recent[0][0] < SEED_MIN_SPAN:
        return []
    slope = _median([(rb - ra) / (tb - ta) for i, (ta, ra) in enumerate(recent) for tb, rb in recent[i + 1 :]])
    if not math.isfinite(slope):
        return []
    t1, r1 = recent[-1]
    fitted = _median([r - slope * (t - t1) for t, r in recent])  # the line's count at t1
    end = max(0, min(r1, math.floor(fitted)))
    t0 = recent[0][0]
    if slope > 0:
        t0 = max(t0, t1 - end / slope)  # the line reaches 0 rows no earlier than this
    if t0 >= t1:
        return []
    return [(t0, max(0, round(end - slope * (t1 - t0)))), (t1, end)]


def _median(values: list[float]) -> float:
    values.sort()
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def seed_rate(rate: Any, samples: Sequence[tuple[float, int]], *, mono_now: float, wall_now: float) -> None:
    """Seed a progress.RateEstimator from journal samples (wall times) on the watch's clock, so
    a re-attached watch knows its rate and ETA at the first poll."""
    for t, processed in seed_samples(samples, getattr(rate, "window", 15.0), now=wall_now):
        rate.observe(mono_now - (wall_now - t), processed)


def running_series(
    samples: Sequence[tuple[float, int]],
    *,
    started_at: float | None,
    ended_at: float | None,
    final_rows: int | None,
) -> tuple[list[tuple[float, int]], int]:
    """The (time, rows) series of an operation's own running interval, for its throughput: from
    its start (the server's started_at, at 0 rows) to its end (ended_at, at its final count),
    each known from the server; else the sampled span. Returns the series and how many of its
    points are journal samples."""
    inside = [
        (t, p) for t, p in samples if (started_at is None or t >= started_at) and (ended_at is None or t <= ended_at)
    ]
    n = len(inside)
    if started_at is not None and (not inside or inside[0][0] > started_at):
        inside.insert(0, (started_at, 0))
    if ended_at is not None and final_rows is not None and (not inside or inside[-1][0] < ended_at):
        inside.append((ended_at, final_rows))
    return inside, n
