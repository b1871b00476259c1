"""Start real, throwaway Redis and PostgreSQL servers for the test run.

Used from tests/conftest.py. Everything listens on 127.0.0.1 only, keeps its
files under a temporary directory and is stopped when the context manager
exits, so a test run leaves nothing behind on the machine.

    with redis_server(tmp) as redis_url, postgres_server(tmp) as db_url:
        ...

`RedisServer` / `PostgresServer` can also be used directly by chaos tests that
need to stop a server and start it again on the same port.

This module deliberately needs only the standard library: readiness checks use
a raw socket (Redis) and PostgreSQL's own client programs (pg_isready,
createdb), so it can report "server not installed" even before the Python
drivers are importable.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"

# Readiness polling: a bounded number of attempts rather than a deadline, so a
# slow CI machine only makes the wait longer, never flaky. ~30 s worst case.
READY_ATTEMPTS = 300
READY_INTERVAL = 0.1

# How long to wait for a clean shutdown before resorting to SIGKILL.
STOP_TIMEOUT = 15

PG_USER = "baraza"  # superuser created by initdb; auth is "trust" on loopback
PG_DATABASE = "baraza_test"
PG_SYSTEM_USER = "postgres"  # created by Debian's postgresql package


class ServerError(RuntimeError):
    """A test server could not be started."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now.

    The OS picks it (port 0). There is a small window in which someone else
    could take it before our server binds; acceptable for throwaway servers.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------
# Finding the programs
# --------------------------------------------------------------------------


def find_redis_server() -> str | None:
    """Path of redis-server, or None if it is not installed."""
    found = shutil.which("redis-server")
    if found:
        return found
    fallback = "/usr/bin/redis-server"
    return fallback if os.access(fallback, os.X_OK) else None


def find_postgres_bindir() -> Path | None:
    """Directory holding initdb/postgres, or None if the server is not installed.

    On Debian `pg_config` comes from libpq-dev and may exist without the
    server, so we only trust its answer if `postgres` is really there.
    """
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        result = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    # Debian layout: /usr/lib/postgresql/<major>/bin, newest major first.
    versioned = glob.glob("/usr/lib/postgresql/*/bin")
    versioned.sort(key=lambda p: _version_key(Path(p).parent.name), reverse=True)
    candidates.extend(Path(p) for p in versioned)

    for bindir in candidates:
        if all(os.access(bindir / prog, os.X_OK) for prog in ("initdb", "postgres")):
            return bindir
    return None


def _version_key(name: str) -> tuple[int, ...]:
    # "15" -> (15,), "9.6" -> (9, 6); anything odd sorts last.
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (-1,)


def missing_server_programs() -> list[str]:
    """Names of the server programs that are not installed (empty if all are)."""
    missing = []
    if find_redis_server() is None:
        missing.append("redis-server")
    if find_postgres_bindir() is None:
        missing.append("postgres")
    return missing


# --------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------


def _log_tail(log_path: Path, lines: int = 40) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log output)"
    return "\n".join(text.splitlines()[-lines:]) or "(no log output)"


def _wait_until_ready(
    name: str, proc: subprocess.Popen[bytes], log_path: Path, ready: Callable[[], bool]
) -> None:
    """Poll `ready()` until it returns True; raise with the server log if not."""
    for _ in range(READY_ATTEMPTS):
        if proc.poll() is not None:
            # Don't keep polling a server that already crashed (bad flag,
            # port taken, permissions...): its log says why.
            raise ServerError(
                f"{name} exited with code {proc.returncode} during startup.\n"
                f"--- {log_path} ---\n{_log_tail(log_path)}"
            )
        if ready():
            return
        time.sleep(READY_INTERVAL)
    proc.kill()  # never became usable; no point in a graceful shutdown
    proc.wait()
    raise ServerError(
        f"{name} did not become ready after {READY_ATTEMPTS} attempts.\n"
        f"--- {log_path} ---\n{_log_tail(log_path)}"
    )


