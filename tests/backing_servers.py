"""Real backing servers for the tests, started the way a user runs them: PostgreSQL from
Debian's ``postgresql`` package (``initdb`` + ``pg_ctl``, as the ``postgres`` user when the
tests run as root, on a free port of 127.0.0.1) and an S3-compatible server (moto's, run as its
own process). Nothing here is a stand-in: the service talks to them over TCP like to any
deployment's.

On CI (``CI`` set) a missing server binary fails the test that needs it; elsewhere it skips.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def missing(what: str) -> None:
    """Skip (or, on CI, fail) a test whose server is not installed."""
    message = f"{what} is not installed (make setup-test installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def postgres_bindir() -> Path | None:
    """Debian keeps the server programs in /usr/lib/postgresql/<version>/bin, off the PATH."""
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").is_file():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder; ``url(database)`` for each test database."""

    USER = "visavis"

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            missing("PostgreSQL (Debian's postgresql)")
        assert bindir is not None
        self.bindir = bindir
        self.password = secrets.token_hex(8)
        self.root = Path(tempfile.mkdtemp(prefix="visavis-pg-"))  # /tmp: the postgres user can reach it
        self.port = free_port()
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_root:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root)

    def start(self) -> PostgresServer:
        data = self.root / "data"
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(pwfile, "postgres")
        self._run("initdb", "-D", str(data), "-U", self.USER, f"--pwfile={pwfile}",
                  "--auth=scram-sha-256", "-E", "UTF8", "--no-sync")  # fmt: skip
        pwfile.unlink()
        # fsync off: a test cluster may lose its data in a power cut, and starts in a second
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{secrets.token_hex(4)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class S3Server:
    """moto's S3-compatible server as a separate process on 127.0.0.1 (``moto[server]``)."""

    ACCESS_KEY = "visavis-test"
    SECRET_KEY = "visavis-test-secret"

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> S3Server:
        try:
            import moto.server  # noqa: F401
        except ImportError:
            missing("moto[server] (the dev extra)")
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - the server writes it until stop()
            prefix="visavis-s3-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for_port(self.port, 30, self.process)
        return self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """What a client process needs (credentials come from the environment, never a URL)."""
        return {"AWS_ACCESS_KEY_ID": self.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": self.SECRET_KEY,
                "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip

    def create_bucket(self, prefix: str = "t") -> str:
        """A new bucket; returns its ``s3://`` storage URL."""
        import boto3

        name = f"{prefix}-{secrets.token_hex(4)}"
        client = boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=self.ACCESS_KEY, aws_secret_access_key=self.SECRET_KEY,
        )  # fmt: skip
        client.create_bucket(Bucket=name)
        return f"s3://{name}?endpoint={self.endpoint}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.unlink(self.log.name)
