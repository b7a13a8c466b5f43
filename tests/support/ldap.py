"""A real OpenLDAP server (Debian's slapd) for tests, in a temporary directory on a
loopback port, with the memberOf overlay so group membership works as in Active Directory."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from runtime.broker import free_port

SLAPD = Path("/usr/sbin/slapd")
SUFFIX = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "test-only-ldap-password"

CONFIG = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {dir}/slapd.pid
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {password}
directory {dir}/db
overlay memberof
"""


def require_slapd() -> None:
    if not SLAPD.exists() or shutil.which("ldapadd") is None:
        pytest.skip("slapd/ldap-utils are not installed (make system-deps installs them as root)")


class Slapd:
    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> Slapd:
        (self.dir / "db").mkdir(parents=True, exist_ok=True)
        conf = self.dir / "slapd.conf"
        conf.write_text(
            CONFIG.format(dir=self.dir, suffix=SUFFIX, root_dn=ROOT_DN, password=ROOT_PASSWORD)
        )
        self.log_path = self.dir / "slapd.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(SLAPD), "-f", str(conf), "-h", f"{self.url}/", "-d", "0"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"slapd exited:\n{self.log_path.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("slapd did not start listening")

    def ldif(self, text: str, command: str = "ldapadd") -> None:
        """Apply LDIF with ldapadd or ldapmodify, as the directory's administrator."""
        subprocess.run(
            [command, "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
            input=text.encode(),
            check=True,
            capture_output=True,
            timeout=30,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
