"""Command line: `install` (default), `uninstall`, `detect`. Options per docs/notes issue-12 contract."""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from typing import Dict, IO, List, Optional

from . import __version__, childenv, gpu as gpu_mod, install, manifest as manifest_mod, plan, state, uninstall, web
from .layout import Layout, current_os, default_dir

TOKEN_ENV = childenv.TOKEN_ENV


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cw-installer", description="Install a ComfyUI worker for ComfyUI Cloud "
                                "Workers and enrol it. The enrolment token is read from $%s." % TOKEN_ENV)
    p.add_argument("--version", action="version", version="cw-installer " + __version__)
    sub = p.add_subparsers(dest="command")

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--dir", help="install folder (default ~/comfyui-worker; %%LOCALAPPDATA%%\\comfyui-worker)")
        sp.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")

    i = sub.add_parser("install", help="install or upgrade, register the service, enrol (default)")
    common(i)
    i.add_argument("--server", help="control plane base URL, e.g. https://cw.example.com")
    # 0.0.0.0 stays the default: the control plane must reach ComfyUI over the LAN. ComfyUI has no authentication,
    # so on all interfaces anyone on the network can use it; the plan warns (install.listen_warning) and
    # recommends --host <the LAN address the control plane uses> and/or a firewall rule for the port.
    i.add_argument("--host", default="0.0.0.0", help="ComfyUI listen address (default 0.0.0.0: every interface; "
                   "ComfyUI has no authentication, so prefer this machine's LAN address and/or a firewall)")
    i.add_argument("--port", type=int, default=8188, help="ComfyUI port (default 8188)")
    i.add_argument("--name", help="worker name (default: host name)")
    i.add_argument("--service", choices=("user", "system"), default="user",
                   help="Linux: systemd user or system unit; Windows: task at logon (user) or boot (system)")
    i.add_argument("--gpu", choices=("auto",) + gpu_mod.KINDS, default="auto", help="override GPU detection")
    i.add_argument("--advertise-url", help="URL the control plane uses to reach this machine "
                   "(default http://<primary IP>:<port>)")
    i.add_argument("--manifest", help="read the manifest from this JSON file instead of the server")
    i.add_argument("--no-service", action="store_true", help="do not register a service (and do not wait for it)")
    i.add_argument("--wait-timeout", type=int, default=900, help="seconds to wait for ComfyUI to answer (900)")

    u = sub.add_parser("uninstall", help="remove the service, the registration and the install folder")
    common(u)
    u.add_argument("--server", help="ignored (the registration's server is read from the state file)")
    u.add_argument("--purge", action="store_true", help="also delete ComfyUI/output (generated images) and model "
                   "files this installer did not download (kept by default)")

    d = sub.add_parser("detect", help="print the GPU detection result as JSON")
    d.add_argument("--gpu", choices=("auto",) + gpu_mod.KINDS, default="auto")
    return p


def _argv(argv: List[str]) -> List[str]:
    # `--uninstall` anywhere (the spelling, and what the bootstraps pass through: install.ps1 always runs
    # `install --server ... $CW_INSTALL_ARGS`) means the `uninstall` command.
    if "--uninstall" in argv:
        rest = [a for a in argv if a not in ("--uninstall", "install", "uninstall")]
        return ["uninstall"] + rest
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        return ["install"] + argv
    return argv


def main(argv: Optional[List[str]] = None, environ: Optional[Dict[str, str]] = None,
         os_name: Optional[str] = None, out: Optional[IO[str]] = None, err: Optional[IO[str]] = None) -> int:
    args = parser().parse_args(_argv(list(sys.argv[1:] if argv is None else argv)))
    # Read once: tokens stay in this copy (memory); subprocesses get childenv.env(), which leaves them out.
    env = dict(os.environ if environ is None else environ)
    osn = os_name or current_os()
    out = out or sys.stdout
    err = err or sys.stderr
    if args.command == "detect":
        out.write(json.dumps(gpu_mod.detect(env, args.gpu), indent=2) + "\n")
        return 0
    home = env.get("HOME") or env.get("USERPROFILE") or os.path.expanduser("~")
    root = args.dir or default_dir(osn, env, home)
    if osn == current_os():  # a plan for another OS (tests, --dry-run previews) keeps its paths as given
        root = os.path.abspath(os.path.expanduser(root))
    layout = Layout(osn, root, home)
    try:
        if args.command == "uninstall":
            _forget_secrets(environ is None)
            steps = uninstall.build(osn, layout, state.load(layout.state_file), purge=args.purge)
            return _go(steps, osn, ["cw-installer uninstall plan (%s)" % osn, "steps:"], args.dry_run, out, err)
        args.real_environ = environ is None
        return _install(args, env, osn, layout, out, err)
    except (install.PlanError, uninstall.UninstallError, manifest_mod.ManifestError, web.HttpError,
            plan.StepError) as e:
        err.write("error: %s\n" % e)
        return 1
    except KeyboardInterrupt:
        err.write("interrupted; re-run the same command to continue (downloads resume)\n")
        return 130


def _install(args: argparse.Namespace, env: Dict[str, str], osn: str, layout: Layout, out: IO[str],
             err: IO[str]) -> int:
    token = env.get(TOKEN_ENV) or None
    if args.server:
        args.server = args.server.rstrip("/")
    if not args.server and not (args.dry_run and args.manifest):
        raise install.PlanError("--server is required (or --dry-run with --manifest FILE)")
    if args.port < 1 or args.port > 65535:
        raise install.PlanError("--port must be 1..65535")
    args.name = (args.name or socket.gethostname() or "comfyui-worker")[:128]
    if args.manifest:
        mf = manifest_mod.load_file(args.manifest)
    else:
        mf = manifest_mod.fetch(args.server, token)
    childenv.hide(m.get("authEnv") for m in mf["models"])
    _forget_secrets(getattr(args, "real_environ", False))
    detected = gpu_mod.detect(env, args.gpu)
    ctx = install.gather(osn, layout, args, detected, mf, env, token)
    steps = install.build(ctx)
    return _go(steps, osn, install.header(ctx), args.dry_run, out, err)


def _forget_secrets(real: bool) -> None:
    """On a real run also drop the tokens from this process's own environment (they are in memory now), so even a
    subprocess started without childenv.env() cannot inherit them. Tests pass their own environ: left alone."""
    if real:
        for name in childenv.hidden():
            os.environ.pop(name, None)


def _go(steps: List[plan.Step], osn: str, header: List[str], dry_run: bool, out: IO[str], err: IO[str]) -> int:
    if dry_run:
        out.write(plan.render(steps, osn, header))
        out.write("dry run: nothing was changed\n")
        return 0
    err.write("\n".join(header[:-1]) + "\n")
    plan.run(steps, err)
    err.write("done\n")
    return 0
