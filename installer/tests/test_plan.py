"""The install plan per platform and GPU kind, its dry-run rendering, and idempotent re-runs."""
from __future__ import annotations

import io
import json
import os

from tests.support import Opts, TempDirCase
from cw_install import cli, install, manifest, plan
from cw_install.layout import Layout

GPUS = {
    "nvidia": {"kind": "nvidia", "name": "NVIDIA GeForce RTX 4090", "vramBytes": 25757220864, "driver": "550.54",
               "cudaVersion": "12.4", "count": 1},
    "amd": {"kind": "amd", "name": "Radeon RX 7900 XTX", "vramBytes": 25753026560, "driver": "6.7.0",
            "cudaVersion": None, "rocmVersion": "6.2", "count": 1},
    "apple": {"kind": "apple", "name": "Apple M2 Max", "vramBytes": 68719476736, "driver": None,
              "cudaVersion": None, "count": 1},
    "cpu": {"kind": "cpu", "name": None, "vramBytes": None, "driver": None, "cudaVersion": None, "count": 0},
}
MANIFEST = manifest.validate({
    "version": 1, "comfyCliVersion": "1.16.0",
    "models": [{"url": "https://huggingface.co/org/repo/resolve/main/sdxl.safetensors", "sha256": "a" * 64,
                "folder": "checkpoints", "filename": "sdxl.safetensors", "authEnv": "HF_TOKEN"}],
    "customNodes": [{"repo": "https://github.com/org/ComfyUI-Foo.git", "commit": "b" * 40, "name": "ComfyUI-Foo"}],
})
# The comfy install flags each (platform, GPU) must produce.
EXPECTED_FLAGS = {
    ("linux", "nvidia"): ["--nvidia", "--cuda-version", "12.4"],
    ("linux", "amd"): ["--amd", "--rocm-version", "6.2"],
    ("linux", "apple"): ["--cpu"],
    ("linux", "cpu"): ["--cpu"],
    ("windows", "nvidia"): ["--nvidia", "--cuda-version", "12.4"],
    ("windows", "amd"): ["--cpu"],
    ("windows", "cpu"): ["--cpu"],
    ("darwin", "apple"): ["--m-series"],
    ("darwin", "cpu"): ["--cpu"],
    ("darwin", "nvidia"): ["--cpu"],
}


