"""Uninstall removes only what install recorded: its folder (if it made it), its service file, its log folder."""
from __future__ import annotations

import io
import os

from tests.support import TempDirCase
from cw_install import cli, plan, state, uninstall
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

    def user_data_install(self, created_dir):
        """An install folder holding ComfyUI with our model, a user's model, a generated image, placeholders."""
        layout = Layout("linux", os.path.join(self.tmp, "cw"), self.tmp)
        files = {
            os.path.join(layout.models, "checkpoints", "ours.safetensors"): b"ours",
            os.path.join(layout.models, "checkpoints", "mine.safetensors"): b"the user's own model",
            os.path.join(layout.models, "loras", "sub", "style.safetensors"): b"lora",
            os.path.join(layout.models, "vae", "put_vae_here"): b"",  # ComfyUI's placeholder
            os.path.join(layout.models, "checkpoints", "next.safetensors.part"): b"half",  # our interrupted download
            os.path.join(layout.workspace, "output", "ComfyUI_00001_.png"): b"png",
            os.path.join(layout.workspace, "main.py"): b"",
            os.path.join(layout.root, "venv", "bin", "python"): b"",
        }
        for p, data in files.items():
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        doc = {"createdDir": created_dir, "models": {"checkpoints/ours.safetensors": "a" * 64},
               "addedPaths": [layout.state_file, layout.workspace, os.path.join(layout.root, "venv")]}
        state.save(layout.state_file, doc)
        kept = [os.path.join(layout.models, "checkpoints", "mine.safetensors"),
                os.path.join(layout.models, "loras", "sub", "style.safetensors"),
                os.path.join(layout.workspace, "output")]
        return layout, kept

    def uninstall_cli(self, layout, *extra):
        out, err = io.StringIO(), io.StringIO()
        rc = cli.main(["uninstall", "--dir", layout.root] + list(extra), environ={"PATH": "", "HOME": self.tmp},
                      os_name="linux", out=out, err=err)
        self.assertEqual(rc, 0, err.getvalue())
        return out.getvalue() + err.getvalue()

    def test_default_keeps_output_and_models_we_did_not_install_and_says_so(self):
        for created in (True, False):
            with self.subTest(createdDir=created):
                layout, kept = self.user_data_install(created)
                dry = self.uninstall_cli(layout, "--dry-run")
                for k in kept:
                    self.assertIn(k, dry)
                text = self.uninstall_cli(layout)
                for k in kept:
                    self.assertTrue(os.path.exists(k), k)
                    self.assertIn(k, text)  # the output names what was kept
                self.assertIn("kept in place", text)
                self.assertEqual(len(os.listdir(os.path.join(layout.workspace, "output"))), 1)
                for gone in ("checkpoints/ours.safetensors", "checkpoints/next.safetensors.part", "vae"):
                    self.assertFalse(os.path.exists(os.path.join(layout.models, gone)), gone)
                self.assertFalse(os.path.exists(os.path.join(layout.workspace, "main.py")))
                self.assertFalse(os.path.exists(layout.state_file))
                self.assertFalse(os.path.exists(os.path.join(layout.root, "venv")))
                import shutil
                shutil.rmtree(layout.root)

    def test_purge_removes_everything(self):
        layout, kept = self.user_data_install(True)
        dry = self.uninstall_cli(layout, "--purge", "--dry-run")
        self.assertNotIn("keeping", dry)
        self.uninstall_cli(layout, "--purge")
        self.assertFalse(os.path.exists(layout.root))

    def test_nothing_of_the_users_means_a_plain_removal(self):
        layout, _ = self.user_data_install(True)
        import shutil
        shutil.rmtree(os.path.join(layout.workspace, "output"))
        os.remove(os.path.join(layout.models, "checkpoints", "mine.safetensors"))
        shutil.rmtree(os.path.join(layout.models, "loras"))
        os.makedirs(os.path.join(layout.workspace, "output"))
        open(os.path.join(layout.workspace, "output", "_output_images_will_be_put_here"), "w").close()
        text = self.uninstall_cli(layout)
        self.assertNotIn("kept", text)
        self.assertFalse(os.path.exists(layout.root))

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
