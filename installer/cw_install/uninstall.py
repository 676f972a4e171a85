"""Uninstall: stop and remove the service, delete the registration, remove what install added — nothing else.

What install added is read from <dir>/cw-worker.json (`addedPaths`, `service`, `createdDir`); without that file
nothing is removed (we cannot tell our files from the operator's).

The ComfyUI folder is ours, but users put their own data in it: generated images in ComfyUI/output and model
files they added under ComfyUI/models. By default those are left in place (nothing is moved) and the output says
which paths were kept; only models recorded in the state file (`models`, downloaded and verified by us) go.
Zero-byte files (ComfyUI's own placeholders such as put_checkpoints_here) and our `.part` downloads are not user
data. `--purge` removes everything, as a plain `rm -r` would.
"""
from __future__ import annotations

import os
import shutil
import stat
import sys
from typing import Any, Dict, List

from . import enrol, service, state
from .layout import Layout
from .plan import Step


class UninstallError(Exception):
    pass


def _rmtree(path: str) -> None:
    def retry(func, p, _exc):  # type: ignore[no-untyped-def]
        # git writes read-only pack files; Windows refuses to delete them until they are writable.
        os.chmod(p, stat.S_IWRITE)
        func(p)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)  # onerror is deprecated from 3.12
    else:
        shutil.rmtree(path, onerror=retry)


def _remove(path: str) -> str:
    if os.path.isdir(path) and not os.path.islink(path):
        _rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)
    else:
        return "%s already absent" % path
    return "removed %s" % path


def _user_entry(path: str) -> bool:
    """A file worth keeping: a symlink (the user's link to elsewhere) or a non-empty file that is not a .part."""
    if os.path.islink(path):
        return True
    return not path.endswith(".part") and os.path.isfile(path) and os.path.getsize(path) > 0


def user_data(layout: Layout, doc: Dict[str, Any]) -> List[str]:
    """Paths under the install that hold the user's data: ComfyUI/output (when it holds any user file) and each
    file or symlink under ComfyUI/models that the state file does not record as a model we installed."""
    keep: List[str] = []
    output = os.path.join(layout.workspace, "output")
    if os.path.isdir(output) and not os.path.islink(output):
        if any(_user_entry(os.path.join(d, n)) for d, dirs, files in os.walk(output) for n in files + dirs):
            keep.append(output)
    elif os.path.islink(output):
        keep.append(output)
    ours = {os.path.normpath(os.path.join(layout.models, *rel.split("/"))) for rel in (doc.get("models") or {})}
    for d, dirs, files in os.walk(layout.models):
        for n in sorted(files) + sorted(x for x in dirs if os.path.islink(os.path.join(d, x))):
            p = os.path.normpath(os.path.join(d, n))
            if p not in ours and _user_entry(p):
                keep.append(p)
    return sorted(keep)


def _covers(path: str, keep: List[str]) -> bool:
    return any(k == path or k.startswith(path.rstrip(os.sep) + os.sep) for k in keep)


def _remove_keeping(path: str, keep: List[str]) -> List[str]:
    """Remove path except the kept paths under it (and the folders leading to them); returns what was kept."""
    path = os.path.normpath(path)
    if path in keep:
        return [path]
    if not _covers(path, keep) or os.path.islink(path) or not os.path.isdir(path):
        _remove(path)
        return []
    kept: List[str] = []
    for name in sorted(os.listdir(path)):
        kept += _remove_keeping(os.path.join(path, name), keep)
    return kept


def _remove_user_aware(path: str, layout: Layout, doc: Dict[str, Any], purge: bool) -> str:
    if purge or not os.path.lexists(path):
        return _remove(path)
    keep = [k for k in user_data(layout, doc) if _covers(os.path.normpath(path), [k])]
    if not keep:
        return _remove(path)
    kept = _remove_keeping(path, keep)
    return "removed %s except your files, kept in place (uninstall --purge deletes them too): %s" % (
        path, _list(kept))


def _list(paths: List[str], limit: int = 10) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (" and %d more" % (len(paths) - limit) if len(paths) > limit else "")


def build(os_name: str, layout: Layout, doc: Dict[str, Any], purge: bool = False) -> List[Step]:
    if not doc:
        raise UninstallError("no install state at %s: nothing was installed there by this tool (or --dir is wrong)"
                             % layout.state_file)
    steps: List[Step] = []
    svc = doc.get("service") or {}
    if svc.get("path"):
        scope = svc.get("scope") or "user"
        for cmd, optional in service.stop_commands(os_name, scope, svc["path"]):
            steps.append(Step("Stop service: %s" % " ".join(cmd[:3]), argv=cmd, optional=optional))
        steps.append(Step("Remove %s" % svc["path"], action=lambda p=svc["path"]: _remove(p),
                          detail="rm %s" % svc["path"]))
        for cmd, optional in service.after_remove_commands(os_name, scope):
            steps.append(Step("Service: %s" % " ".join(cmd[:3]), argv=cmd, optional=optional))
    if doc.get("workerId") and doc.get("server") and doc.get("workerKey"):
        steps.append(Step("Remove the registration of worker %s at %s" % (doc["workerId"], doc["server"]),
                          action=lambda: "registration " + enrol.unregister(doc["server"], doc["workerId"],
                                                                             doc["workerKey"]),
                          detail="DELETE %s/api/local/workers/%s with the worker key (not shown)"
                          % (doc["server"], doc["workerId"]), optional=True))
    root = os.path.normpath(layout.root)
    keep = [] if purge else user_data(layout, doc)  # shown in the plan; recomputed when the step runs
    if doc.get("createdDir"):
        outside = [p for p in doc.get("addedPaths") or [] if not os.path.normpath(p).startswith(root + os.sep)]
        for p in outside:
            steps.append(Step("Remove %s" % p, action=lambda p=p: _remove(p), detail="rm -r %s" % p))
        steps.append(Step("Remove the install folder %s (created by install)" % layout.root,
                          action=lambda: _remove_user_aware(layout.root, layout, doc, purge),
                          detail=_detail(layout.root, keep)))
    else:
        # The folder existed before us: remove only the paths we recorded, the state file last.
        paths = [p for p in doc.get("addedPaths") or [] if p != layout.state_file] + [layout.state_file]
        for p in paths:
            steps.append(Step("Remove %s" % p, action=lambda p=p: _remove_user_aware(p, layout, doc, purge),
                              detail=_detail(p, keep)))
    return steps


def _detail(path: str, keep: List[str]) -> str:
    mine = [k for k in keep if _covers(os.path.normpath(path), [k])]
    if not mine:
        return "rm -r %s" % path
    return "rm -r %s, keeping your files in place (--purge deletes them): %s" % (path, _list(mine))