class PlanTest(TempDirCase):
    def ctx(self, os_name, gpu, token="cwe_tok", **opts):
        home = os.path.join(self.tmp, "home") if os_name != "windows" else "C:\\Users\\ann"
        root = os.path.join(home, "comfyui-worker") if os_name != "windows" else \
            "C:\\Users\\ann\\AppData\\Local\\comfyui-worker"
        layout = Layout(os_name, root, home)
        return install.Context(os_name, layout, Opts(**opts), GPUS[gpu], MANIFEST, {"PATH": "/usr/bin"}, "ann",
                               token, {}, python_version=(3, 11), advertise="http://10.0.0.5:8188")

    def test_matrix_of_platforms_and_gpus(self):
        for (os_name, gpu), flags in EXPECTED_FLAGS.items():
            with self.subTest(os=os_name, gpu=gpu):
                c = self.ctx(os_name, gpu)
                steps = install.build(c)
                argvs = [s.argv for s in steps if s.argv]
                comfy_install = [a for a in argvs if "install" in a and "--skip-prompt" in a]
                self.assertEqual(len(comfy_install), 1)
                self.assertEqual(comfy_install[0][-len(flags):], flags)
                self.assertEqual(comfy_install[0][1:4], ["--skip-prompt", "--workspace", c.layout.workspace])
                step = [s for s in steps if s.argv is comfy_install[0]][0]
                self.assertEqual(step.env["VIRTUAL_ENV"], c.layout.venv)
                pip = [a for a in argvs if "pip" in a][0]
                self.assertEqual(pip[0], c.layout.python)
                self.assertEqual(pip[-1], "comfy-cli==1.16.0")  # the manifest's pin wins over the default
                text = plan.render(steps, os_name, install.header(c))
                self.assertIn("Model checkpoints/sdxl.safetensors", text)
                self.assertIn("Custom node ComfyUI-Foo at bbbbbbbbbbbb", text)
                self.assertIn("Register with http://cp.example:3000", text)
                self.assertNotIn("cwe_tok", text)
                if os_name == "linux":
                    self.assertIn("systemctl --user enable comfyui-worker.service", text)
                    self.assertIn("/.config/systemd/user/comfyui-worker.service", text)
                elif os_name == "darwin":
                    self.assertIn("launchctl load -w", text)
                    self.assertIn("Library/LaunchAgents/org.comfy-cloud-workers.comfyui-worker.plist", text)
                else:
                    self.assertIn("schtasks /Create /TN comfyui-worker /XML", text)
                    self.assertIn("C:\\Users\\ann\\AppData\\Local\\comfyui-worker\\venv\\Scripts\\comfy.exe", text)

    def test_listening_on_every_interface_warns_that_comfyui_has_no_authentication(self):
        c = self.ctx("linux", "cpu")
        install.build(c)
        text = "\n".join(install.header(c))
        self.assertIn("ComfyUI has no authentication", text)
        self.assertIn("reachable by the whole network", text)
        self.assertIn("--host 10.0.0.5", text)  # the LAN address the control plane is told
        self.assertIn("firewall", text)
        c = self.ctx("linux", "cpu", host="10.0.0.5")
        install.build(c)
        self.assertNotIn("no authentication", "\n".join(install.header(c)))

    def test_plan_shows_model_urls_without_their_query_string(self):
        mf = manifest.validate({"version": 1, "models": [
            {"url": "https://cdn.example/m.bin?X-Amz-Signature=sig_secret", "sha256": "a" * 64,
             "folder": "checkpoints", "filename": "m.bin", "authEnv": "CDN_TOKEN"}]})
        c = self.ctx("linux", "cpu")
        c.manifest = mf
        text = plan.render(install.build(c), "linux", install.header(c))
        self.assertIn("download https://cdn.example/m.bin ->", text)
        self.assertNotIn("sig_secret", text)
        self.assertIn("a token for cdn.example", text)

    def test_windows_system_scope_runs_at_boot(self):
        c = self.ctx("windows", "nvidia", service="system")
        self.assertIn("at boot", install.header(c)[6])

    def test_linux_system_scope_needs_root(self):
        with self.assertRaises(install.PlanError):
            install.build(self.ctx("linux", "nvidia", service="system"))
        c = self.ctx("linux", "nvidia", service="system")
        c.is_root = True
        text = plan.render(install.build(c), "linux", [])
        self.assertIn("/etc/systemd/system/comfyui-worker.service", text)
        self.assertIn("$ systemctl enable comfyui-worker.service", text)
        self.assertNotIn("enable-linger", text)

    def test_real_run_without_token_or_with_old_python_is_refused_before_any_step(self):
        with self.assertRaises(install.PlanError) as cm:
            install.build(self.ctx("linux", "cpu", token=None, dry_run=False))
        self.assertIn("CW_ENROLMENT_TOKEN", str(cm.exception))
        c = self.ctx("linux", "cpu", dry_run=False)
        c.python_version = (3, 9)
        with self.assertRaises(install.PlanError) as cm:
            install.build(c)
        self.assertIn("3.10", str(cm.exception))
        c = self.ctx("linux", "cpu")  # dry run: a warning in the header instead
        c.python_version = (3, 9)
        install.build(c)
        self.assertTrue(any("3.10" in w for w in c.warnings))

    def test_rerun_skips_done_work_and_upgrades_in_place(self):
        c = self.ctx("linux", "nvidia")
        L = c.layout
        # State of a finished install: venv, comfy-cli at the pin, ComfyUI present, the model verified.
        os.makedirs(os.path.dirname(L.python))
        open(L.python, "w").close()
        os.makedirs(os.path.join(L.models, "checkpoints"))
        open(L.model_path("checkpoints", "sdxl.safetensors"), "w").close()
        c.comfy_cli_version = "1.16.0"
        c.comfyui_installed = True
        c.prior = {"models": {"checkpoints/sdxl.safetensors": "a" * 64}, "workerId": "local-1"}
        steps = install.build(c)
        text = plan.render(steps, "linux", [])
        self.assertNotIn("venv", [s.argv[2] for s in steps if s.argv and len(s.argv) > 2 and s.argv[1] == "-m"])
        self.assertNotIn("comfy-cli==", text)
        self.assertNotIn("Model checkpoints/sdxl.safetensors", text)
        self.assertIn("update comfy", text)
        self.assertNotIn(" install --nvidia", text)
        # A newer pin upgrades comfy-cli in place.
        c.comfy_cli_version = "1.15.0"
        self.assertIn("Install comfy-cli 1.16.0 (upgrade from 1.15.0)", plan.render(install.build(c), "linux", []))

    def test_no_service_skips_service_and_wait(self):
        text = plan.render(install.build(self.ctx("linux", "cpu", no_service=True)), "linux", [])
        self.assertNotIn("systemctl", text)
        self.assertNotIn("system_stats", text)


