"""Resumable, checksum-verified downloads.

Bytes go to <dest>.part; an interrupted transfer resumes with `Range: bytes=<have>-` (a 206 with a matching
Content-Range appends; a 200 means the server ignored Range, so we start over). The SHA-256 of the whole file
must match before <dest>.part becomes <dest>; on mismatch the .part is deleted and ChecksumError raised.
A token (manifest authEnv) is sent as `Authorization: Bearer` to that URL only, never to a redirect target on
another host, and never appears in any message. Messages show the URL without its query string or user info
(web.redact_url): a signed URL's query is a credential too.
A server that answers a resume at another offset than asked leaves a .part we cannot trust to extend: it is
deleted, so the next attempt (or re-run) starts from zero instead of failing the same way forever.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import time
import urllib.error
import urllib.request
from typing import Callable, Optional

from . import web
from .progress import Progress

CHUNK = 1024 * 1024
PROGRESS_MIN_BYTES = 8 * 1024 * 1024  # smaller files finish too fast for a bar to help


class DownloadError(Exception):
    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class ChecksumError(DownloadError):
    pass


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _attempt(url: str, part: str, token: Optional[str], timeout: float,
             progress_factory: Callable[[Optional[int], int], Optional[Progress]]) -> None:
    have = os.path.getsize(part) if os.path.exists(part) else 0
    req = urllib.request.Request(url)
    req.add_header("User-Agent", "cw-installer")
    if have:
        req.add_header("Range", "bytes=%d-" % have)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    shown = web.redact_url(url)
    try:
        res = web.opener().open(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and have:
            return  # asked past the end: the .part is already complete; the checksum decides
        raise DownloadError("GET %s -> HTTP %d" % (shown, e.code), e.code) from None
    with res:
        mode = "ab"
        if have and res.status == 206:
            m = re.match(r"bytes (\d+)-", res.headers.get("Content-Range") or "")
            if not m or int(m.group(1)) != have:
                os.remove(part)  # kept, every retry and re-run would ask for the same offset and fail again
                raise DownloadError("GET %s: server resumed at the wrong offset; the partial file was deleted, "
                                    "the next attempt starts from zero" % shown)
        elif have:
            mode, have = "wb", 0  # Range not honoured: the body is the whole file
        length = res.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        bar = progress_factory(total, have)
        got = 0
        with open(part, mode) as f:
            while True:
                block = res.read(CHUNK)
                if not block:
                    break
                f.write(block)
                got += len(block)
                if bar:
                    bar.update(len(block))
        if bar:
            bar.close()
        if length and length.isdigit() and got < int(length):
            raise DownloadError("GET %s: connection closed after %d of %s bytes" % (shown, got, length))


def download(url: str, dest: str, sha256: str, token: Optional[str] = None, retries: int = 5,
             timeout: float = 60.0, label: Optional[str] = None, progress: bool = True,
             backoff: Callable[[int], float] = lambda n: min(30.0, 2.0 ** n)) -> str:
    """Fetch url to dest (resuming dest.part), verify sha256, return dest. Already-present dest is re-verified."""
    want = sha256.lower()
    if os.path.exists(dest):
        if sha256_file(dest) == want:
            return dest
        raise ChecksumError("%s exists with a different SHA-256; remove it to download it again" % dest)
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    part = dest + ".part"
    name = label or os.path.basename(dest)

    def factory(total: Optional[int], have: int) -> Optional[Progress]:
        if not progress or (total is not None and total < PROGRESS_MIN_BYTES):
            return None
        return Progress(name, total, have)

    tries = 0
    while True:
        try:
            _attempt(url, part, token, timeout, factory)
            break
        except (DownloadError, http.client.HTTPException, urllib.error.URLError, socket.timeout,
                ConnectionError) as e:
            if isinstance(e, DownloadError) and e.status is not None and 400 <= e.status < 500:
                raise  # 401/403/404: retrying will not help
            tries += 1
            if tries > retries:
                raise DownloadError("%s: gave up after %d attempts (%s); re-run to resume from %d bytes" % (
                    name, tries, e if isinstance(e, DownloadError) else type(e).__name__,
                    os.path.getsize(part) if os.path.exists(part) else 0)) from None
            time.sleep(backoff(tries))
    got = sha256_file(part)
    if got != want:
        os.remove(part)
        raise ChecksumError("%s: SHA-256 mismatch (expected %s, got %s); the partial file was deleted" % (
            name, want, got))
    os.replace(part, dest)
    return dest
