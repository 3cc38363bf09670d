"""Trust (issue 12, HTTP layer; issue 13 item 3): what a hostile server or a mistyped URL tried.

Each class of failure is tested end to end, through the real CLI (in-process, or as a real
process where memory or a hang matters) against a raw server of this file's own on 127.0.0.1
that writes whatever bytes a test asks for: a TLS impostor, trickled headers and bodies,
stacked gzip bombs, cookies, answers about another operation, 20 MB strings.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bulkop.api import Client
from bulkop.errors import UsageError
from bulkop.providers import BUILTIN_NAMES
from conftest import KNOCK_TOKEN, minimal_env, run_cli
from helpers import VALID_KNOCK, assert_one_line_error, env_for, write_config

# typer 0.24 imports helpers that click 8.5 deprecates, and pyproject makes warnings errors.
pytestmark = pytest.mark.filterwarnings("ignore:'click\\.utils\\.:DeprecationWarning")

SRC = Path(__file__).parent.parent / "src" / "bulkop"
OP = "123e4567-e89b-12d3-a456-426614174000"
OTHER = "9b2d6a0e-47c1-4c55-9d8e-3c1f0a7b6e21"
FAST = ["--request-timeout", "2", "--retries", "0"]
PASSWORD = "Pa55-w0rd_that-must-never-show"
MiB = 1024 * 1024


# --------------------------------------------------------------------------- a raw server


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


Answer = Callable[[socket.socket, Seen], bool]  # True: keep the connection open for another


@dataclass
class RawServer:
    """A server on 127.0.0.1 whose answers are raw bytes written by the test (`answer(conn, seen)`).

    With `tls`, it speaks TLS with that context: a client that checks certificates hangs up
    during the handshake, so no request is ever seen.
    """

    answer: Answer
    tls: ssl.SSLContext | None = None
    requests: list[Seen] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    handshakes_refused: int = 0

    def __post_init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._thread.join(5)
        self._sock.close()

    def wait_for_refused_handshake(self) -> bool:
        """True once the server has seen a client hang up during the TLS handshake."""
        for _ in range(100):
            if self.handshakes_refused:
                return True
            time.sleep(0.05)
        return False

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                self.handshakes_refused += 1
                conn.close()
                return
        with conn:
            buffer = b""
            while not self.stopping.is_set():
                while b"\r\n\r\n" not in buffer:
                    try:
                        data = conn.recv(65536)
                    except OSError:
                        return
                    if not data:
                        return
                    buffer += data
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    key = name.strip().lower()
                    headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
                seen = Seen(method, path, headers)
                self.requests.append(seen)
                try:
                    if not self.answer(conn, seen):
                        return
                except OSError:  # the client hung up, as it should when it gives up
                    return


def respond(
    conn: socket.socket,
    body: bytes = b"",
    status: int = 200,
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),),
    keep_alive: bool = False,
) -> bool:
    head = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers]
    head += [f"Content-Length: {len(body)}", "Connection: keep-alive" if keep_alive else "Connection: close"]
    conn.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)
    return keep_alive


def knock_op(op_id: str = OP, **changes: object) -> bytes:
    return json.dumps({**VALID_KNOCK, "id": op_id, **changes}).encode()


def knock_answer(conn: socket.socket, seen: Seen) -> bool:
    """A valid completed operation, for whichever id was asked."""
    return respond(conn, knock_op(seen.path.rsplit("/", 1)[-1]))


def write_profiles(**profiles: dict[str, str]) -> None:
    """config.toml with these [profiles.NAME] tables, private as bulkop writes it (a readable
    secret would add a warning line)."""
    tables = (
        f"[profiles.{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items())
        for name, table in profiles.items()
    )
    write_config("".join(tables))


def base_url_from(source: str, url: str, key_in_profile: bool = True) -> tuple[list[str], dict[str, str]]:
    """The arguments and environment that give bulkop `url` as its base URL from `source`: the
    --base-url flag, the profile `lab` in config.toml, or the environment variable `source`."""
    env = {"KNOCK_API_KEY": KNOCK_TOKEN}
    if source == "flag":
        return ["--base-url", url], env
    if source == "profile":
        lab = {"provider": "knock", "base_url": url}
        write_profiles(lab={**lab, "api_key": KNOCK_TOKEN} if key_in_profile else lab)
        return ["--profile", "lab"], env
    return [], {**env, source: url}


# --------------------------------------------------------------------------- 1. TLS, whatever the spelling


@pytest.fixture(scope="session")
def impostor_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server-side TLS context with a self-signed certificate for 127.0.0.1 (no CA signed it)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    where = tmp_path_factory.mktemp("impostor")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _spell(url: str, scheme: str) -> str:
    return scheme + url[len("https") :]


@pytest.mark.parametrize("scheme", ["HTTPS", "Https", "hTTpS", "httpS", "https"])
@pytest.mark.parametrize("source", ["flag", "BULKOP_BASE_URL", "KNOCK_BASE_URL", "profile"])
def test_an_https_url_in_any_spelling_verifies_the_certificate(impostor_tls, isolated_env, scheme, source):
    """A self-signed impostor gets a refused handshake, never the key, however https is spelled."""
    with RawServer(knock_answer, tls=impostor_tls) as server:
        url = _spell(server.url, scheme)
        args, env = base_url_from(source, url)
        r = run_cli(["get", OP, *FAST, *args], env)
        assert_one_line_error(r, 6, "certificate")
        assert server.wait_for_refused_handshake() and server.requests == []
        # Guard: the impostor really answers whoever skips the check, key included.
        with httpx.Client(verify=False) as unchecked:
            answer = unchecked.get(f"{server.url}/v1/bulk_operations/{OP}", headers={"Authorization": "Bearer x"})
        assert answer.status_code == 200 and server.requests[-1].headers["authorization"] == "Bearer x"


@pytest.mark.parametrize("scheme", ["HTTPS", "Https"])
def test_a_saymon_password_never_reaches_a_tls_impostor(impostor_tls, scheme):
    with RawServer(knock_answer, tls=impostor_tls) as server:
        r = run_cli(["status", "job-1", *FAST], env_for("saymon", _spell(server.url, scheme)))
        assert_one_line_error(r, 6, "certificate")
        assert server.requests == []


def test_no_client_is_ever_built_without_certificate_checks():
    """The root of issue 12 item 1: a client "for plain http" built with verify=False."""
    offending = re.compile(r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context")
    for path in sorted(SRC.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not offending.search(line), f"{path.relative_to(SRC.parent)}:{number}: {line.strip()}"


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("HTTPS://API.Knock.app/", "https://api.knock.app"),
        ("Https://api.knock.app:0443/v1/", "https://api.knock.app:443/v1"),
        ("hTTp://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("HTTP://[::1]:9000/", "http://[::1]:9000"),
        ("  https://saymon.example.com/base  ", "https://saymon.example.com/base"),
    ],
)
def test_the_base_url_is_normalised_once_where_it_is_validated(isolated_env, given, normal):
    """What `config set` stores and `config show` reports is the normal form every layer uses."""
    write_profiles(lab={"provider": "knock"})
    r = run_cli(["config", "set", "lab", "base_url", given])
    assert r.code == 0, r.stderr
    assert f'base_url = "{normal}"' in isolated_env.read_text()
    shown = run_cli(["config", "show", "-p", "lab", "-o", "json"])
    assert json.loads(shown.stdout)["settings"]["base_url"]["value"] == normal, shown.stdout
    assert Client("knock", given, api_key="k").base_url == normal


# --------------------------------------------------------------------------- 11. base URLs that cannot be used

BAD_BASE_URLS = {
    "nul": "https://api.knock.app\x00",
    "control": "https://api.knock.app/\x1b[2J",
    "del": "https://api.kn\x7fock.app",
    "space": "https://api knock.app",
    "undecodable-byte": "https://api.knock.app/\udcff",  # a non-UTF-8 byte, as Python reads it
    "non-ascii-host": "https://bülk.example",
    "port-too-big": "https://api.knock.app:99999",
    "port-not-a-number": "https://api.knock.app:https",
    "unclosed-ipv6": "https://[::1",
    "bad-ipv6": "https://[not:an:ip]",
    "bad-escape": "https://api.knock.app/%zz",
    "dot-segment": "https://api.knock.app/v1/../admin",
    "encoded-dot-segment": "https://api.knock.app/%2E%2e",
    "query": "https://api.knock.app/?x=1",
    "fragment": "https://api.knock.app#x",
    "backslash": "https://api.knock.app\\@evil.example",
    "no-host": "https://",
    "other-scheme": "ftp://api.knock.app",
    "no-scheme": "api.knock.app",
}


@pytest.mark.parametrize("case", list(BAD_BASE_URLS))
@pytest.mark.parametrize(("source", "code"), [("flag", 2), ("env", 7), ("profile", 7)])
def test_an_unusable_base_url_is_a_clean_usage_or_config_error(isolated_env, case, source, code):
    url = BAD_BASE_URLS[case]
    if source == "profile" and "\udcff" in url:
        pytest.skip("TOML cannot hold a lone surrogate")
    args, env = base_url_from("BULKOP_BASE_URL" if source == "env" else source, url, key_in_profile=False)
    line = assert_one_line_error(run_cli(["get", OP, *FAST, *args], env), code)
    assert "should be an http:// or https:// URL" in line or "user name or password" in line, line


@pytest.mark.slow
@pytest.mark.parametrize("url", [b"https://api.knock.app/\xff", b"https://api.kn\xc3ock.app", b"https://\xff"])
@pytest.mark.parametrize(("source", "code"), [("flag", 2), ("env", 7)])
def test_a_byte_that_is_not_utf8_in_a_real_process_is_exit_2_or_7(isolated_env, url, source, code):
    """As the shell hands it over: bytes, which Python reads with surrogate escapes."""
    env = {k.encode(): v.encode() for k, v in minimal_env(KNOCK_API_KEY=KNOCK_TOKEN).items()}
    args: list[str | bytes] = [sys.executable, "-m", "bulkop", "get", OP]
    if source == "flag":
        args += ["--base-url", url]
    else:
        env[b"BULKOP_BASE_URL"] = url
    p = subprocess.run(
        args, env=env, capture_output=True, text=True, errors="replace", timeout=30, stdin=subprocess.DEVNULL
    )
    assert_one_line_error(p, code, "should be an http:// or https:// URL")


@pytest.mark.parametrize(
    "url",
    [
        f"https://ops:{PASSWORD}@saymon.example.com",
        f"HTTPS://ops:{PASSWORD}@saymon.example.com/",
        f"https://{PASSWORD}@saymon.example.com",
        f"https://ops:{PASSWORD[:8]}/{PASSWORD[8:]}@saymon.example.com",
        f"https://ops:{PASSWORD[:8]}#{PASSWORD[8:]}@saymon.example.com",
        f"https://ops:{PASSWORD[:8]}?{PASSWORD[8:]}@saymon.example.com",
        f"https://ops:{PASSWORD}@127.0.0.1:1",
        f"ops:{PASSWORD}@saymon.example.com",
    ],
    ids=[
        "user-and-password",
        "upper-case-scheme",
        "password-alone",
        "slash-in-password",
        "hash-in-password",
        "question-mark-in-password",
        "loopback",
        "no-scheme",
    ],
)
@pytest.mark.parametrize(
    ("how", "code"),
    [("get-flag", 2), ("watch-flag", 2), ("env", 7), ("profile", 7), ("config-add", 2), ("config-set", 2)],
)
def test_a_password_in_the_base_url_is_never_echoed(isolated_env, url, how, code):
    env = env_for("saymon", "https://unused.example")
    if how == "get-flag":
        r = run_cli(["get", "job-1", "--base-url", url], env)
    elif how == "watch-flag":
        r = run_cli(["watch", "job-1", "--base-url", url], env)
    elif how == "env":
        r = run_cli(["get", "job-1"], {**env, "BULKOP_BASE_URL": url})
    elif how == "profile":
        write_profiles(lab={"provider": "saymon", "base_url": url})
        r = run_cli(["get", "job-1", "--profile", "lab"], {"SAYMON_LOGIN": "ops", "SAYMON_PASSWORD": "x"})
    elif how == "config-add":
        r = run_cli(["config", "add", "lab", "--provider", "saymon", "--base-url", url, "--login", "ops"], stdin="pw")
    else:
        write_profiles(lab={"provider": "saymon"})
        r = run_cli(["config", "set", "lab", "base_url", url])
    assert r.code == code, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    for piece in (PASSWORD, PASSWORD[:8], PASSWORD[8:]):
        assert piece not in r.stdout + r.stderr
    if how != "config-set":  # `config set` words its own errors, without the value
        assert "user name or password" in r.stderr or "should be an http://" in r.stderr, r.stderr
    if how.startswith("config"):
        assert not isolated_env.exists() or PASSWORD[8:] not in isolated_env.read_text()


@pytest.mark.parametrize(
    ("source", "code"), [("flag", 2), ("BULKOP_BASE_URL", 7), ("KNOCK_BASE_URL", 7), ("profile", 7)]
)
@pytest.mark.parametrize("scheme", ["http", "HTTP"])
def test_a_plain_http_refusal_is_a_config_error_when_the_url_is_configured(isolated_env, source, code, scheme):
    url = f"{scheme}://bulk.example.test"
    args, env = base_url_from(source, url)
    r = run_cli(["get", OP, *args], env)
    assert_one_line_error(r, code, "refusing to send credentials over plain http://", "bulk.example.test")


# --------------------------------------------------------------------------- 2. stacked encodings


def _zeros_raw_deflate(size: int) -> tuple[bytes, int, int]:
    """Raw deflate of `size` zero bytes, built in milliseconds: one fully flushed 16 MiB segment
    (no back-references across it) repeated. Returns (stream, crc32, adler32) of the zeros."""
    block = b"\0" * (16 * MiB)
    segment = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    piece = segment.compress(block) + segment.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush()
    crc, adler = 0, 1
    for _ in range(size // len(block)):
        crc, adler = zlib.crc32(block, crc), zlib.adler32(block, adler)
    return piece * (size // len(block)) + end, crc, adler


def _wrap(raw: bytes, crc: int, adler: int, size: int, encoding: str) -> bytes:
    if encoding == "gzip":
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + raw + struct.pack("<II", crc, size & 0xFFFFFFFF)
    if encoding == "deflate":  # zlib-wrapped, as RFC 9110 says
        return b"\x78\xda" + raw + struct.pack(">I", adler)
    return raw  # raw deflate, as some servers send for "deflate"


def _encode(data: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.compress(data, mtime=0)
    if encoding == "deflate":
        return zlib.compress(data, 9)
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return raw.compress(data) + raw.flush()


# The layers as sent (Content-Encoding lists them in the order applied); "deflate-raw" is a
# deflate header over raw deflate data. Every bomb decodes to 1 GiB of zeros.
BOMBS = {
    "gzip,gzip in one header": (("gzip, gzip",), ["gzip", "gzip"]),
    "gzip and gzip in two headers": (("gzip", "gzip"), ["gzip", "gzip"]),
    "deflate then gzip": (("deflate, gzip",), ["deflate", "gzip"]),
    "gzip then raw deflate": (("gzip, deflate",), ["gzip", "deflate-raw"]),
    "three layers, mixed case": (("GZIP, x-gzip", "Deflate"), ["gzip", "gzip", "deflate"]),
    "identity in between": (("gzip, identity, gzip",), ["gzip", "gzip"]),
}
BOMB_SIZE = 1024 * MiB


@pytest.fixture(scope="session")
def zeros_1gib() -> tuple[bytes, int, int]:
    return _zeros_raw_deflate(BOMB_SIZE)


def _bomb(zeros: tuple[bytes, int, int], layers: list[str]) -> bytes:
    raw, crc, adler = zeros
    body = _wrap(raw, crc, adler, BOMB_SIZE, layers[0])
    for encoding in layers[1:]:
        body = _encode(body, encoding)
    return body


def _bomb_answer(body: bytes, headers: tuple[str, ...]) -> Answer:
    def answer(conn: socket.socket, seen: Seen) -> bool:
        return respond(
            conn, body, headers=(("Content-Type", "application/json"), *(("Content-Encoding", h) for h in headers))
        )

    return answer


@pytest.mark.parametrize("case", list(BOMBS))
def test_a_stacked_encoding_bomb_stops_at_the_cap(zeros_1gib, case):
    headers, layers = BOMBS[case]
    body = _bomb(zeros_1gib, layers)
    assert len(body) < 2 * MiB
    with RawServer(_bomb_answer(body, headers)) as server:
        r = run_cli(["get", OP, *FAST], env_for("knock", server.url, BULKOP_MAX_BODY_SIZE="1000000"))
    assert_one_line_error(r, 6, "cap")


# Runs a command as its only child and reports the child's exit code and peak RSS (KiB).
PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL).returncode\n"
    "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["gzip,gzip in one header", "gzip and gzip in two headers", "deflate then gzip", "gzip then raw deflate"]
)
def test_a_stacked_encoding_bomb_keeps_memory_near_the_cap(zeros_1gib, isolated_env, case):
    """With the default 64 MiB cap, a few KB that decode to 1 GiB never cost more than ~the cap."""
    headers, layers = BOMBS[case]
    with RawServer(_bomb_answer(_bomb(zeros_1gib, layers), headers)) as server:
        p = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, sys.executable, "-m", "bulkop", "get", OP, *FAST],
            env=minimal_env(env_for("knock", server.url)),
            capture_output=True,
            text=True,
            timeout=120,
        )
    code, peak_kib = map(int, p.stdout.split()[-2:])
    assert code == 6, p.stderr
    assert "cap" in p.stderr and "64 MiB" in p.stderr, p.stderr
    assert peak_kib < 300 * 1024, f"peak RSS {peak_kib // 1024} MiB"


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip;q=1", "x-custom", "gzip, br"])
def test_an_encoding_bulkop_did_not_ask_for_is_an_invalid_answer(encoding):
    with RawServer(_bomb_answer(knock_op(), (encoding,))) as server:
        r = run_cli(["get", OP, *FAST], env_for("knock", server.url))
        assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"
    assert_one_line_error(r, 6, "Content-Encoding")


@pytest.mark.parametrize(
    ("headers", "layers"),
    [
        (("gzip",), ["gzip"]),
        (("deflate",), ["deflate"]),
        (("deflate",), ["deflate-raw"]),
        (("gzip, deflate",), ["gzip", "deflate"]),
        (("deflate", "gzip"), ["deflate", "gzip"]),
        (("identity",), []),
        (("",), []),
    ],
)
def test_every_encoding_bulkop_asks_for_decodes(headers, layers):
    body = knock_op()
    for encoding in layers:
        body = _encode(body, encoding)
    with RawServer(_bomb_answer(body, headers)) as server:
        r = run_cli(["get", OP, "-o", "json", *FAST], env_for("knock", server.url))
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["id"] == OP


# --------------------------------------------------------------------------- 3. a total deadline


def _trickle(conn: socket.socket, server: RawServer, head: bytes, drip: Iterator[bytes], every: float = 0.2) -> bool:
    conn.sendall(head)
    for piece in drip:
        if server.stopping.wait(every):
            break
        conn.sendall(piece)
    return False


def _forever(piece: bytes) -> Iterator[bytes]:
    while True:
        yield piece


TRICKLES: dict[str, Callable[[RawServer], Answer]] = {
    "headers": lambda s: lambda conn, seen: _trickle(conn, s, b"HTTP/1.1 200 OK\r\nX-Slow: ", _forever(b"a")),
    "body-with-length": lambda s: (
        lambda conn, seen: _trickle(
            conn,
            s,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
            _forever(b" "),
        )
    ),
    "endless-chunks": lambda s: (
        lambda conn, seen: _trickle(
            conn,
            s,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            _forever(b"1\r\n \r\n"),
        )
    ),
    "gzip-body": lambda s: (
        lambda conn, seen: _trickle(
            conn,
            s,
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
            (b"1\r\n%s\r\n" % bytes([b]) for b in gzip.compress(b" " * 100000)),
        )
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("trickle", list(TRICKLES))
@pytest.mark.parametrize("command", ["get", "status"])
def test_a_trickling_server_cannot_hold_a_request_past_its_deadline(isolated_env, trickle, command):
    """A byte every 0.2 s keeps any per-read timeout happy; the request's deadline still ends it.
    (The subprocess timeout is only there so that a regression fails instead of hanging.)"""
    server = RawServer(knock_answer)
    server.answer = TRICKLES[trickle](server)
    with server:
        p = subprocess.run(
            [sys.executable, "-m", "bulkop", command, OP, "--request-timeout", "1", "--retries", "1"],
            env=minimal_env(env_for("knock", server.url)),
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        assert len(server.requests) == 2  # each attempt had its own deadline
    assert_one_line_error(p, 6, "timed out after 1s (after 2 attempts)")


def _full_backlog() -> tuple[socket.socket, socket.socket, int]:
    """A port whose listen queue is full: a connect there hangs until it times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    queued = socket.create_connection(listener.getsockname())
    return listener, queued, listener.getsockname()[1]