def _stop_process(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Ask the server to stop with `sig`, and SIGKILL it if it won't."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------


def redis_ping(port: int) -> bool:
    """True if a Redis server on 127.0.0.1:port answers PING with PONG."""
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")  # PING in RESP framing
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A redis-server process on a fixed loopback port, restartable in place.

    The port is chosen once, so stop() + start() brings the server back at
    the same URL -- what chaos tests need to simulate a Redis outage.
    Nothing is persisted: a restart comes back empty.
    """

    def __init__(self, tmpdir: Path) -> None:
        self.dir = Path(tmpdir)
        self.port = free_port()
        self.log_path = self.dir / "redis.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return  # already running
        program = find_redis_server()
        if program is None:
            raise ServerError("redis-server is not installed (run scripts/install-test-deps)")
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [
            program,
            "--port", str(self.port),
            "--bind", HOST,
            "--save", "",  # no RDB snapshots
            "--appendonly", "no",  # no AOF either
            "--dir", str(self.dir),
            "--daemonize", "no",  # we own the process, so we can stop it
            "--logfile", "",  # log to stdout, which goes to log_path
        ]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        _wait_until_ready("redis-server", self._proc, self.log_path, lambda: redis_ping(self.port))

    def stop(self) -> None:
        if self._proc is not None:
            # SIGTERM is Redis's normal shutdown; with --save "" it is instant.
            _stop_process(self._proc, signal.SIGTERM)
            self._proc = None


@contextmanager
def redis_server(tmpdir: Path) -> Iterator[str]:
    """Run a throwaway redis-server for the duration of the block; yield its URL."""
    server = RedisServer(tmpdir)
    try:
        server.start()  # inside try: stop() also cleans up a half-started server
        yield server.url
    finally:
        server.stop()


# --------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------


class PostgresServer:
    """A throwaway PostgreSQL cluster in tmpdir/pgdata on a loopback port.

    PostgreSQL refuses to run as root, so when the tests run as root (CI)
    initdb and postgres are run as the `postgres` system user instead.
    """

    def __init__(self, tmpdir: Path, durable: bool = False) -> None:
        self.dir = Path(tmpdir)
        self.port = free_port()
        # Chaos tests crash the server: only with durability on does a crash keep every
        # commit, as production's PostgreSQL does.
        self.durable = durable
        self.data_dir = self.dir / "pgdata"
        self.log_path = self.dir / "postgres.log"
        self._bindir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database."""
        return f"postgresql+psycopg://{PG_USER}@{HOST}:{self.port}/{PG_DATABASE}"

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = find_postgres_bindir()
            if self._bindir is None:
                raise ServerError(
                    "PostgreSQL server is not installed (run scripts/install-test-deps)"
                )
        return self._bindir

    def start(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return  # already running
        first_start = not (self.data_dir / "PG_VERSION").exists()
        if first_start:
            self._initdb()
        args = [
            str(self.bindir / "postgres"),
            "-D", str(self.data_dir),
            "-p", str(self.port),
            # No Unix socket at all: tests only use TCP on loopback, and this
            # avoids both the ~107-byte socket path limit (pytest tmp paths
            # get long) and /var/run/postgresql, which may not exist.
            "-k", "",
            "-c", "listen_addresses=" + HOST,
        ]
        if not self.durable:  # pointless for throwaway data; this makes it faster
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off"]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                **_run_as_postgres_kwargs(),
            )
        _wait_until_ready("postgres", self._proc, self.log_path, self._is_ready)
        if first_start:
            self._client("createdb", PG_DATABASE)

    def stop(self) -> None:
        if self._proc is not None:
            # SIGINT = "fast shutdown": roll back sessions, exit cleanly.
            _stop_process(self._proc, signal.SIGINT)
            self._proc = None

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _hand_over_to_postgres_user(self.data_dir)
        args = [
            str(self.bindir / "initdb"),
            "-D", str(self.data_dir),
            "-A", "trust",  # loopback-only throwaway server: no passwords
            "-U", PG_USER,
            "--encoding=UTF8",
            "--no-sync",  # don't fsync the new cluster; it is thrown away
            # C.UTF-8 ships with Debian's libc, gives byte-order (fast,
            # deterministic) collation and still Unicode-aware lower()/upper().
            "--locale=C.UTF-8",
        ]
        with self.log_path.open("ab") as log:
            result = subprocess.run(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
                **_run_as_postgres_kwargs(),
            )
        if result.returncode != 0:
            raise ServerError(
                f"initdb failed with code {result.returncode}.\n"
                f"--- {self.log_path} ---\n{_log_tail(self.log_path)}"
            )

    def _is_ready(self) -> bool:
        # pg_isready exits 0 only once the server accepts connections
        # (1 = still starting up, 2 = nothing listening yet).
        return self._client("pg_isready", "-q", "-d", "postgres", check=False) == 0

    def _client(self, program: str, *extra: str, check: bool = True) -> int:
        """Run a PostgreSQL client program against this server over TCP."""
        args = [
            str(self.bindir / program),
            "-h", HOST,
            "-p", str(self.port),
            "-U", PG_USER,
            *extra,
        ]
        result = subprocess.run(
            args, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if check and result.returncode != 0:
            raise ServerError(f"{program} failed: {result.stderr.strip()}")
        return result.returncode


def _postgres_account() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        raise ServerError(
            f"running as root, but there is no '{PG_SYSTEM_USER}' user to run "
            "PostgreSQL as (it is created by Debian's postgresql package)"
        ) from None


def _run_as_postgres_kwargs() -> dict[str, object]:
    """Popen arguments that drop root to the postgres user (if we are root).

    Popen's user/group switch in the child just before exec, so the process
    we signal is postgres itself -- no runuser/su wrapper in between that
    might not forward SIGINT.
    """
    account = _postgres_account()
    if account is None:
        return {}
    env = dict(os.environ, HOME=account.pw_dir, USER=account.pw_name, LOGNAME=account.pw_name)
    return {
        "user": account.pw_uid,
        "group": account.pw_gid,
        "extra_groups": [],  # drop root's supplementary groups
        "env": env,
        # The inherited cwd (e.g. /root) may be unreadable for postgres,
        # which makes initdb complain; "/" always works.
        "cwd": "/",
    }


def _hand_over_to_postgres_user(data_dir: Path) -> None:
    """Make data_dir usable by the postgres user when we are root."""
    account = _postgres_account()
    if account is None:
        return
    os.chown(data_dir, account.pw_uid, account.pw_gid)
    os.chmod(data_dir, 0o700)  # postgres insists on 0700/0750
    # postgres must be able to reach data_dir. pytest's tmp root is 0700
    # (/tmp/pytest-of-root), so add "search" (x, not read) permission for
    # others on any ancestor lacking it. pytest resets its root to 0700 on
    # the next run.
    for parent in data_dir.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)


@contextmanager
def postgres_server(tmpdir: Path) -> Iterator[str]:
    """Run a throwaway PostgreSQL for the block; yield a SQLAlchemy URL
    (postgresql+psycopg://baraza@127.0.0.1:PORT/baraza_test)."""
    server = PostgresServer(tmpdir)
    try:
        server.start()  # inside try: stop() also cleans up a half-started server
        yield server.url
    finally:
        server.stop()
