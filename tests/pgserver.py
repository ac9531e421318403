"""A throwaway PostgreSQL server for the tests: Debian's package, a cluster of its own in a
temporary directory, listening on 127.0.0.1 only, on a free port.

On a fresh machine the package is installed when missing (as root, with apt-get), as the
project's CI needs it. initdb refuses to run as root, so then the cluster belongs to the
`postgres` user the package creates. Durability settings are off (fsync, synchronous commit):
the tests stop and restart the server cleanly or kill it on purpose, and a power loss is not
what they check."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests import debian

USER = "tradepilot"
PACKAGE = "postgresql"


class PostgresUnavailable(RuntimeError):
    """The server could not be installed or started; the message says what to do."""


def _bin_dir() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                      else 0)
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _install() -> Path:
    try:
        debian.install(PACKAGE)
    except debian.PackageUnavailable as failure:
        raise PostgresUnavailable(str(failure)) from failure
    found = _bin_dir()
    if found is None:
        raise PostgresUnavailable(f"{PACKAGE} installed but initdb was not found")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One cluster; `create_database` hands each test an empty database of its own."""

    def __init__(self) -> None:
        self.bin = _bin_dir() or _install()
        self.root = Path(tempfile.mkdtemp(prefix="tradepilot-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self.password = secrets.token_hex(12)
        self._as_postgres = os.geteuid() == 0
        self._databases = 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._initdb()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command: Sequence[str] = [str(self.bin / tool), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        env = {**os.environ, "PGPASSWORD": self.password, "LC_ALL": "C.UTF-8"}
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                              cwd=self.root)
        if check and done.returncode != 0:
            log = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
            raise PostgresUnavailable(f"{tool} {' '.join(args)} failed: "
                                      f"{done.stderr.strip()[-800:]}\n{log}")
        return done

    def _initdb(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_postgres:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", USER, "-E", "UTF8", "--no-sync",
                  "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}")
        pwfile.unlink()

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` shuts down cleanly; `immediate` is a crash of the server process."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def url(self, dbname: str = "postgres", password: str | None = None) -> str:
        secret = self.password if password is None else password
        return f"postgresql://{USER}:{secret}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, prefix: str = "test") -> str:
        self._databases += 1
        name = f"{prefix}_{self._databases}"
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return self.url(name)

    def remove(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)