@pytest.mark.parametrize(("timeout", "shown"), [("0.5", "0.5s"), ("30", "5s")])
def test_a_connect_timeout_names_the_connect_timeout(timeout, shown):
    listener, queued, port = _full_backlog()
    try:
        r = run_cli(
            ["get", OP, "--request-timeout", timeout, "--retries", "0"], env_for("knock", f"http://127.0.0.1:{port}")
        )
    finally:
        queued.close()
        listener.close()
    assert_one_line_error(r, 6, f"connect timed out after {shown}")
    assert "after 30s" not in r.stderr


# --------------------------------------------------------------------------- 9. cookies

SET_COOKIES = (
    ("Set-Cookie", "session=abc123"),
    ("Set-Cookie", "tracker=1; Path=/; Max-Age=3600"),
    ("Set-Cookie", "wide=1; Domain=127.0.0.1; Path=/"),
    ("Set-Cookie", "lax=1; SameSite=Lax; HttpOnly"),
)


def _cookie_server_answer(counts: dict[str, int], lock: threading.Lock, finish_after: int) -> Answer:
    """Knock operations that finish on the `finish_after`-th request; every answer sets cookies."""

    def answer(conn: socket.socket, seen: Seen) -> bool:
        op_id = seen.path.rsplit("/", 1)[-1]
        with lock:
            counts[op_id] = counts.get(op_id, 0) + 1
            n = counts[op_id]
        if n == 1 and op_id == OTHER:
            return respond(
                conn, b'{"message": "busy"}', 503, (("Content-Type", "application/json"), *SET_COOKIES), keep_alive=True
            )
        body = (
            knock_op(op_id)
            if n >= finish_after
            else knock_op(op_id, status="processing", processed_rows=n, success_count=n, completed_at=None)
        )
        return respond(conn, body, headers=(("Content-Type", "application/json"), *SET_COOKIES), keep_alive=True)

    return answer


