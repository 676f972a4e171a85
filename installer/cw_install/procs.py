"""Running external tools: one place so detection degrades to None when a tool is missing or hangs."""
from __future__ import annotations

import shutil
import subprocess
from typing import Dict, List, Optional

from . import childenv


def which(name: str, env: Optional[Dict[str, str]] = None) -> Optional[str]:
    path = env.get("PATH") if env is not None else None
    return shutil.which(name, path=path)


def output(cmd: List[str], env: Optional[Dict[str, str]] = None, timeout: float = 15.0) -> Optional[str]:
    """stdout of cmd, or None when the tool is absent, fails or times out (detection must never crash)."""
    exe = which(cmd[0], env)
    if exe is None:
        return None
    try:
        res = subprocess.run(
            [exe] + cmd[1:], env=childenv.env(base=env), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            timeout=timeout, check=False, universal_newlines=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    return res.stdout
