"""A stable per-machine id sent at registration so a re-install replaces its worker instead of adding one.

The raw OS ids (/etc/machine-id, IOPlatformUUID, MachineGuid) are hashed with an application prefix before they
leave the machine: machine-id(5) asks applications not to expose the raw value.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from typing import Dict, Optional

from . import procs


def raw_os_id(os_name: str, env: Optional[Dict[str, str]] = None, etc_root: str = "/") -> Optional[str]:
    if os_name == "linux":
        for p in ("etc/machine-id", "var/lib/dbus/machine-id"):
            try:
                with open(etc_root.rstrip("/") + "/" + p, encoding="ascii") as f:
                    v = f.read().strip()
                if v:
                    return v
            except OSError:
                continue
        return None
    if os_name == "darwin":
        out = procs.output(["ioreg", "-rd1", "-c", "IOPlatformExpertDevice"], env) or ""
        m = re.search(r'"IOPlatformUUID"\s*=\s*"([^"]+)"', out)
        return m.group(1) if m else None
    out = procs.output(["reg", "query", r"HKLM\SOFTWARE\Microsoft\Cryptography", "/v", "MachineGuid"], env) or ""
    m = re.search(r"MachineGuid\s+REG_SZ\s+(\S+)", out)
    return m.group(1) if m else None


def machine_id(os_name: str, stored: Optional[str], env: Optional[Dict[str, str]] = None,
               etc_root: str = "/") -> str:
    """The id stored by a previous install wins (stable even if the OS id changes); then the OS id; then uuid4."""
    if stored:
        return stored
    raw = raw_os_id(os_name, env, etc_root)
    if raw:
        return "m-" + hashlib.sha256(("comfyui-cloud-workers:" + raw).encode("utf-8")).hexdigest()[:32]
    return "u-" + uuid.uuid4().hex
