"""Subprocesses never see the enrolment token or a manifest's authEnv tokens: stand-ins dump their environment."""
from __future__ import annotations

import io
import json
import os
import sys
from unittest import mock

from tests.support import TempDirCase
from cw_install import childenv, plan

SECRETS = {"CW_ENROLMENT_TOKEN": "cwe_leak_me", "HF_TOKEN": "hf_leak_me", "CIVITAI_TOKEN": "civ_leak_me"}


def env_dumper(path: str, dump: str, then_exec: str = "") -> str:
    """An executable that appends {argv0, argv, env} as one JSON line to dump (then execs then_exec, if given)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("#!%s\nimport json, os, sys\nwith open(%r, 'a') as f:\n"
                "    f.write(json.dumps({'argv0': os.path.basename(sys.argv[0]), 'argv': sys.argv[1:], "
                "'env': dict(os.environ)}) + '\\n')\n"
                % (sys.executable, dump))
        if then_exec:
            f.write("os.execv(%r, [%r] + sys.argv[1:])\n" % (then_exec, then_exec))
    os.chmod(path, 0o755)
    return path


def dumps(path: str):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def leaks(records):
    found = []
    for r in records:
        for k, v in r["env"].items():
            if k in SECRETS or any(s in v for s in SECRETS.values()):
                found.append((r["argv0"], k))
    return found


class ChildEnvTest(TempDirCase):
    def setUp(self):
        super().setUp()
        # The hidden set is process-wide: each test starts from the installer's initial one.
        patcher = mock.patch.object(childenv, "_hidden", {childenv.TOKEN_ENV})
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_env_leaves_out_the_token_and_hidden_names_even_if_passed_as_extra(self):
        childenv.hide(["CIVITAI_TOKEN", None, ""])
        base = dict(SECRETS, PATH="/usr/bin", KEEP="1")
        got = childenv.env({"CW_ENROLMENT_TOKEN": "again", "X": "y"}, base=base)
        self.assertEqual(got, {"PATH": "/usr/bin", "KEEP": "1", "X": "y", "HF_TOKEN": "hf_leak_me"})  # not hidden yet
        childenv.hide(["HF_TOKEN"])
        self.assertNotIn("HF_TOKEN", childenv.env(base=base))

    @mock.patch.dict(os.environ, SECRETS)
    def test_a_plan_step_command_sees_none_of_the_tokens(self):
        childenv.hide(["HF_TOKEN", "CIVITAI_TOKEN"])
        dump = os.path.join(self.tmp, "env.jsonl")
        exe = env_dumper(os.path.join(self.tmp, "tool"), dump)
        plan.run([plan.Step("dump", argv=[exe], env={"VIRTUAL_ENV": "/v"})], io.StringIO())
        recs = dumps(dump)
        self.assertEqual(len(recs), 1)
        self.assertEqual(recs[0]["env"]["VIRTUAL_ENV"], "/v")
        self.assertEqual(leaks(recs), [])
