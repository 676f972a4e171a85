"""Generated systemd unit, launchd plist and Windows task XML: parsed and (unit) verified by systemd-analyze."""
from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import xml.etree.ElementTree as ET

from tests.support import TempDirCase
from cw_install import service

ARGV = service.launch_argv("/home/ann/comfy worker/venv/bin/comfy", "/home/ann/comfy worker/ComfyUI", "0.0.0.0", 8188)
ENV = service.launch_env("/home/ann/comfy worker/venv", "/home/ann/comfy worker/venv/bin", "linux")
TASK_NS = "{http://schemas.microsoft.com/windows/2004/02/mit/task}"


class ServiceFilesTest(TempDirCase):
    def test_launch_argv_uses_the_verified_comfy_cli_flags(self):
        self.assertEqual(ARGV[1:], ["--skip-prompt", "--workspace", "/home/ann/comfy worker/ComfyUI", "launch", "--",
                                    "--listen", "0.0.0.0", "--port", "8188"])

    def test_systemd_user_unit(self):
        text = service.systemd_unit(ARGV, ENV, "/home/ann/comfy worker/ComfyUI", "user", "ann")
        self.assertIn("Restart=on-failure", text)
        self.assertIn("StandardOutput=journal", text)
        self.assertIn("WantedBy=default.target", text)
        self.assertNotIn("User=", text)  # a user unit runs as its user
        self.assertIn('ExecStart="/home/ann/comfy worker/venv/bin/comfy" --skip-prompt', text)
        self.assertIn('Environment="VIRTUAL_ENV=/home/ann/comfy worker/venv"', text)

    def test_systemd_system_unit_and_escaping(self):
        argv = ["/opt/cw/venv/bin/comfy", "--name", "50%$off"]
        text = service.systemd_unit(argv, {"VIRTUAL_ENV": "/opt/cw/venv"}, "/opt/cw/ComfyUI", "system", "render")
        self.assertIn("User=render", text)
        self.assertIn("WantedBy=multi-user.target", text)
        self.assertIn("After=network-online.target", text)
        self.assertIn("50%%$$off", text)

    def _verify(self, text, scope):
        exe = shutil.which("systemd-analyze")
        if exe is None:
            self.skipTest("systemd-analyze not installed")
        # verify wants the executable to exist: point ExecStart at a real file in a temp folder.
        comfy = os.path.join(self.tmp, "venv", "bin", "comfy")
        os.makedirs(os.path.dirname(comfy))
        with open(comfy, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(comfy, 0o755)
        unit = os.path.join(self.tmp, service.UNIT_NAME)
        with open(unit, "w") as f:
            f.write(text.replace("/home/ann/comfy worker/venv/bin/comfy", comfy))
        cmd = [exe, "verify"] + (["--user"] if scope == "user" else []) + [unit]
        env = dict(os.environ, SYSTEMD_LOG_LEVEL="warning")
        if scope == "user" and not env.get("XDG_RUNTIME_DIR"):
            # The user manager needs a runtime dir; containers and CI often have no login session.
            env["XDG_RUNTIME_DIR"] = os.path.join(self.tmp, "run")
            os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                             timeout=60, env=env)
        out = res.stdout
        if res.returncode != 0 and service.UNIT_NAME not in out:
            self.skipTest("systemd-analyze cannot run here (not about our unit): " + out.strip()[:200])
        # Only complaints about *our* unit count (the host's other units are not ours to judge).
        ours = [line for line in out.splitlines() if service.UNIT_NAME in line]
        self.assertEqual(res.returncode, 0, out)
        self.assertEqual(ours, [], out)

    def test_systemd_analyze_verify_system_unit(self):
        self._verify(service.systemd_unit(ARGV, ENV, self.tmp, "system", "root"), "system")

    def test_systemd_analyze_verify_rejects_a_broken_unit(self):
        # Control: the check above would catch a bad setting (so its pass means something).
        with self.assertRaises(AssertionError):
            self._verify(service.systemd_unit(ARGV, ENV, self.tmp, "system", "root").replace(
                "Restart=on-failure", "Restart=sometimes"), "system")

    def test_systemd_analyze_verify_user_unit(self):
        self._verify(service.systemd_unit(ARGV, ENV, self.tmp, "user", None), "user")

    def test_launchd_plist(self):
        data = service.launchd_plist(ARGV, ENV, "/Users/ann/comfyui-worker/ComfyUI",
                                     "/Users/ann/Library/Logs/comfyui-worker")
        doc = plistlib.loads(data)
        self.assertEqual(doc["Label"], service.LAUNCHD_LABEL)
        self.assertEqual(doc["ProgramArguments"], ARGV)
        self.assertIs(doc["RunAtLoad"], True)
        self.assertIs(doc["KeepAlive"], True)
        self.assertEqual(doc["StandardOutPath"], "/Users/ann/Library/Logs/comfyui-worker/comfyui.log")
        self.assertEqual(doc["EnvironmentVariables"]["VIRTUAL_ENV"], "/home/ann/comfy worker/venv")
        plutil = shutil.which("plutil")
        if plutil:  # only on macOS
            path = os.path.join(self.tmp, "x.plist")
            with open(path, "wb") as f:
                f.write(data)
            self.assertEqual(subprocess.run([plutil, "-lint", path]).returncode, 0)

    def _task(self, scope, user):
        xml = service.windows_task_xml(r"C:\Users\Ann\AppData\Local\comfyui-worker\run-worker.cmd",
                                       r"C:\Users\Ann\AppData\Local\comfyui-worker\ComfyUI", scope, user)
        # schtasks reads UTF-16 (as declared); ElementTree parses the same bytes.
        return ET.fromstring(xml.encode("utf-16"))

    def test_windows_task_at_logon(self):
        root = self._task("user", "STUDIO\\ann & co")
        self.assertEqual(root.tag, TASK_NS + "Task")
        trig = root.find(TASK_NS + "Triggers/" + TASK_NS + "LogonTrigger")
        self.assertIsNotNone(trig)
        self.assertEqual(trig.find(TASK_NS + "UserId").text, "STUDIO\\ann & co")
        rof = root.find(TASK_NS + "Settings/" + TASK_NS + "RestartOnFailure")
        self.assertEqual((rof.find(TASK_NS + "Interval").text, rof.find(TASK_NS + "Count").text), ("PT1M", "999"))
        self.assertEqual(root.find(TASK_NS + "Settings/" + TASK_NS + "ExecutionTimeLimit").text, "PT0S")
        cmd = root.find(TASK_NS + "Actions/" + TASK_NS + "Exec/" + TASK_NS + "Command").text
        self.assertTrue(cmd.endswith("run-worker.cmd"))

    def test_windows_task_at_boot_as_system(self):
        root = self._task("system", None)
        self.assertIsNotNone(root.find(TASK_NS + "Triggers/" + TASK_NS + "BootTrigger"))
        self.assertEqual(root.find(TASK_NS + "Principals/" + TASK_NS + "Principal/" + TASK_NS + "UserId").text,
                         "S-1-5-18")

    def test_windows_run_script_logs_to_a_file(self):
        argv = service.launch_argv(r"C:\cw dir\venv\Scripts\comfy.exe", r"C:\cw dir\ComfyUI", "0.0.0.0", 8188)
        text = service.windows_run_script(argv, {"VIRTUAL_ENV": r"C:\cw dir\venv"}, r"C:\cw dir\venv\Scripts",
                                          r"C:\cw dir\logs\comfyui.log")
        self.assertIn('set "VIRTUAL_ENV=C:\\cw dir\\venv"', text)
        self.assertIn('"C:\\cw dir\\venv\\Scripts\\comfy.exe" --skip-prompt --workspace "C:\\cw dir\\ComfyUI" launch',
                      text)
        self.assertIn('>> "C:\\cw dir\\logs\\comfyui.log" 2>&1', text)
        self.assertIn("\r\n", text)