@pytest.mark.parametrize("command", ["get-retry", "get-two-ids", "watch", "watch-two-profiles"])
def test_cookies_are_never_stored_nor_sent_back(isolated_env, command):
    counts: dict[str, int] = {}
    with RawServer(_cookie_server_answer(counts, threading.Lock(), 1 if command.startswith("get") else 3)) as server:
        env = env_for("knock", server.url)
        if command == "get-retry":  # a 503 that sets cookies, then the retry
            r = run_cli(["get", OTHER, "--retries", "2"], env, sleep=lambda s: None)
        elif command == "get-two-ids":
            r = run_cli(["get", OP, OTHER], env, sleep=lambda s: None)
            r2 = run_cli(["get", OP], env)
            assert r2.code == 0
        elif command == "watch":
            r = run_cli(["watch", OP, "--display", "lines", "--interval", "0.05"], env)
        else:
            write_profiles(
                a={"provider": "knock", "base_url": server.url, "api_key": "key-a"},
                b={"provider": "knock", "base_url": server.url, "api_key": "key-b"},
            )
            r = run_cli(
                ["watch", f"a:{OP}", f"b:{OTHER}", "--display", "lines", "--interval", "0.05"],
                {"PATH": os.environ.get("PATH", "")},
            )
        assert r.code == 0, r.stderr
        assert len(server.requests) >= 2
        assert [s.headers.get("cookie") for s in server.requests] == [None] * len(server.requests)


