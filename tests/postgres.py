"""A throwaway PostgreSQL server for the tests: its own cluster in a temp dir, on loopback.

Debian's ``postgresql`` package provides ``initdb`` and ``pg_ctl`` (``.ci/run`` installs
it). The cluster trusts nobody on TCP without the password (``scram-sha-256``), so the
tests connect exactly as a deployment would, with a URL. As root the server runs as the
``postgres`` user (PostgreSQL refuses to run as root). Each test gets a fresh database.
Where no server binaries exist the PostgreSQL tests are skipped, except on CI, where they
fail: CI must run them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PostgresServer", "cpu_seconds", "find_bindir", "running_server"]

USER = "wxloan_test"
PASSWORD = "test-" + uuid.uuid4().hex[:12]


def find_bindir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` live (newest Debian version first), or None."""
    found = shutil.which("pg_ctl")
    if found and Path(found).with_name("initdb").exists():
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(versions[0]).parent if versions else None


@dataclass(frozen=True)
class PostgresServer:
    """A running test server: make databases, get their URLs."""

    host: str
    port: int
    bindir: Path

    def url(self, database: str, password: str = PASSWORD) -> str:
        """The connection URL of ``database`` (with the test user's password)."""
        return f"postgresql://{USER}:{password}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its name."""
        name = "t_" + uuid.uuid4().hex[:16]
        self.psql(f'CREATE DATABASE "{name}"')
        return name

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with psql as the test user; its output."""
        return subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
             "-d", self.url(database), "-c", sql],
            check=True, capture_output=True, text=True, timeout=30,
        ).stdout


def cpu_seconds(user: str = "postgres") -> float:
    """CPU seconds used so far by every running PostgreSQL server process (``/proc``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = Path(stat).read_text()
            name = text[text.index("(") + 1 : text.rindex(")")]
            if name == user or name.startswith("postgres"):
                fields = text[text.rindex(")") + 2 :].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(cpus: str | None = None) -> Iterator[PostgresServer]:
    """Start a new cluster (about a second), yield it, stop and delete it.

    :param cpus: pin the server (and every backend it forks) to these CPUs (``taskset``).
    """
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    as_root = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="wxloan-pg-"))
    run_as: list[str] = []
    try:
        if as_root:
            postgres = pwd.getpwnam("postgres")
            os.chown(root, postgres.pw_uid, postgres.pw_gid)
            run_as = ["runuser", "-u", "postgres", "--"]
        secret = root / "pw"
        secret.write_text(PASSWORD)
        if as_root:
            os.chown(secret, pwd.getpwnam("postgres").pw_uid, -1)
        data = root / "data"
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", USER,
             f"--pwfile={secret}", "--auth-local=trust", "--auth-host=scram-sha-256",
             "-E", "UTF8", "--locale=C.UTF-8"],
            check=True, capture_output=True, timeout=120,
        )
        port = _free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        pin = ["taskset", "-c", cpus] if cpus else []
        subprocess.run(
            [*pin, *run_as, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
             "-w",
             "-t", "60", "-o", options, "start"],
            check=True, capture_output=True, timeout=90,
        )
        try:
            yield PostgresServer("127.0.0.1", port, bindir)
        finally:
            subprocess.run(
                [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                 "stop"],
                capture_output=True, timeout=60,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)