class DryRunCliTest(TempDirCase):
    def run_cli(self, os_name, argv, env_extra=None):
        mf = os.path.join(self.tmp, "manifest.json")
        with open(mf, "w") as f:
            json.dump({"version": 1, "comfyCliVersion": "1.17.0", "models": [], "customNodes": []}, f)
        home = os.path.join(self.tmp, "home")
        env = {"PATH": os.path.join(self.tmp, "empty-bin"), "HOME": home, "LOCALAPPDATA": "C:\\Users\\ann\\AppData\\Local"}
        env.update(env_extra or {})
        out, err = io.StringIO(), io.StringIO()
        rc = cli.main(argv + ["--manifest", mf], environ=env, os_name=os_name, out=out, err=err)
        return rc, out.getvalue(), err.getvalue(), home

    def test_dry_run_prints_the_plan_and_changes_nothing(self):
        rc, out, err, home = self.run_cli("linux", ["--dry-run", "--port", "8190", "--name", "box-7",
                                                    "--advertise-url", "http://box-7.lan:8190"],
                                          {"CW_ENROLMENT_TOKEN": "cwe_secret_value"})
        self.assertEqual((rc, err), (0, ""))
        self.assertIn("cw-installer plan (linux)", out)
        self.assertIn("PyTorch:    cpu", out)
        self.assertIn("advertised to the control plane as http://box-7.lan:8190", out)
        self.assertIn("--skip-prompt --workspace", out)
        self.assertIn("launch -- --listen 0.0.0.0 --port 8190", out)
        self.assertIn("comfy-cli==1.17.0", out)
        self.assertIn("dry run: nothing was changed", out)
        self.assertNotIn("cwe_secret_value", out)
        self.assertFalse(os.path.exists(home))

    def test_dry_run_for_windows_and_macos(self):
        rc, out, _, _ = self.run_cli("windows", ["install", "--dry-run", "--gpu", "nvidia"])
        self.assertEqual(rc, 0)
        self.assertIn("C:\\Users\\ann\\AppData\\Local\\comfyui-worker", out)
        self.assertIn("--nvidia --cuda-version 12.6", out)  # forced NVIDIA, CUDA unknown: comfy-cli's default
        self.assertIn("CW_ENROLMENT_TOKEN is not set", out)
        rc, out, _, home = self.run_cli("darwin", ["--dry-run", "--gpu", "apple"])
        self.assertEqual(rc, 0)
        self.assertIn("install --m-series", out)
        self.assertIn(os.path.join(home, "Library", "Logs", "comfyui-worker"), out)

    def test_uninstall_flag_means_the_uninstall_command(self):
        # The issue's `--uninstall`, also as the Windows bootstrap passes it: `install --server S --uninstall`.
        from cw_install.cli import _argv
        self.assertEqual(_argv(["--uninstall", "--dry-run"]), ["uninstall", "--dry-run"])
        self.assertEqual(_argv(["install", "--server", "https://cw", "--uninstall"]),
                         ["uninstall", "--server", "https://cw"])
        err = io.StringIO()
        out = io.StringIO()
        rc = cli.main(["--uninstall", "--dry-run", "--dir", os.path.join(self.tmp, "w")],
                      environ={"PATH": "", "HOME": self.tmp}, os_name="linux", out=out, err=err)
        # The uninstall command ran: with nothing installed there, it refuses to touch the folder.
        self.assertEqual(rc, 1)
        self.assertIn("no install state at", err.getvalue())

    def test_server_required_without_manifest_file(self):
        err = io.StringIO()
        rc = cli.main(["install"], environ={"PATH": "", "HOME": self.tmp}, os_name="linux", out=io.StringIO(),
                      err=err)
        self.assertEqual(rc, 1)
        self.assertIn("--server is required", err.getvalue())

    def test_bad_manifest_is_a_clear_error(self):
        mf = os.path.join(self.tmp, "bad.json")
        with open(mf, "w") as f:
            json.dump({"version": 1, "models": [{"url": "https://x/y", "sha256": "abc", "folder": "../..",
                                                 "filename": "x"}]}, f)
        err = io.StringIO()
        rc = cli.main(["--dry-run", "--manifest", mf], environ={"PATH": "", "HOME": self.tmp}, os_name="linux",
                      out=io.StringIO(), err=err)
        self.assertEqual(rc, 1)
        self.assertIn("sha256 must be 64 hex", err.getvalue())

    def test_manifest_rejects_paths_escaping_the_models_folder(self):
        for folder in ("../..", "/etc", "checkpoints/../../x", ""):
            with self.subTest(folder=folder), self.assertRaises(manifest.ManifestError):
                manifest.validate({"version": 1, "models": [{"url": "https://x/y", "sha256": "a" * 64,
                                                             "folder": folder, "filename": "m.bin"}]})
        ok = manifest.validate({"version": 1, "models": [{"url": "https://x/y", "sha256": "A" * 64,
                                                          "folder": "loras/sdxl", "filename": "m.bin"}]})
        self.assertEqual(ok["models"][0]["sha256"], "a" * 64)
        self.assertEqual(ok["comfyCliVersion"], manifest.DEFAULT_COMFY_CLI_VERSION)

    def test_detect_prints_json(self):
        out = io.StringIO()
        self.assertEqual(cli.main(["detect"], environ={"PATH": self.tmp}, out=out), 0)
        self.assertEqual(json.loads(out.getvalue())["kind"], "cpu")