# --------------------------------------------------------------------------- 10. ids that leave their route

ESCAPING_IDS = [
    ".",
    "..",
    "%2e%2e",
    "%2E.",
    ".%2e",
    "./",
    "../x",
    "a/..",
    "a\\b",
    "..\\",
    "a?b",
    "?",
    "a#b",
    "#",
    "a%2fb",
    "a%00",
    "a;b",
    "..;",
    " .. ",
    "a b",
    "a\tb",
    "a\nb",
    "\u3002\u3002",
    "\uff0e\uff0e",
    "a\u2028b",
    "\x00",
]


@pytest.mark.parametrize("provider", BUILTIN_NAMES)
@pytest.mark.parametrize("op_id", ESCAPING_IDS)
def test_every_provider_refuses_an_id_that_would_leave_its_route_segment(provider, op_id):
    client = Client(provider, "https://api.example.com", api_key="k", login="u", password="p")
    with pytest.raises(UsageError) as e:
        client.normalize_id(op_id)
    assert e.value.exit_code == 2


@pytest.mark.parametrize("op_id", [".", "..", "%2e%2e", "a?b", "a#b", "a;b", "..;", "a%2fb", "\uff0e\uff0e"])
@pytest.mark.parametrize("how", ["get", "status", "watch", "watch-stdin", "watch-stdin-json"])
def test_an_id_that_leaves_its_route_is_refused_before_any_request(op_id, how):
    with RawServer(lambda conn, seen: respond(conn, b'{"finished": true}')) as server:
        env = env_for("saymon", server.url)
        if how == "watch-stdin":
            r = run_cli(["watch", "-"], env, stdin=f"job-1\n{op_id}\n")
        elif how == "watch-stdin-json":
            r = run_cli(["watch", "-"], env, stdin=json.dumps(["job-1", op_id]))
        else:
            r = run_cli([how, op_id, *FAST], env)
        assert r.code == 2, r.stderr
        assert "Traceback" not in r.stderr
        assert server.requests == []


