"""Uninstall removes only what install recorded: its folder (if it made it), its service file, its log folder."""
from __future__ import annotations

import io
import os

from tests.support import TempDirCase
from cw_install import plan, state, uninstall
from cw_install.layout import Layout


class UninstallTest(TempDirCase):
    def test_created_folder_service_file_and_logs_go_everything_else_stays(self):
        home = os.path.join(self.tmp, "home")
        layout = Layout("darwin", os.path.join(home, "comfyui-worker"), home)
        plist = os.path.join(home, "Library", "LaunchAgents", "org.comfy-cloud-workers.comfyui-worker.plist")
        other_plist = os.path.join(home, "Library", "LaunchAgents", "com.example.other.plist")
        other_logs = os.path.join(home, "Library", "Logs", "OtherApp", "x.log")
        sibling = os.path.join(home, "comfyui-worker-notes.txt")
        for p in (plist, other_plist, other_logs, sibling, os.path.join(layout.workspace, "main.py"),
                  os.path.join(layout.logs, "comfyui.log")):
            os.makedirs(os.path.dirname(p), exist_ok=True)
            open(p, "w").close()
        state.save(layout.state_file, {"createdDir": True, "service": {"kind": "launchd", "scope": "user",
                                                                       "path": plist},
                                       "addedPaths": [layout.state_file, layout.logs, layout.workspace]})
        steps = uninstall.build("darwin", layout, state.load(layout.state_file))
        text = plan.render(steps, "darwin", [])
        self.assertIn("launchctl unload -w", text)
        self.assertNotIn("DELETE", text)  # never registered: nothing to delete
        # Run all but the launchctl step (no launchd here).
        plan.run([s for s in steps if not s.argv], io.StringIO())
        for gone in (layout.root, plist, layout.logs):
            self.assertFalse(os.path.exists(gone), gone)
        for kept in (other_plist, other_logs, sibling):
            self.assertTrue(os.path.exists(kept), kept)

    def test_linux_system_unit_and_registration_steps(self):
        layout = Layout("linux", os.path.join(self.tmp, "cw"), self.tmp)
        doc = {"createdDir": False, "service": {"kind": "systemd", "scope": "system",
                                                "path": "/etc/systemd/system/comfyui-worker.service"},
               "workerId": "local-1", "workerKey": "cwk_secret", "server": "http://cp:3000",
               "addedPaths": [layout.state_file, layout.workspace]}
        text = plan.render(uninstall.build("linux", layout, doc), "linux", [])
        self.assertIn("$ systemctl disable --now comfyui-worker.service", text)
        self.assertIn("DELETE http://cp:3000/api/local/workers/local-1", text)
        self.assertIn("Remove %s" % layout.workspace, text)
        self.assertNotIn("Remove the install folder", text)
        self.assertNotIn("cwk_secret", text)
        self.assertLess(text.index("disable --now"), text.index("DELETE"))

    def test_windows_task_removal(self):
        layout = Layout("windows", "C:\\cw", "C:\\Users\\ann")
        doc = {"createdDir": True, "service": {"kind": "schtasks", "scope": "user", "path": "C:\\cw\\t.xml"},
               "addedPaths": []}
        text = plan.render(uninstall.build("windows", layout, doc), "windows", [])
        self.assertIn("schtasks /Delete /TN comfyui-worker /F", text)

    def test_no_state_means_nothing_to_remove(self):
        layout = Layout("linux", os.path.join(self.tmp, "cw"), self.tmp)
        with self.assertRaises(uninstall.UninstallError):
            uninstall.build("linux", layout, {})
