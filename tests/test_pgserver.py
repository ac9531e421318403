"""The throwaway PostgreSQL server the PostgreSQL tests stand on: it answers on 127.0.0.1 with
the password it was given, refuses a wrong one, keeps data over a restart, and gives each test
a database of its own."""

from __future__ import annotations

import subprocess

import pytest

from tests.pgserver import USER, PostgresServer

pytestmark = pytest.mark.postgres


def _psql(server: PostgresServer, url: str, sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(server.bin / "psql"), url, "-X", "-A", "-t", "-c", sql],
                          capture_output=True, text=True, check=False)


def test_the_server_keeps_a_row_over_a_restart(postgres_server: PostgresServer,
                                                postgres_url: str) -> None:
    assert _psql(postgres_server, postgres_url, "CREATE TABLE t (x double precision); "
                 "INSERT INTO t VALUES (1001.234558)").returncode == 0
    postgres_server.restart()
    done = _psql(postgres_server, postgres_url, "SELECT x FROM t")
    assert done.stdout.strip() == "1001.234558"


def test_a_wrong_password_is_refused(postgres_server: PostgresServer) -> None:
    done = _psql(postgres_server, postgres_server.url(password="wrong"), "SELECT 1")
    assert done.returncode != 0
    assert "password authentication failed" in done.stderr
    assert USER in done.stderr


def test_each_test_database_starts_empty(postgres_server: PostgresServer) -> None:
    first, second = postgres_server.create_database(), postgres_server.create_database()
    assert first != second
    _psql(postgres_server, first, "CREATE TABLE only_here (x int)")
    done = _psql(postgres_server, second, "SELECT count(*) FROM pg_tables "
                 "WHERE tablename = 'only_here'")
    assert done.stdout.strip() == "0"
