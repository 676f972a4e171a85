"""The downloader against a local HTTP server: Range resume after a cut, checksum refusal, token scoping."""
from __future__ import annotations

import hashlib
import io
import os
import re

import urllib.request

from tests.support import TempDirCase, send, serve
from cw_install import download, web
from cw_install.progress import Progress

DATA = os.urandom(300 * 1024) + b"end"
SHA = hashlib.sha256(DATA).hexdigest()


def file_route(cut_first: int = 0, honour_range: bool = True):
    """Serve DATA; the first `cut_first` answers send half the body then close the connection."""
    state = {"cuts": cut_first}

    def handler(req, rec):
        start = 0
        m = re.match(r"bytes=(\d+)-", req.headers.get("Range") or "")
        if m and honour_range:
            start = int(m.group(1))
        body = DATA[start:]
        req.send_response(206 if start else 200)
        req.send_header("Content-Length", str(len(body)))
        if start:
            req.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(DATA) - 1, len(DATA)))
        req.end_headers()
        if state["cuts"] > 0:
            state["cuts"] -= 1
            req.wfile.write(body[: len(body) // 2])
            req.wfile.flush()
            req.close_connection = True
            return
        req.wfile.write(body)

    return handler


class DownloadTest(TempDirCase):
    def start(self, routes):
        base, rec, stop = serve(routes)
        self.addCleanup(stop)
        return base, rec

    def test_whole_file_verified_and_moved_into_place(self):
        base, rec = self.start({("GET", "/m.bin"): file_route()})
        dest = os.path.join(self.tmp, "models", "checkpoints", "m.bin")
        download.download(base + "/m.bin", dest, SHA, progress=False)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), DATA)
        self.assertFalse(os.path.exists(dest + ".part"))
        self.assertNotIn("authorization", rec.requests[0]["headers"])
        # A second call finds the verified file and does not download again.
        download.download(base + "/m.bin", dest, SHA, progress=False)
        self.assertEqual(len(rec.requests), 1)

    def test_resume_after_a_cut_within_one_call(self):
        base, rec = self.start({("GET", "/m.bin"): file_route(cut_first=1)})
        dest = os.path.join(self.tmp, "m.bin")
        download.download(base + "/m.bin", dest, SHA, progress=False, backoff=lambda n: 0.0)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), DATA)
        self.assertEqual(len(rec.requests), 2)
        self.assertNotIn("range", rec.requests[0]["headers"])
        self.assertEqual(rec.requests[1]["headers"]["range"], "bytes=%d-" % (len(DATA) // 2))

    def test_resume_across_runs_from_the_part_file(self):
        base, rec = self.start({("GET", "/m.bin"): file_route(cut_first=1)})
        dest = os.path.join(self.tmp, "m.bin")
        with self.assertRaises(download.DownloadError) as cm:
            download.download(base + "/m.bin", dest, SHA, retries=0, progress=False)
        self.assertIn("re-run to resume", str(cm.exception))
        self.assertEqual(os.path.getsize(dest + ".part"), len(DATA) // 2)
        download.download(base + "/m.bin", dest, SHA, retries=0, progress=False)
        self.assertEqual(rec.requests[-1]["headers"]["range"], "bytes=%d-" % (len(DATA) // 2))
        self.assertEqual(download.sha256_file(dest), SHA)

    def test_server_ignoring_range_restarts_from_zero(self):
        base, rec = self.start({("GET", "/m.bin"): file_route(honour_range=False)})
        dest = os.path.join(self.tmp, "m.bin")
        with open(dest + ".part", "wb") as f:
            f.write(b"garbage that is not the start of the file")
        download.download(base + "/m.bin", dest, SHA, progress=False)
        self.assertEqual(download.sha256_file(dest), SHA)
        self.assertIn("range", rec.requests[0]["headers"])

    def test_checksum_mismatch_is_refused_and_the_part_deleted(self):
        base, _ = self.start({("GET", "/m.bin"): file_route()})
        dest = os.path.join(self.tmp, "m.bin")
        with self.assertRaises(download.ChecksumError) as cm:
            download.download(base + "/m.bin", dest, "0" * 64, progress=False)
        self.assertIn("SHA-256 mismatch", str(cm.exception))
        self.assertFalse(os.path.exists(dest + ".part"))
        self.assertFalse(os.path.exists(dest))

    def test_token_only_to_its_url_not_to_a_redirect_on_another_host(self):
        cdn, cdn_rec = self.start({("GET", "/blob"): file_route()})

        def gated(req, rec):
            if req.headers.get("Authorization") != "Bearer hf_secret":
                send(req, 401, b"{}")
                return
            send(req, 302, b"", headers={"Location": cdn + "/blob"})

        hub, hub_rec = self.start({("GET", "/gated.bin"): gated})
        dest = os.path.join(self.tmp, "g.bin")
        download.download(hub + "/gated.bin", dest, SHA, token="hf_secret", progress=False)
        self.assertEqual(hub_rec.requests[0]["headers"]["authorization"], "Bearer hf_secret")
        self.assertNotIn("authorization", cdn_rec.requests[0]["headers"])

    def test_unauthorised_is_not_retried_and_names_no_token(self):
        def gated(req, rec):
            send(req, 401, b"{}")

        hub, rec = self.start({("GET", "/gated.bin"): gated})
        with self.assertRaises(download.DownloadError) as cm:
            download.download(hub + "/gated.bin", os.path.join(self.tmp, "g.bin"), SHA, token="hf_secret",
                              progress=False, backoff=lambda n: 0.0)
        self.assertIn("HTTP 401", str(cm.exception))
        self.assertNotIn("hf_secret", str(cm.exception))
        self.assertEqual(len(rec.requests), 1)

    def test_existing_file_with_wrong_hash_is_not_overwritten(self):
        dest = os.path.join(self.tmp, "m.bin")
        with open(dest, "wb") as f:
            f.write(b"operator's own file")
        with self.assertRaises(download.ChecksumError):
            download.download("http://127.0.0.1:9/never", dest, SHA, progress=False)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), b"operator's own file")


    def test_wrong_resume_offset_deletes_the_part_and_the_next_attempt_starts_from_zero(self):
        answers = {"n": 0}

        def bad_then_good(req, rec):
            answers["n"] += 1
            if req.headers.get("Range"):  # resumes at 0 although asked for more: the .part cannot be extended
                req.send_response(206)
                req.send_header("Content-Length", str(len(DATA)))
                req.send_header("Content-Range", "bytes 0-%d/%d" % (len(DATA) - 1, len(DATA)))
                req.end_headers()
                req.wfile.write(DATA)
                return
            send(req, 200, DATA, "application/octet-stream")

        base, rec = self.start({("GET", "/m.bin"): bad_then_good})
        dest = os.path.join(self.tmp, "m.bin")
        with open(dest + ".part", "wb") as f:
            f.write(DATA[:1000])
        # retries=0: the failed run leaves no .part behind, so a re-run does not fail the same way.
        with self.assertRaises(download.DownloadError) as cm:
            download.download(base + "/m.bin?X-Amz-Signature=sig_secret", dest, SHA, retries=0, progress=False)
        self.assertIn("wrong offset", str(cm.exception))
        self.assertNotIn("sig_secret", str(cm.exception))
        self.assertFalse(os.path.exists(dest + ".part"))
        download.download(base + "/m.bin?X-Amz-Signature=sig_secret", dest, SHA, retries=0, progress=False)
        self.assertNotIn("range", rec.requests[-1]["headers"])
        self.assertEqual(download.sha256_file(dest), SHA)
        # Within one call, the retry after the deletion starts from zero and succeeds.
        os.remove(dest)
        with open(dest + ".part", "wb") as f:
            f.write(DATA[:1000])
        download.download(base + "/m.bin", dest, SHA, progress=False, backoff=lambda n: 0.0)
        self.assertEqual(download.sha256_file(dest), SHA)

    def test_messages_carry_no_query_string_or_user_info(self):
        base, _ = self.start({})
        url = base + "/missing.bin?X-Amz-Credential=cred_secret&X-Amz-Signature=sig_secret"
        with self.assertRaises(download.DownloadError) as cm:
            download.download(url, os.path.join(self.tmp, "x.bin"), SHA, progress=False)
        self.assertIn("HTTP 404", str(cm.exception))
        self.assertIn(base + "/missing.bin", str(cm.exception))
        self.assertNotIn("secret", str(cm.exception))
        self.assertNotIn("?", str(cm.exception))
        with self.assertRaises(web.HttpError) as cm2:
            web.request_json("GET", url)
        self.assertNotIn("secret", str(cm2.exception))
        self.assertEqual(web.redact_url("https://user:pw_secret@cdn.example:8443/a/b.bin?sig=s#frag"),
                         "https://cdn.example:8443/a/b.bin")
        self.assertEqual(web.redact_url("http://[::1]:80/x?y=1"), "http://[::1]:80/x")


class RedirectAuthTest(TempDirCase):
    def redirect(self, old, new):
        req = urllib.request.Request(old)
        req.add_header("Authorization", "Bearer hf_secret")
        req.add_unredirected_header("Authorization", "Bearer hf_secret")
        out = web.SameHostAuthRedirect().redirect_request(req, None, 302, "Found", {}, new)
        return {k.lower(): v for k, v in list(out.headers.items()) + list(out.unredirected_hdrs.items())}

    def test_authorization_dropped_when_the_scheme_or_host_changes(self):
        self.assertNotIn("authorization", self.redirect("https://hub.example/f", "http://hub.example/f"))
        self.assertNotIn("authorization", self.redirect("https://hub.example/f", "https://cdn.example/f"))
        self.assertEqual(self.redirect("https://hub.example/f", "https://hub.example/g")["authorization"],
                         "Bearer hf_secret")


class ProgressTest(TempDirCase):
    def test_tty_bar_and_plain_quarters(self):
        tty = io.StringIO()
        p = Progress("m.bin", 100, stream=tty, tty=True)
        p.update(50)
        p.update(50)
        p.close()
        self.assertIn("\r", tty.getvalue())
        self.assertIn("100%", tty.getvalue())
        plain = io.StringIO()
        p = Progress("m.bin", 100, stream=plain, tty=False)
        for _ in range(10):
            p.update(10)
        p.close()
        self.assertNotIn("\r", plain.getvalue())
        self.assertEqual([line for line in plain.getvalue().splitlines() if "%" in line],
                         ["  m.bin: 0% of 100 B", "  m.bin: 25% of 100 B", "  m.bin: 50% of 100 B",
                          "  m.bin: 75% of 100 B"])
