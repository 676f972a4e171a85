"""Registration against a stub control plane, the state file, readiness wait, unregistration."""
from __future__ import annotations

import json
import os
import stat

from tests.support import Opts, TempDirCase, send_json, serve
from cw_install import enrol, install, manifest, plan, state
from cw_install.layout import Layout

GPU = {"kind": "nvidia", "name": "NVIDIA GeForce RTX 4090", "vramBytes": 25757220864, "driver": "550.54",
       "cudaVersion": "12.4", "count": 2, "devices": []}


class EnrolTest(TempDirCase):
    def start(self, routes):
        base, rec, stop = serve(routes)
        self.addCleanup(stop)
        return base, rec

    def test_register_sends_token_and_contract_body_and_stores_state_0600(self):
        def create(req, rec):
            send_json(req, 201, {"id": "local-3fa9c01b2e", "name": "studio-1", "url": "http://10.0.0.5:8188",
                                 "workerKey": "cwk_worker_secret"})

        base, rec = self.start({("POST", "/api/local/workers"): create})
        root = os.path.join(self.tmp, "cw")
        layout = Layout("linux", root, self.tmp)
        mf = manifest.validate({"version": 1, "models": [
            {"url": "https://x/a", "sha256": "a" * 64, "folder": "checkpoints", "filename": "a.safetensors"},
            {"url": "https://x/b", "sha256": "b" * 64, "folder": "loras", "filename": "b.safetensors"}]})
        state.save(layout.state_file, {"machineId": "m-stable", "models": {"checkpoints/a.safetensors": "a" * 64}})
        ctx = install.Context("linux", layout, Opts(server=base + "/", name="studio-1"), GPU, mf, {}, "ann",
                              "cwe_enrolment_secret", {}, advertise="http://10.0.0.5:8188")
        note = install.register_action(ctx)
        self.assertEqual(note, "registered as worker local-3fa9c01b2e")
        self.assertNotIn("secret", note)
        req = rec.requests[0]
        self.assertEqual(req["headers"]["authorization"], "Bearer cwe_enrolment_secret")
        body = json.loads(req["body"])
        self.assertEqual(body, {
            "url": "http://10.0.0.5:8188", "name": "studio-1", "machineId": "m-stable",
            "gpu": {"name": "NVIDIA GeForce RTX 4090", "vramBytes": 25757220864, "driver": "550.54",
                    "cudaVersion": "12.4", "kind": "nvidia"},
            "models": ["checkpoints/a.safetensors"],  # only what the manifest actually installed
        })
        doc = state.load(layout.state_file)
        self.assertEqual((doc["workerId"], doc["workerKey"], doc["server"], doc["machineId"]),
                         ("local-3fa9c01b2e", "cwk_worker_secret", base, "m-stable"))
        if os.name == "posix":
            self.assertEqual(stat.S_IMODE(os.stat(layout.state_file).st_mode), 0o600)

    def test_reinstall_sends_the_stored_worker_key_as_proof_of_ownership_and_never_prints_it(self):
        def create(req, rec):
            send_json(req, 201, {"id": "local-new", "workerKey": "cwk_new"})

        base, rec = self.start({("POST", "/api/local/workers"): create})
        layout = Layout("linux", os.path.join(self.tmp, "cw"), self.tmp)
        state.save(layout.state_file, {"machineId": "m-1", "workerId": "local-old", "workerKey": "cwk_old_secret"})
        ctx = install.Context("linux", layout, Opts(server=base, name="studio-1"), GPU, manifest.empty(), {}, "ann",
                              "cwe_tok", {}, advertise="http://10.0.0.5:8188")
        text = install.register_action(ctx) + plan.render(install.build(ctx), "linux", install.header(ctx))
        body = json.loads(rec.requests[0]["body"])
        self.assertEqual(body["previousWorkerKey"], "cwk_old_secret")
        self.assertNotIn("cwk_old_secret", text)
        self.assertEqual(state.load(layout.state_file)["workerKey"], "cwk_new")
        # No state file key (first install): no field.
        self.assertNotIn("previousWorkerKey", enrol.registration_body("http://x:1", "n", "m", {}, []))

    def test_wait_ready_polls_the_listen_address_when_it_is_not_every_interface(self):
        self.assertEqual(enrol.local_address("0.0.0.0"), "127.0.0.1")
        self.assertEqual(enrol.local_address("192.168.1.20"), "192.168.1.20")
        self.assertEqual(enrol.local_address("fd00::5"), "[fd00::5]")

    def test_second_use_of_the_token_is_a_clear_error(self):
        def refuse(req, rec):
            send_json(req, 401, {"statusCode": 401, "message": "enrolment token already used"})

        base, _ = self.start({("POST", "/api/local/workers"): refuse})
        with self.assertRaises(enrol.web.HttpError) as cm:
            enrol.register(base, "cwe_used", {"url": "http://x:1"})
        self.assertIn("HTTP 401: enrolment token already used", str(cm.exception))
        self.assertNotIn("cwe_used", str(cm.exception))

    def test_register_accepts_the_view_nested_under_worker(self):
        def create(req, rec):
            send_json(req, 201, {"worker": {"id": "local-9"}, "workerKey": "k"})

        base, _ = self.start({("POST", "/api/local/workers"): create})
        self.assertEqual(enrol.register(base, "t", {}), {"workerId": "local-9", "workerKey": "k"})

    def test_unregister_with_the_worker_key(self):
        base, rec = self.start({("DELETE", "/api/local/workers/local-1"): lambda r, _: send_json(r, 200, {})})
        self.assertEqual(enrol.unregister(base, "local-1", "cwk_key"), "deleted")
        self.assertEqual(rec.requests[0]["headers"]["authorization"], "Bearer cwk_key")
        self.assertEqual(enrol.unregister(base, "local-2", "cwk_key"), "absent")

    def test_unregister_counts_a_refused_key_as_gone(self):
        # The control plane answers 401 for a key whose worker no longer exists (or was re-registered).
        base, _ = self.start(
            {("DELETE", "/api/local/workers/local-1"): lambda r, _: send_json(r, 401, {"message": "bad key"})}
        )
        self.assertEqual(enrol.unregister(base, "local-1", "cwk_key"), "absent")

    def test_wait_ready_polls_until_system_stats_answers(self):
        calls = {"n": 0}

        def stats(req, rec):
            calls["n"] += 1
            send_json(req, 503 if calls["n"] < 3 else 200, {"system": {}})

        base, _ = self.start({("GET", "/system_stats"): stats})
        port = int(base.rsplit(":", 1)[1])
        enrol.wait_ready(port, timeout=60, sleep=lambda s: None)
        self.assertEqual(calls["n"], 3)

    def test_wait_ready_times_out_on_a_fake_clock(self):
        now = {"t": 0.0}

        def sleep(s):
            now["t"] += s

        with self.assertRaises(TimeoutError):
            enrol.wait_ready(9, timeout=10, clock=lambda: now["t"], sleep=sleep)  # port 9: nothing listens
        self.assertGreaterEqual(now["t"], 10)

    def test_advertise_url(self):
        self.assertEqual(enrol.advertise_url("http://box:8188/", "0.0.0.0", 8188, None), "http://box:8188")
        self.assertEqual(enrol.advertise_url(None, "192.168.1.20", 8190, None), "http://192.168.1.20:8190")
        url = enrol.advertise_url(None, "0.0.0.0", 8188, "http://127.0.0.1:3000")
        self.assertEqual(url, "http://127.0.0.1:8188")  # the address that routes to the server

    def test_machine_id_is_hashed_stable_and_falls_back_to_uuid(self):
        from cw_install import machine_id

        etc = os.path.join(self.tmp, "etc")
        os.makedirs(etc)
        with open(os.path.join(etc, "machine-id"), "w") as f:
            f.write("0123456789abcdef0123456789abcdef\n")
        a = machine_id.machine_id("linux", None, etc_root=self.tmp)
        self.assertEqual(a, machine_id.machine_id("linux", None, etc_root=self.tmp))
        self.assertNotIn("0123456789abcdef", a)
        self.assertEqual(machine_id.machine_id("linux", "stored-id", etc_root=self.tmp), "stored-id")
        self.assertTrue(machine_id.machine_id("linux", None, etc_root=os.path.join(self.tmp, "x")).startswith("u-"))
