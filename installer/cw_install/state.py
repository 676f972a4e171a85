"""<dir>/cw-worker.json: what this install added and its registration. Mode 0600: it holds the worker key."""
from __future__ import annotations

import json
import os
from typing import Any, Dict


def load(path: str) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        return doc if isinstance(doc, dict) else {}
    except (OSError, ValueError):
        return {}


def save(path: str, doc: Dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    # Created 0600 from the start (not chmod after) so the key is never readable by others, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def update(path: str, **fields: Any) -> Dict[str, Any]:
    doc = load(path)
    doc.update(fields)
    save(path, doc)
    return doc
