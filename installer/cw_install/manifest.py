"""The install manifest (GET <server>/api/local/install-manifest, or a local file for --dry-run): validation."""
from __future__ import annotations

import json
import re
from typing import Any, Dict, Optional

from . import DEFAULT_COMFY_CLI_VERSION, web

HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")
SAFE_NAME = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._ +-]*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VERSION = re.compile(r"^\d+(\.\d+){1,3}$")


class ManifestError(Exception):
    pass


def empty() -> Dict[str, Any]:
    return {"version": 1, "comfyCliVersion": DEFAULT_COMFY_CLI_VERSION, "models": [], "customNodes": []}


def _safe_rel(path: str, what: str) -> str:
    # Folder/file names come from the server: refuse anything that could write outside ComfyUI/models.
    parts = path.replace("\\", "/").split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") or not SAFE_NAME.match(p) for p in parts):
        raise ManifestError("unsafe %s: %r" % (what, path))
    return "/".join(parts)


def validate(doc: Any) -> Dict[str, Any]:
    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise ManifestError("manifest: expected an object with version 1")
    out = empty()
    ccv = doc.get("comfyCliVersion")
    if ccv is not None:
        if not isinstance(ccv, str) or not VERSION.match(ccv):
            raise ManifestError("manifest: comfyCliVersion must look like 1.2.3, got %r" % (ccv,))
        out["comfyCliVersion"] = ccv
    for i, m in enumerate(doc.get("models") or []):
        if not isinstance(m, dict):
            raise ManifestError("manifest: models[%d] is not an object" % i)
        url, sha = m.get("url"), m.get("sha256")
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise ManifestError("manifest: models[%d].url must be http(s)" % i)
        if not isinstance(sha, str) or not HEX64.match(sha):
            raise ManifestError("manifest: models[%d].sha256 must be 64 hex digits" % i)
        auth = m.get("authEnv")
        if auth is not None and (not isinstance(auth, str) or not ENV_NAME.match(auth)):
            raise ManifestError("manifest: models[%d].authEnv must be an environment variable name" % i)
        out["models"].append({
            "url": url, "sha256": sha.lower(),
            "folder": _safe_rel(str(m.get("folder") or ""), "models[%d].folder" % i),
            "filename": _safe_rel(str(m.get("filename") or ""), "models[%d].filename" % i),
            "authEnv": auth,
        })
    for i, n in enumerate(doc.get("customNodes") or []):
        if not isinstance(n, dict):
            raise ManifestError("manifest: customNodes[%d] is not an object" % i)
        repo, commit, name = n.get("repo"), n.get("commit"), n.get("name")
        if not isinstance(repo, str) or not repo:
            raise ManifestError("manifest: customNodes[%d].repo missing" % i)
        if not isinstance(commit, str) or not HEX40.match(commit):
            raise ManifestError("manifest: customNodes[%d].commit must be a 40-hex commit" % i)
        if not isinstance(name, str) or "/" in name or "\\" in name:
            raise ManifestError("manifest: customNodes[%d].name must be a folder name" % i)
        out["customNodes"].append({"repo": repo, "commit": commit.lower(),
                                   "name": _safe_rel(name, "customNodes[%d].name" % i)})
    return out


def load_file(path: str) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise ManifestError("manifest file %s: %s" % (path, e)) from None
    return validate(doc)


def fetch(server: str, token: Optional[str]) -> Dict[str, Any]:
    _, doc = web.request_json("GET", server.rstrip("/") + "/api/local/install-manifest", token=token)
    return validate(doc)