def test_ordinary_saymon_ids_still_work():
    client = Client("saymon", "https://saymon.example.com", login="u", password="p")
    for op_id in ["job-42", "5f3e2a1b9c8d7e6f5a4b3c2d", "a.b", "...", "x:y", "~user_1"]:
        assert client.normalize_id(op_id) == op_id


# --------------------------------------------------------------------------- 13.3 an answer about another operation


@pytest.mark.parametrize(
    ("echoed", "code"),
    [
        (OTHER, 6),
        ("00000000-0000-0000-0000-000000000000", 6),
        (OP.upper(), 0),
        ("{" + OP + "}", 0),
        (OP.replace("-", ""), 0),
    ],
    ids=["another-uuid", "nil-uuid", "upper-case", "braces", "no-dashes"],
)
@pytest.mark.parametrize("command", [["get"], ["get", "-o", "json"], ["status"], ["watch", "--display", "lines"]])
def test_an_answer_about_another_operation_is_invalid(echoed, code, command):
    """Knock echoes the id: an answer for another one is exit 6; the same UUID spelled
    differently is the same operation."""
    with RawServer(lambda conn, seen: respond(conn, knock_op(echoed))) as server:
        r = run_cli(
            [*command, OP, *FAST]
            if command[0] != "watch"
            else [*command, OP, "--max-consecutive-failures", "1", "--request-timeout", "2"],
            env_for("knock", server.url),
            sleep=lambda s: None,
        )
    if code == 0:
        assert r.code == 0, r.stderr
    elif command[-1] == "json":
        assert r.code == 6 and "not the one asked for" in r.stderr, r.stderr
    else:
        assert r.code == 6, r.stderr
        assert "not the one asked for" in r.stderr and OP in r.stderr, r.stderr


