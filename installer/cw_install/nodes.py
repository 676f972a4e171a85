"""Custom nodes pinned to a commit: git clone into ComfyUI/custom_nodes/<name>, then git checkout <commit>.

Idempotent: a checkout already at the commit is left alone; one at another commit is fetched and moved.
A folder that is not a git checkout is never touched (it is not ours).
"""
from __future__ import annotations

import os
import subprocess
from typing import List, Optional

from . import childenv


class NodeError(Exception):
    pass


def _git(args: List[str], cwd: Optional[str] = None) -> str:
    try:
        res = subprocess.run(["git"] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, check=False, env=childenv.env({"GIT_TERMINAL_PROMPT": "0"}))
    except OSError:
        raise NodeError("git is not installed; install git and re-run") from None
    if res.returncode != 0:
        sub = next((a for a in args if not a.startswith("-") and "=" not in a), "")
        raise NodeError("git %s failed: %s" % (sub, res.stderr.strip()[-400:]))
    return res.stdout.strip()


def head(dest: str) -> Optional[str]:
    if not os.path.isdir(os.path.join(dest, ".git")):
        return None
    try:
        return _git(["rev-parse", "HEAD"], cwd=dest)
    except NodeError:
        return None


def ensure(repo: str, commit: str, dest: str) -> str:
    """'cloned' | 'updated' | 'unchanged'."""
    if os.path.exists(dest) and not os.path.isdir(os.path.join(dest, ".git")):
        raise NodeError("%s exists and is not a git checkout; move it away and re-run" % dest)
    if not os.path.exists(dest):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        _git(["clone", "--quiet", repo, dest])
        try:
            _git(["-c", "advice.detachedHead=false", "checkout", "--quiet", commit], cwd=dest)
        except NodeError:
            # A clone left at the wrong commit would look like ours next time: remove it.
            import shutil

            shutil.rmtree(dest, ignore_errors=True)
            raise
        return "cloned"
    if head(dest) == commit:
        return "unchanged"
    _git(["fetch", "--quiet", "origin"], cwd=dest)
    _git(["-c", "advice.detachedHead=false", "checkout", "--quiet", commit], cwd=dest)
    return "updated"
