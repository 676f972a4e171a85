"""Uninstall: stop and remove the service, delete the registration, remove what install added — nothing else.

What install added is read from <dir>/cw-worker.json (`addedPaths`, `service`, `createdDir`); without that file
nothing is removed (we cannot tell our files from the operator's).
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


def build(os_name: str, layout: Layout, doc: Dict[str, Any]) -> List[Step]:
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
    if doc.get("createdDir"):
        outside = [p for p in doc.get("addedPaths") or [] if not os.path.normpath(p).startswith(root + os.sep)]
        for p in outside:
            steps.append(Step("Remove %s" % p, action=lambda p=p: _remove(p), detail="rm -r %s" % p))
        steps.append(Step("Remove the install folder %s (created by install)" % layout.root,
                          action=lambda: _remove(layout.root), detail="rm -r %s" % layout.root))
    else:
        # The folder existed before us: remove only the paths we recorded, the state file last.
        paths = [p for p in doc.get("addedPaths") or [] if p != layout.state_file] + [layout.state_file]
        for p in paths:
            steps.append(Step("Remove %s" % p, action=lambda p=p: _remove(p), detail="rm -r %s" % p))
    return steps
