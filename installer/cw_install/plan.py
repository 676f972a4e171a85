"""The install / uninstall plan: a list of steps computed from (platform, GPU, options, current state).

`--dry-run` prints it; otherwise each step runs in order. A step has a description and either a command (argv,
shown as-is) or an action (Python callable, shown by its description). Steps whose work is already done are
left out, which is what makes re-runs idempotent.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from typing import Any, Callable, Dict, IO, List, Optional

from . import SERVICE_NAME, childenv


class StepError(Exception):
    pass


class Step:
    def __init__(self, description: str, argv: Optional[List[str]] = None,
                 action: Optional[Callable[[], Optional[str]]] = None, env: Optional[Dict[str, str]] = None,
                 optional: bool = False, detail: Optional[str] = None) -> None:
        self.description = description
        self.argv = argv
        self.action = action
        self.env = env or {}
        self.optional = optional
        self.detail = detail

    def render(self, os_name: str) -> str:
        if self.argv is not None:
            if os_name == "windows":
                cmd = subprocess.list2cmdline(self.argv)
            else:
                cmd = " ".join(shlex.quote(a) for a in self.argv)
            envs = " ".join("%s=%s" % (k, shlex.quote(v) if os_name != "windows" else v)
                            for k, v in sorted(self.env.items()) if k != "PATH")
            return "$ " + (envs + " " if envs else "") + cmd
        return self.detail or ""


def render(steps: List[Step], os_name: str, header: List[str]) -> str:
    out = list(header)
    for i, s in enumerate(steps, 1):
        out.append("%2d. %s%s" % (i, s.description, " (may fail: warning only)" if s.optional else ""))
        r = s.render(os_name)
        if r:
            out.append("      " + r)
    if not steps:
        out.append("    nothing to do")
    return "\n".join(out) + "\n"


def run(steps: List[Step], log: IO[str]) -> None:
    n = len(steps)
    for i, s in enumerate(steps, 1):
        log.write("[%d/%d] %s\n" % (i, n, s.description))
        log.flush()
        try:
            if s.argv is not None:
                env = childenv.env(s.env)  # never the enrolment or model tokens (see childenv)
                exe = shutil.which(s.argv[0], path=env.get("PATH")) or s.argv[0]
                res = subprocess.run([exe] + s.argv[1:], env=env, check=False)
                if res.returncode != 0:
                    raise StepError("command exited with %d: %s" % (res.returncode, s.render(sys.platform)))
            elif s.action is not None:
                note = s.action()
                if note:
                    log.write("      %s\n" % note)
        except StepError as e:
            if s.optional:
                log.write("      warning: %s\n" % e)
                continue
            raise StepError("step %d (%s) failed: %s" % (i, s.description, e)) from None
        except Exception as e:  # noqa: BLE001 - every failure is reported with its step
            if s.optional:
                log.write("      warning: %s\n" % e)
                continue
            raise StepError("step %d (%s) failed: %s" % (i, s.description, e)) from None


__all__ = ["Step", "StepError", "render", "run", "SERVICE_NAME"]
