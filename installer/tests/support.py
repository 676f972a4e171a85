"""Test helpers: stand-in executables on a temp PATH, a threaded local HTTP server, the zipapp build."""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import unittest
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Optional, Tuple

INSTALLER = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(INSTALLER, "cw_install")
if INSTALLER not in sys.path:
    sys.path.insert(0, INSTALLER)


class TempDirCase(unittest.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="cw-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)


def stand_in(bindir: str, name: str, answers: Dict[str, str], default: Optional[str] = None, rc: int = 0) -> str:
    """An executable `name` that prints answers[" ".join(argv[1:])] (or default; exit 1 when neither)."""
    os.makedirs(bindir, exist_ok=True)
    path = os.path.join(bindir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write("#!%s\nimport sys\nA = %r\nD = %r\nk = ' '.join(sys.argv[1:])\n"
                "out = A.get(k, D)\nif out is None:\n    sys.exit(1)\nsys.stdout.write(out)\nsys.exit(%d)\n"
                % (sys.executable, answers, default, rc))
    os.chmod(path, 0o755)
    return path


class Recorded:
    def __init__(self) -> None:
        self.requests: List[Dict[str, object]] = []
        self.lock = threading.Lock()

    def add(self, **kw: object) -> None:
        with self.lock:
            self.requests.append(kw)


Handler = Callable[[BaseHTTPRequestHandler, Recorded], None]


def serve(routes: Dict[Tuple[str, str], Handler]) -> Tuple[str, Recorded, Callable[[], None]]:
    """Start a threaded HTTP server on 127.0.0.1:0; routes map (method, path) to handler(req, recorded)."""
    rec = Recorded()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_a: object) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            rec.add(method=self.command, path=self.path, headers={k.lower(): v for k, v in self.headers.items()},
                    body=body)
            fn = routes.get((self.command, self.path.split("?")[0]))
            if fn is None:
                send(self, 404, b'{"message":"not found"}')
                return
            fn(self, rec)

        do_GET = do_POST = do_DELETE = _any  # noqa: N815

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()

    def stop() -> None:
        srv.shutdown()
        srv.server_close()

    return "http://127.0.0.1:%d" % srv.server_address[1], rec, stop


def send(req: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json",
         headers: Optional[Dict[str, str]] = None) -> None:
    req.send_response(status)
    req.send_header("Content-Type", ctype)
    req.send_header("Content-Length", str(len(body)))
    for k, v in (headers or {}).items():
        req.send_header(k, v)
    req.end_headers()
    req.wfile.write(body)


def send_json(req: BaseHTTPRequestHandler, status: int, doc: object) -> None:
    send(req, status, json.dumps(doc).encode("utf-8"))


def build_pyz(out: str) -> str:
    """The zipapp as the control plane serves it: the package's files at the zip root (no folder), deflated."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(os.listdir(PACKAGE)):
            if name.endswith(".py"):
                z.write(os.path.join(PACKAGE, name), name)
    return out


class Opts:
    """An argparse-like namespace for building plans directly."""

    def __init__(self, **kw: object) -> None:
        self.server = "http://cp.example:3000"
        self.host = "0.0.0.0"
        self.port = 8188
        self.name = "studio-1"
        self.service = "user"
        self.gpu = "auto"
        self.advertise_url = None
        self.manifest = None
        self.no_service = False
        self.wait_timeout = 5
        self.dry_run = True
        self.dir = None
        self.__dict__.update(kw)
