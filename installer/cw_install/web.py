"""Small urllib helpers. Headers (tokens) are never logged; error text carries only method, URL (redacted: no
query string, no user info) and status."""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional, Tuple


class HttpError(Exception):
    def __init__(self, message: str, status: Optional[int] = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def redact_url(url: str) -> str:
    """The URL for messages and logs: a signed URL's query string (and any user:password@) is a credential."""
    try:
        u = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    host = u.hostname or ""
    if ":" in host:
        host = "[%s]" % host
    try:
        port = u.port
    except ValueError:
        port = None
    netloc = host + (":%d" % port if port else "")
    return urllib.parse.urlunsplit((u.scheme, netloc, u.path, "", ""))


def url_host(url: str) -> str:
    try:
        return urllib.parse.urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


class SameHostAuthRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects but drop Authorization when the host or the scheme changes: a token is for its URL's
    host only (e.g. Hugging Face answers a gated file with a redirect to a signed CDN URL that needs no token),
    and an https -> http redirect on the same host would send it in clear."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        old_u, new_u = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if new is not None and (new_u.netloc != old_u.netloc or new_u.scheme.lower() != old_u.scheme.lower()):
            for h in list(new.headers):
                if h.lower() == "authorization":
                    del new.headers[h]
            new.unredirected_hdrs.pop("Authorization", None)
        return new


def opener() -> urllib.request.OpenerDirector:
    # No ProxyHandler customisation: the platform's proxy environment is honoured as urllib does by default.
    return urllib.request.build_opener(SameHostAuthRedirect())


def request_json(method: str, url: str, token: Optional[str] = None, body: Any = None,
                 timeout: float = 30.0) -> Tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    req.add_header("User-Agent", "cw-installer")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with opener().open(req, timeout=timeout) as res:
            raw = res.read().decode("utf-8", "replace")
            status = res.status
    except urllib.error.HTTPError as e:
        raw = e.read().decode("utf-8", "replace") if e.fp is not None else ""
        e.close()
        msg = raw
        try:
            parsed = json.loads(raw)
            if isinstance(parsed, dict) and parsed.get("message"):
                msg = str(parsed["message"])
        except ValueError:
            pass
        raise HttpError("%s %s -> HTTP %d: %s" % (method, redact_url(url), e.code, msg[:300]), e.code, raw) from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise HttpError("%s %s failed: %s" % (method, redact_url(url), reason)) from None
    try:
        return status, (json.loads(raw) if raw else None)
    except ValueError:
        raise HttpError("%s %s: answer is not JSON" % (method, redact_url(url)), status, raw) from None
