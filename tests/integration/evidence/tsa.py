"""A time-stamping authority on loopback: OpenSSL's `ts -reply` behind a small HTTP handler,
with a throw-away CA and a TSA certificate (extended key usage timeStamping, critical)."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TSA_CONFIG = """
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = {dir}
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def openssl(*args: str, cwd: Path) -> bytes:
    """Run openssl; its stdout, or CalledProcessError with its stderr."""
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, check=True)
    return done.stdout


def make_pki(directory: Path) -> None:
    """ca.pem/ca.key, tsa.pem/tsa.key and the TSA's OpenSSL configuration in `directory`."""
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-subj", "/CN=Lianxin test TSA CA", "-days", "2",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
        "-subj", "/CN=Lianxin test TSA",
        cwd=directory,
    )  # fmt: skip
    (directory / "tsa.ext").write_text(
        "extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n"
    )
    openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "tsa.pem", "-days", "2", "-extfile", "tsa.ext",
        cwd=directory,
    )  # fmt: skip
    (directory / "tsaserial").write_text("01\n")
    (directory / "tsa.cnf").write_text(TSA_CONFIG.format(dir=directory))


@dataclass
class LoopbackTsa:
    """The running TSA: its URL, its CA certificate, and how many stamps it gave."""

    url: str
    ca: Path
    directory: Path
    server: ThreadingHTTPServer
    stamps: int = 0

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_tsa(directory: Path) -> LoopbackTsa:
    """Make the PKI and serve `openssl ts -reply` on a free loopback port."""
    make_pki(directory)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = self.rfile.read(int(self.headers["Content-Length"]))
            with lock, tempfile.TemporaryDirectory() as work:
                (Path(work) / "q.tsq").write_bytes(query)
                openssl(
                    "ts", "-reply", "-config", str(directory / "tsa.cnf"),
                    "-queryfile", "q.tsq", "-out", "r.tsr",
                    cwd=Path(work),
                )  # fmt: skip
                answer = (Path(work) / "r.tsr").read_bytes()
                tsa.stamps += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tsa = LoopbackTsa(
        f"http://127.0.0.1:{server.server_port}/tsa", directory / "ca.pem", directory, server
    )
    return tsa
