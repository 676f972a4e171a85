"""Enrolment: wait for ComfyUI to answer, register with the control plane, and unregister on uninstall.

Tokens (CW_ENROLMENT_TOKEN, the worker key) are passed as arguments and go only into Authorization headers.
"""
from __future__ import annotations

import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, List, Optional

from . import web


def primary_ip(server: Optional[str]) -> str:
    """The local address the OS would use to reach the control plane (UDP connect sends no packet)."""
    host, port = "192.0.2.1", 80  # TEST-NET-1: a route lookup only
    if server:
        u = urllib.parse.urlsplit(server)
        host, port = u.hostname or host, u.port or (443 if u.scheme == "https" else 80)
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.connect((host, port))
            return s.getsockname()[0]
        finally:
            s.close()
    except OSError:
        return "127.0.0.1"


def advertise_url(option: Optional[str], host: str, port: int, server: Optional[str]) -> str:
    if option:
        return option.rstrip("/")
    if host not in ("0.0.0.0", "::", ""):
        ip = host
    else:
        ip = primary_ip(server)
    if ":" in ip:
        ip = "[%s]" % ip
    return "http://%s:%d" % (ip, port)


def local_address(host: str) -> str:
    """Where this machine reaches its own ComfyUI: loopback when it listens on every interface, else the one
    address it listens on (with --host <LAN address> nothing answers on 127.0.0.1)."""
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return "[%s]" % host if ":" in host else host


def wait_ready(port: int, timeout: float, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep, interval: float = 2.0, host: str = "0.0.0.0") -> None:
    url = "http://%s:%d/system_stats" % (local_address(host), port)
    deadline = clock() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as res:
                if res.status == 200:
                    return
        except urllib.error.HTTPError as e:
            e.close()  # answering, not ready yet (e.g. 503)
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if clock() >= deadline:
            raise TimeoutError("ComfyUI did not answer %s within %d s; see the service logs" % (url, timeout))
        sleep(interval)


def registration_body(url: str, name: str, machine_id: str, gpu: Dict[str, Any], models: List[str],
                      previous_worker_key: Optional[str] = None) -> Dict[str, Any]:
    """previous_worker_key: the key of this machine's current registration (from the state file). On a re-install
    the control plane replaces an existing registration of the same machine only with this proof of ownership.
    It goes only into the request body, never into a message."""
    body: Dict[str, Any] = {"url": url, "name": name[:128], "machineId": machine_id[:128], "gpu": gpu,
                            "models": models}
    if previous_worker_key:
        body["previousWorkerKey"] = previous_worker_key
    return body


def register(server: str, token: str, body: Dict[str, Any]) -> Dict[str, str]:
    """POST /api/local/workers; returns {workerId, workerKey}. Accepts the worker view flat or under 'worker'."""
    _, res = web.request_json("POST", server.rstrip("/") + "/api/local/workers", token=token, body=body)
    if not isinstance(res, dict):
        raise web.HttpError("registration answer is not an object")
    view = res.get("worker") if isinstance(res.get("worker"), dict) else res
    worker_id, key = view.get("id"), res.get("workerKey") or view.get("workerKey")
    if not worker_id or not key:
        raise web.HttpError("registration answer lacks id or workerKey")
    return {"workerId": str(worker_id), "workerKey": str(key)}


def unregister(server: str, worker_id: str, worker_key: str) -> str:
    """'deleted' | 'absent' (already gone: 404; or 401: the control plane cannot check a key against a worker
    that no longer exists, and a re-install replaced the key, so nothing of ours is left to remove)."""
    url = server.rstrip("/") + "/api/local/workers/" + urllib.parse.quote(worker_id, safe="")
    try:
        web.request_json("DELETE", url, token=worker_key)
    except web.HttpError as e:
        if e.status in (401, 404):
            return "absent"
        raise
    return "deleted"