# --------------------------------------------------------------------------- 11. server text in messages

HUGE = "A" * (20 * MiB)


@pytest.mark.parametrize(
    "answer",
    [
        lambda: (200, knock_op(status=HUGE), ()),
        lambda: (200, knock_op(OP, name=7, status=HUGE), ()),
        lambda: (200, knock_op(HUGE), ()),
        lambda: (200, knock_op(inserted_at=HUGE), ()),
        lambda: (404, json.dumps({"code": HUGE, "message": HUGE}).encode(), ()),
        lambda: (500, json.dumps({"errors": {"detail": HUGE}}).encode(), ()),
        lambda: (200, HUGE.encode(), ()),
        lambda: (302, b"", (("Location", "https://elsewhere.example/" + "B" * 8000),)),
        lambda: (200, knock_op(), (("Content-Encoding", "x" * 8000),)),
        lambda: (200, b"not json", (("Content-Type", "text/" + "c" * 8000),)),
    ],
    ids=[
        "status",
        "status-and-name",
        "id",
        "timestamp",
        "error-message",
        "router-detail",
        "non-json-body",
        "redirect-location",
        "content-encoding",
        "content-type",
    ],
)
def test_server_text_in_an_error_line_is_capped(answer):
    status, body, headers = answer()

    def reply(conn: socket.socket, seen: Seen) -> bool:
        return respond(conn, body, status, (("Content-Type", "application/json"), *headers))

    with RawServer(reply) as server:
        r = run_cli(["get", OP, *FAST], env_for("knock", server.url))
        rj = run_cli(["get", OP, "-o", "json", *FAST], env_for("knock", server.url))
    assert r.code in (4, 5, 6) and rj.code == r.code, r.stderr[:500]
    assert_one_line_error(r, r.code)
    assert len(r.stderr) < 2000 and len(rj.stderr) < 2000, (len(r.stderr), len(rj.stderr))
