"""The zipapp as the control plane serves it, and install.sh end to end against a local server (dry run)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from tests.support import INSTALLER, TempDirCase, build_pyz, send, serve


class ZipappTest(TempDirCase):
    def test_zipapp_runs_detect_and_version(self):
        for flat in (False, True):  # the control plane's layout, and the package's files at the root
            with self.subTest(flat=flat):
                pyz = build_pyz(os.path.join(self.tmp, "cw-installer-%s.pyz" % flat), flat=flat)
                env = {"PATH": os.path.join(self.tmp, "bin"), "HOME": os.path.join(self.tmp, "home")}
                res = subprocess.run([sys.executable, pyz, "detect"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=60)
                self.assertEqual(res.returncode, 0, res.stderr)
                self.assertEqual(json.loads(res.stdout)["kind"], "cpu")
                res = subprocess.run([sys.executable, pyz, "--version"], stdout=subprocess.PIPE,
                                     universal_newlines=True, env=env, timeout=60)
                self.assertIn("cw-installer 1.", res.stdout)

    def test_python_m_package_also_works(self):
        res = subprocess.run([sys.executable, "-m", "cw_install", "detect", "--gpu", "cpu"], cwd=INSTALLER,
                             stdout=subprocess.PIPE, universal_newlines=True, timeout=60)
        self.assertEqual(json.loads(res.stdout)["kind"], "cpu")


class InstallShTest(TempDirCase):
    def test_shellcheck_clean(self):
        exe = shutil.which("shellcheck")
        if exe is None:
            self.skipTest("shellcheck not installed")
        res = subprocess.run([exe, os.path.join(INSTALLER, "install.sh")], stdout=subprocess.PIPE,
                             universal_newlines=True)
        self.assertEqual(res.returncode, 0, res.stdout)

    def test_bootstrap_downloads_and_runs_the_core_with_the_arguments(self):
        if shutil.which("bash") is None or not (shutil.which("curl") or shutil.which("wget")):
            self.skipTest("bash and curl/wget needed")
        pyz = build_pyz(os.path.join(self.tmp, "served.pyz"))
        with open(pyz, "rb") as f:
            data = f.read()
        base, rec, stop = serve({("GET", "/install/cw-installer.pyz"): lambda r, _: send(r, 200, data,
                                                                                         "application/zip")})
        self.addCleanup(stop)
        mf = os.path.join(self.tmp, "m.json")
        with open(mf, "w") as f:
            json.dump({"version": 1, "models": [], "customNodes": []}, f)
        env = dict(os.environ, HOME=os.path.join(self.tmp, "home"), CW_ENROLMENT_TOKEN="cwe_from_env",
                   TMPDIR=self.tmp)
        env.pop("CW_SERVER", None)
        with open(os.path.join(INSTALLER, "install.sh"), "rb") as f:
            script = f.read()
        # As the one-liner runs it: the script on stdin of `bash -s -- <args>`.
        res = subprocess.run(["bash", "-s", "--", "--server", base + "/", "--dry-run", "--manifest", mf],
                             input=script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120)
        out = res.stdout.decode()
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertIn("cw-installer plan (", out)
        self.assertIn("Register with %s" % base, out)
        self.assertNotIn("cwe_from_env", out + res.stderr.decode())
        self.assertEqual([r["path"] for r in rec.requests], ["/install/cw-installer.pyz"])
        self.assertEqual([n for n in os.listdir(self.tmp) if n.startswith("cw-installer.")], [])  # temp removed

    def test_bootstrap_without_server_says_so(self):
        res = subprocess.run(["bash", os.path.join(INSTALLER, "install.sh")], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True,
                             env={k: v for k, v in os.environ.items() if k != "CW_SERVER"}, timeout=60)
        self.assertEqual(res.returncode, 1)
        self.assertIn("no server", res.stderr)

    def test_bootstrap_without_python_explains_how_to_install_it(self):
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir)
        for tool in ("uname", "command", "printf"):
            p = shutil.which(tool)
            if p:
                os.symlink(p, os.path.join(bindir, tool))
        res = subprocess.run([shutil.which("bash"), os.path.join(INSTALLER, "install.sh"), "--server", "http://x"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                             env={"PATH": bindir}, timeout=60)
        self.assertEqual(res.returncode, 1)
        self.assertIn("Python 3.9 or newer is required", res.stderr)
