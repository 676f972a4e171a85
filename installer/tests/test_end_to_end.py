"""A real (not dry) install and uninstall with stand-ins: a fake venv python and comfy, a local git repo for a
custom node, a local HTTP server for the manifest, a model and the control plane. Nothing outside the temp folder
is touched (--no-service: a service cannot be registered in a test)."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys

from unittest import mock

from tests.support import TempDirCase, send, send_json, serve, stand_in
from tests.test_child_env import dumps, env_dumper
from cw_install import childenv, cli, nodes, state

MODEL = os.urandom(64 * 1024)
VERSION_QUERY = "-c import importlib.metadata as m; print(m.version('comfy-cli'))"


def git(*args, cwd=None):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"] + list(args),
                   cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_node_repo(path):
    os.makedirs(path)
    git("init", "-q", cwd=path)
    with open(os.path.join(path, "__init__.py"), "w") as f:
        f.write("NODE_CLASS_MAPPINGS = {}\n")
    with open(os.path.join(path, "requirements.txt"), "w") as f:
        f.write("# none\n")  # makes the install run `pip install -r` for the node
    git("add", ".", cwd=path)
    git("commit", "-q", "-m", "one", cwd=path)
    first = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, stdout=subprocess.PIPE,
                           universal_newlines=True).stdout.strip()
    with open(os.path.join(path, "nodes.py"), "w") as f:
        f.write("x = 2\n")
    git("add", ".", cwd=path)
    git("commit", "-q", "-m", "two", cwd=path)
    return first


class EndToEndTest(TempDirCase):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "home", "comfyui-worker")
        # A venv that already exists (made by the operator): install must use it and uninstall must keep it.
        bindir = os.path.join(self.root, "venv", "bin")
        stand_in(bindir, "python", {VERSION_QUERY: "1.17.0\n"}, default="")
        log = os.path.join(self.tmp, "comfy-calls.log")
        comfy = os.path.join(bindir, "comfy")
        with open(comfy, "w") as f:
            f.write("#!%s\nimport os, sys\nopen(%r, 'a').write(' '.join(sys.argv[1:]) + ' VIRTUAL_ENV=' + "
                    "os.environ.get('VIRTUAL_ENV', '') + '\\n')\nws = sys.argv[sys.argv.index('--workspace') + 1]\n"
                    "if 'install' in sys.argv:\n    os.makedirs(os.path.join(ws, 'custom_nodes'))\n"
                    "    open(os.path.join(ws, 'main.py'), 'w').close()\n" % (sys.executable, log))
        os.chmod(comfy, 0o755)
        self.calls = log
        self.node_commit = make_node_repo(os.path.join(self.tmp, "ComfyUI-Foo"))
        self.foreign = os.path.join(self.tmp, "home", "other-project", "keep.txt")
        os.makedirs(os.path.dirname(self.foreign))
        open(self.foreign, "w").close()

        workers = {}
        self.sha = None

        def manifest(req, rec):
            if req.headers.get("Authorization") != "Bearer cwe_enrol":
                send_json(req, 401, {"message": "bad token"})
                return
            send_json(req, 200, {
                "version": 1, "comfyCliVersion": "1.17.0",
                "models": [{"url": self.base + "/files/m.safetensors",
                            "sha256": self.sha or hashlib.sha256(MODEL).hexdigest(),
                            "folder": "checkpoints", "filename": "m.safetensors", "authEnv": "HF_TOKEN"}],
                "customNodes": [{"repo": os.path.join(self.tmp, "ComfyUI-Foo"), "commit": self.node_commit,
                                 "name": "ComfyUI-Foo"}]})

        def model(req, rec):
            send(req, 200, MODEL, "application/octet-stream")

        def register(req, rec):
            if req.headers.get("Authorization") != "Bearer cwe_enrol" or "used" in workers:
                send_json(req, 401, {"message": "enrolment token already used"})
                return
            workers["used"] = True
            send_json(req, 201, {"id": "local-e2e", "name": "studio-e2e", "url": "http://127.0.0.1:8188",
                                 "workerKey": "cwk_e2e"})

        def delete(req, rec):
            ok = req.headers.get("Authorization") == "Bearer cwk_e2e"
            send_json(req, 200 if ok else 401, {})

        self.base, self.rec, stop = serve({
            ("GET", "/api/local/install-manifest"): manifest,
            ("GET", "/files/m.safetensors"): model,
            ("POST", "/api/local/workers"): register,
            ("DELETE", "/api/local/workers/local-e2e"): delete,
        })
        self.addCleanup(stop)

    def run_cli(self, argv, token="cwe_enrol"):
        env = {"PATH": os.environ.get("PATH", ""), "HOME": os.path.join(self.tmp, "home"), "HF_TOKEN": "hf_model"}
        if token:
            env["CW_ENROLMENT_TOKEN"] = token
        out, err = io.StringIO(), io.StringIO()
        rc = cli.main(argv, environ=env, os_name="linux", out=out, err=err)
        return rc, out.getvalue(), err.getvalue()

    def test_install_rerun_and_uninstall(self):
        rc, out, err = self.run_cli(["install", "--server", self.base, "--no-service", "--name", "studio-e2e",
                                     "--advertise-url", "http://127.0.0.1:8188"])
        self.assertEqual(rc, 0, err)
        self.assertNotIn("cwe_enrol", out + err)
        self.assertNotIn("cwk_e2e", out + err)
        self.assertNotIn("hf_model", out + err)
        with open(self.calls) as f:
            calls = f.read().splitlines()
        self.assertEqual(calls, ["--skip-prompt --workspace %s install --cpu VIRTUAL_ENV=%s"
                                 % (os.path.join(self.root, "ComfyUI"), os.path.join(self.root, "venv"))])
        node = os.path.join(self.root, "ComfyUI", "custom_nodes", "ComfyUI-Foo")
        self.assertEqual(nodes.head(node), self.node_commit)
        self.assertFalse(os.path.exists(os.path.join(node, "nodes.py")))  # pinned to the first commit
        with open(os.path.join(self.root, "ComfyUI", "models", "checkpoints", "m.safetensors"), "rb") as f:
            self.assertEqual(f.read(), MODEL)
        model_req = [r for r in self.rec.requests if r["path"] == "/files/m.safetensors"][0]
        self.assertEqual(model_req["headers"]["authorization"], "Bearer hf_model")
        reg = [r for r in self.rec.requests if r["method"] == "POST"][0]
        body = json.loads(reg["body"])
        self.assertEqual(body["models"], ["checkpoints/m.safetensors"])
        self.assertEqual(body["gpu"]["kind"], "cpu")
        doc = state.load(os.path.join(self.root, "cw-worker.json"))
        self.assertEqual((doc["workerId"], doc["workerKey"], doc["server"]), ("local-e2e", "cwk_e2e", self.base))
        self.assertFalse(doc["createdDir"])  # the folder existed (operator's venv in it)

        # Re-run with a new token: nothing re-downloaded or re-cloned; ComfyUI upgraded in place.
        n_model = len([r for r in self.rec.requests if r["path"] == "/files/m.safetensors"])
        rc, out, err = self.run_cli(["--server", self.base, "--no-service", "--dry-run"])
        self.assertEqual(rc, 0, err)
        self.assertIn("update comfy", out)
        self.assertNotIn("Model checkpoints", out)
        self.assertNotIn("Custom node", out)
        self.assertEqual(len([r for r in self.rec.requests if r["path"] == "/files/m.safetensors"]), n_model)

        rc, out, err = self.run_cli(["uninstall"], token=None)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("cwk_e2e", out + err)
        delete = [r for r in self.rec.requests if r["method"] == "DELETE"][0]
        self.assertEqual(delete["headers"]["authorization"], "Bearer cwk_e2e")
        # Ours is gone; the operator's venv and everything else stay.
        self.assertFalse(os.path.exists(os.path.join(self.root, "ComfyUI")))
        self.assertFalse(os.path.exists(os.path.join(self.root, "cw-worker.json")))
        self.assertTrue(os.path.exists(os.path.join(self.root, "venv", "bin", "python")))
        self.assertTrue(os.path.exists(self.foreign))
        # A second uninstall finds no state and removes nothing.
        rc, _, err = self.run_cli(["uninstall"], token=None)
        self.assertEqual(rc, 1)
        self.assertIn("no install state", err)

    def test_no_subprocess_sees_the_enrolment_or_model_token(self):
        # The tokens in this process's environment, as the bootstrap gives them; the venv python (version query,
        # pip install -r of the node), comfy-cli and git (wrapped) record the environment they were given.
        dump = os.path.join(self.tmp, "env.jsonl")
        bindir = os.path.join(self.root, "venv", "bin")
        with open(os.path.join(bindir, "python"), "w") as f:
            f.write("#!%s\nimport json, os, sys\nwith open(%r, 'a') as f:\n"
                    "    f.write(json.dumps({'argv0': 'python', 'argv': sys.argv[1:], "
                    "'env': dict(os.environ)}) + '\\n')\n"
                    "if '-c' in sys.argv:\n    print('1.17.0')\n" % (sys.executable, dump))
        comfy = os.path.join(bindir, "comfy")
        os.rename(comfy, comfy + "-real")
        env_dumper(comfy, dump, then_exec=comfy + "-real")
        wrap = os.path.join(self.tmp, "wrap-bin")
        os.makedirs(wrap)
        env_dumper(os.path.join(wrap, "git"), dump, then_exec=shutil.which("git"))
        secrets = {"CW_ENROLMENT_TOKEN": "cwe_enrol", "HF_TOKEN": "hf_model"}
        with mock.patch.object(childenv, "_hidden", {childenv.TOKEN_ENV}), \
                mock.patch.dict(os.environ, dict(secrets, PATH=wrap + os.pathsep + os.environ.get("PATH", ""))):
            rc, _, err = self.run_cli(["install", "--server", self.base, "--no-service", "--name", "studio-e2e",
                                       "--advertise-url", "http://127.0.0.1:8188"])
        self.assertEqual(rc, 0, err)
        recs = dumps(dump)
        self.assertEqual({r["argv0"] for r in recs}, {"python", "comfy", "git"})
        self.assertTrue(any(r["argv0"] == "python" and r["argv"][:3] == ["-m", "pip", "install"] and "-r" in r["argv"]
                            for r in recs))  # the custom node's requirements
        for r in recs:
            for name, value in secrets.items():
                # assertFalse, not assertNotIn: a failure must not print the whole environment
                self.assertFalse(name in r["env"], "%s sees $%s" % (r["argv0"], name))
                self.assertFalse(value in "".join(r["env"].values()), "%s sees %s" % (r["argv0"], name))
        # The tokens were still used, from memory: the manifest, the model and the registration got them.
        model_req = [r for r in self.rec.requests if r["path"] == "/files/m.safetensors"][0]
        self.assertEqual(model_req["headers"]["authorization"], "Bearer hf_model")
        self.assertTrue(any(r["method"] == "POST" for r in self.rec.requests))

    def test_wrong_token_stops_before_any_change(self):
        rc, _, err = self.run_cli(["--server", self.base, "--no-service"], token="cwe_wrong")
        self.assertEqual(rc, 1)
        self.assertIn("HTTP 401", err)
        self.assertNotIn("cwe_wrong", err)
        self.assertFalse(os.path.exists(os.path.join(self.root, "cw-worker.json")))

    def test_checksum_mismatch_fails_the_install_with_a_clear_error(self):
        self.sha = "0" * 64
        rc, _, err = self.run_cli(["--server", self.base, "--no-service"])
        self.assertEqual(rc, 1)
        self.assertIn("SHA-256 mismatch", err)
        self.assertIn("the partial file was deleted", err)
        dest = os.path.join(self.root, "ComfyUI", "models", "checkpoints", "m.safetensors")
        self.assertFalse(os.path.exists(dest))
        self.assertFalse(os.path.exists(dest + ".part"))
        self.assertFalse(any(r["method"] == "POST" for r in self.rec.requests))  # not registered


class NodesTest(TempDirCase):
    def test_clone_checkout_is_idempotent_and_moves_to_a_new_pin(self):
        repo = os.path.join(self.tmp, "repo")
        first = make_node_repo(repo)
        second = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, stdout=subprocess.PIPE,
                                universal_newlines=True).stdout.strip()
        dest = os.path.join(self.tmp, "ComfyUI", "custom_nodes", "Foo")
        self.assertEqual(nodes.ensure(repo, first, dest), "cloned")
        self.assertEqual(nodes.ensure(repo, first, dest), "unchanged")
        self.assertEqual(nodes.ensure(repo, second, dest), "updated")
        self.assertEqual(nodes.head(dest), second)

    def test_foreign_folder_is_not_touched(self):
        dest = os.path.join(self.tmp, "custom_nodes", "Foo")
        os.makedirs(dest)
        with self.assertRaises(nodes.NodeError):
            nodes.ensure("/nonexistent", "a" * 40, dest)
        self.assertEqual(os.listdir(dest), [])

    def test_unknown_commit_is_an_error(self):
        repo = os.path.join(self.tmp, "repo")
        make_node_repo(repo)
        with self.assertRaises(nodes.NodeError) as cm:
            nodes.ensure(repo, "c" * 40, os.path.join(self.tmp, "n", "Foo"))
        self.assertTrue(re.search(r"git checkout failed", str(cm.exception)))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "n", "Foo")))
