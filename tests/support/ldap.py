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
from tools.process import stop_gracefully

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

TLS_CONFIG = """\
TLSCACertificateFile {dir}/ca.pem
TLSCertificateFile {dir}/server.pem
TLSCertificateKeyFile {dir}/server.key
"""


def make_certificates(directory: Path) -> Path:
    """A throwaway CA and a server certificate for 127.0.0.1, made with the openssl tool;
    returns the CA file a client verifies the server with."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=peer-support test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost",
    )  # fmt: skip
    (directory / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
    )  # fmt: skip
    return directory / "ca.pem"


def require_slapd() -> None:
    if not SLAPD.exists() or shutil.which("ldapadd") is None:
        pytest.skip("slapd/ldap-utils are not installed (make system-deps installs them as root)")


class Slapd:
    def __init__(self, workdir: Path, tls: bool = False, stats: bool = False) -> None:
        """``stats``: log every connection and operation (slapd's ``-d stats``), to see
        which binds reached the server and whether they were encrypted (``ssf``)."""
        self.dir = workdir
        self.debug = "stats" if stats else "0"
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        self.tls_port = free_port() if tls else None
        self.ldaps_url = f"ldaps://127.0.0.1:{self.tls_port}" if tls else None
        self.ca_file = make_certificates(self._mkdir()) if tls else None
        self.process: subprocess.Popen[bytes] | None = None

    def _mkdir(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        return self.dir

    def start(self, timeout: float = 20.0) -> Slapd:
        (self.dir / "db").mkdir(parents=True, exist_ok=True)
        conf = self.dir / "slapd.conf"
        config = CONFIG.format(dir=self.dir, suffix=SUFFIX, root_dn=ROOT_DN, password=ROOT_PASSWORD)
        if self.ca_file is not None:
            config = TLS_CONFIG.format(dir=self.dir) + config
        conf.write_text(config)
        listen = f"{self.url}/" + (f" {self.ldaps_url}/" if self.ldaps_url else "")
        self.log_path = self.dir / "slapd.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(SLAPD), "-f", str(conf), "-h", listen, "-d", self.debug],
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

    def binds(self) -> list[str]:
        """The BIND lines of the log (with ``stats``): who bound, and with what ``ssf``."""
        return [line for line in self.log_path.read_text().splitlines() if " BIND dn=" in line]

    def stop(self) -> None:
        stop_gracefully(self.process, timeout=10)
