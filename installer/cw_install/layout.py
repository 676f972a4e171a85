"""Where things go on a target OS. Computed with ntpath/posixpath for the *target* so a plan for Windows can be
built (and tested) on Linux."""
from __future__ import annotations

import ntpath
import posixpath
import sys
from typing import Dict, Optional

from . import SERVICE_NAME


def current_os() -> str:
    if sys.platform.startswith("win"):
        return "windows"
    if sys.platform == "darwin":
        return "darwin"
    return "linux"


class Layout:
    def __init__(self, os_name: str, root: str, home: str) -> None:
        self.os = os_name
        self.p = ntpath if os_name == "windows" else posixpath
        self.root = root
        self.home = home
        j = self.p.join
        self.venv = j(root, "venv")
        bindir = j(self.venv, "Scripts") if os_name == "windows" else j(self.venv, "bin")
        self.venv_bin = bindir
        self.python = j(bindir, "python.exe" if os_name == "windows" else "python")
        self.comfy = j(bindir, "comfy.exe" if os_name == "windows" else "comfy")
        self.workspace = j(root, "ComfyUI")
        self.models = j(self.workspace, "models")
        self.custom_nodes = j(self.workspace, "custom_nodes")
        self.state_file = j(root, "cw-worker.json")
        self.run_script = j(root, "run-worker.cmd")  # Windows only: the task runs it (env + log redirect)
        if os_name == "darwin":
            self.logs = j(home, "Library", "Logs", SERVICE_NAME)
        elif os_name == "windows":
            self.logs = j(root, "logs")
        else:
            self.logs = None  # journald

    def model_path(self, folder: str, filename: str) -> str:
        return self.p.join(self.models, *folder.split("/"), *filename.split("/"))

    def node_path(self, name: str) -> str:
        return self.p.join(self.custom_nodes, name)


def default_dir(os_name: str, environ: Dict[str, str], home: str) -> str:
    if os_name == "windows":
        base: Optional[str] = environ.get("LOCALAPPDATA") or ntpath.join(home, "AppData", "Local")
        return ntpath.join(base, SERVICE_NAME)
    return posixpath.join(home, SERVICE_NAME)
