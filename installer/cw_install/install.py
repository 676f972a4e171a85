"""The install plan: folder, venv, comfy-cli (pinned), ComfyUI via comfy-cli, custom nodes, models, service,
readiness, registration. Every decision that depends on the machine is made here, before anything runs.

comfy-cli usage verified in the comfy-cli repository at tag v1.17.0:
- comfy_cli/cmdline.py `entry`: top-level `--workspace PATH` and `--skip-prompt` (no questions, telemetry off by
  default), given before the subcommand.
- comfy_cli/cmdline.py `install`: `--nvidia | --amd | --m-series | --cpu` (mutually exclusive),
  `--cuda-version {13.0,12.9,12.8,12.6,12.4,12.1,11.8}`, `--rocm-version {7.2,7.1,7.0,6.3,6.2,6.1}`; it exits 1
  when ComfyUI is already installed at the workspace (unless --restore), so a re-run uses `update comfy`.
- comfy_cli/cmdline.py `update [all|comfy|cli]`: `update comfy` pulls ComfyUI and reinstalls its requirements
  (torch untouched) — the in-place upgrade.
- comfy_cli/resolve_python.py: the workspace Python is $VIRTUAL_ENV's when set; so every comfy command runs with
  VIRTUAL_ENV=<dir>/venv and torch/ComfyUI land in our venv.
"""
from __future__ import annotations

import getpass
import os
import shlex
import socket
import subprocess
import sys
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from . import (COMFY_CLI_MIN_PYTHON, childenv, download, enrol, gpu as gpu_mod, nodes, service, state, torch_choice,
               web)
from .layout import Layout
from .machine_id import machine_id
from .plan import Step


class PlanError(Exception):
    pass


def installed_comfy_cli(layout: Layout) -> Optional[str]:
    if not os.path.exists(layout.python):
        return None
    try:
        res = subprocess.run(
            [layout.python, "-c", "import importlib.metadata as m; print(m.version('comfy-cli'))"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, timeout=60, check=False,
            env=childenv.env())
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def comfyui_present(layout: Layout) -> bool:
    return os.path.isfile(os.path.join(layout.workspace, "main.py"))


class Context:
    """Everything a plan depends on, gathered once (tests build it directly)."""

    def __init__(self, os_name: str, layout: Layout, opts: Any, gpu: Dict[str, Any], manifest: Dict[str, Any],
                 environ: Dict[str, str], user: str, token: Optional[str], prior: Dict[str, Any],
                 python_version: Tuple[int, int] = (sys.version_info[0], sys.version_info[1]),
                 is_root: bool = False, comfy_cli_version: Optional[str] = None,
                 comfyui_installed: bool = False, advertise: str = "") -> None:
        self.os = os_name
        self.layout = layout
        self.opts = opts
        self.gpu = gpu
        self.torch = torch_choice.choose(gpu, os_name)
        self.manifest = manifest
        self.environ = environ
        self.user = user
        self.token = token
        self.prior = prior
        self.python_version = python_version
        self.is_root = is_root
        self.comfy_cli_version = comfy_cli_version
        self.comfyui_installed = comfyui_installed
        self.advertise = advertise
        self.scope = opts.service if os_name != "darwin" else "user"
        self.warnings: List[str] = []


def gather(os_name: str, layout: Layout, opts: Any, gpu: Dict[str, Any], manifest: Dict[str, Any],
           environ: Dict[str, str], token: Optional[str]) -> Context:
    prior = state.load(layout.state_file)
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name (containers): the service runs as whoever runs us
        user = environ.get("USER") or environ.get("USERNAME") or ""
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    adv = enrol.advertise_url(opts.advertise_url, opts.host, opts.port, opts.server)
    return Context(os_name, layout, opts, gpu, manifest, environ, user, token, prior, is_root=is_root,
                   comfy_cli_version=installed_comfy_cli(layout), comfyui_installed=comfyui_present(layout),
                   advertise=adv)


def header(ctx: Context) -> List[str]:
    g = ctx.gpu
    vram = "%.1f GiB" % (g["vramBytes"] / 2 ** 30) if g.get("vramBytes") else "unknown VRAM"
    lines = [
        "cw-installer plan (%s)" % ctx.os,
        "  folder:     %s" % ctx.layout.root,
        "  GPU:        %s: %s, %s%s%s" % (
            g["kind"], g.get("name") or "-", vram,
            ", driver %s" % g["driver"] if g.get("driver") else "",
            ", CUDA %s" % g["cudaVersion"] if g.get("cudaVersion") else ""),
        "  PyTorch:    %s (%s)%s" % (ctx.torch["tag"], ctx.torch["reason"],
                                     "; index " + ctx.torch["index"] if ctx.torch["index"] else ""),
        "  comfy-cli:  %s (installed: %s)" % (ctx.manifest["comfyCliVersion"], ctx.comfy_cli_version or "none"),
        "  listen:     %s:%d, advertised to the control plane as %s" % (ctx.opts.host, ctx.opts.port, ctx.advertise),
        "  service:    %s" % _service_label(ctx),
        "  manifest:   %d model(s), %d custom node(s)" % (len(ctx.manifest["models"]),
                                                          len(ctx.manifest["customNodes"])),
    ]
    lines += ["  warning:    " + w for w in ctx.warnings]
    lines.append("steps:")
    return lines


def listen_warning(host: str, port: int, advertise: str) -> Optional[str]:
    """ComfyUI has no authentication. On every interface (the default, so the control plane can reach it over the
    LAN) anyone on the network can queue workflows, read outputs and use installed custom nodes: say so."""
    if host not in ("0.0.0.0", "::", ""):
        return None
    lan = urllib.parse.urlsplit(advertise).hostname if advertise else None
    if not lan or lan.startswith("127.") or lan == "::1":
        lan = "<this machine's LAN address>"
    return ("ComfyUI has no authentication and will listen on %s:%d, reachable by the whole network (anyone on it "
            "can run workflows and read outputs). Prefer --host %s (the address advertised to the control plane) "
            "and/or a firewall rule allowing port %d only from the control plane"
            % (host or "0.0.0.0", port, lan, port))


def _service_label(ctx: Context) -> str:
    if ctx.os == "linux":
        return "systemd %s unit %s" % (ctx.scope, service.unit_path(ctx.scope, ctx.layout.home))
    if ctx.os == "darwin":
        return "launchd agent %s" % service.plist_path(ctx.layout.home)
    return "scheduled task %s (%s)" % (service.TASK_NAME, "at boot, SYSTEM" if ctx.scope == "system" else "at logon")


def _write(path: str, data: Any, mode: int = 0o644) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    with open(path, "wb") as f:
        f.write(raw)
    os.chmod(path, mode)
    return "wrote %s" % path


def _record_paths(ctx: Context, *paths: str) -> None:
    doc = state.load(ctx.layout.state_file)
    added = list(doc.get("addedPaths") or [])
    for p in paths:
        if p not in added:
            added.append(p)
    doc["addedPaths"] = added
    state.save(ctx.layout.state_file, doc)


def build(ctx: Context) -> List[Step]:
    L, o = ctx.layout, ctx.opts
    steps: List[Step] = []
    comfy_env = {"VIRTUAL_ENV": L.venv, "PATH": L.venv_bin + os.pathsep + ctx.environ.get("PATH", "")}
    pin = ctx.manifest["comfyCliVersion"]

    if ctx.os == "linux" and ctx.scope == "system" and not ctx.is_root:
        raise PlanError("--service system writes /etc/systemd/system: run as root (sudo) or use --service user")
    if not os.path.exists(L.python) and ctx.python_version < COMFY_CLI_MIN_PYTHON:
        msg = ("comfy-cli needs Python >= %d.%d for its venv; this is %d.%d. Install a newer Python "
               "(e.g. python3.11) and run the installer with it" % (COMFY_CLI_MIN_PYTHON + ctx.python_version))
        if not o.dry_run:
            raise PlanError(msg)
        ctx.warnings.append(msg)
    if not ctx.token and not ctx.prior.get("workerId") and not o.dry_run:
        raise PlanError("no enrolment token: set CW_ENROLMENT_TOKEN (from the dashboard's install command)")

    warn = listen_warning(o.host, o.port, ctx.advertise if not o.advertise_url else "")
    if warn:
        ctx.warnings.append(warn)
    if not o.advertise_url and ("//127." in ctx.advertise or "//[::1]" in ctx.advertise):
        ctx.warnings.append("advertised URL %s is loopback (no route to the server found): only a control plane on "
                            "this machine can reach it; pass --advertise-url otherwise" % ctx.advertise)
    root_existed = os.path.isdir(L.root)
    prior_created = bool(ctx.prior.get("createdDir"))

    def start_state() -> str:
        os.makedirs(L.root, exist_ok=True)
        doc = state.load(L.state_file)
        doc.setdefault("createdDir", prior_created or not root_existed)
        doc["machineId"] = machine_id(ctx.os, doc.get("machineId") or None)
        doc["os"] = ctx.os
        state.save(L.state_file, doc)
        _record_paths(ctx, L.state_file)
        return "state in %s" % L.state_file

    steps.append(Step("Create %s and its state file" % L.root if not root_existed else
                      "Use existing folder %s (state file %s)" % (L.root, L.state_file),
                      action=start_state, detail="mkdir -p %s; write %s (mode 0600)" % (L.root, L.state_file)))

    if not os.path.exists(L.python):
        steps.append(Step("Create the virtual environment", argv=[sys.executable, "-m", "venv", L.venv]))
        steps.append(Step("Record the venv as ours", action=lambda: _record_paths(ctx, L.venv),
                          detail="add %s to addedPaths" % L.venv))
    if ctx.comfy_cli_version != pin:
        steps.append(Step("Install comfy-cli %s%s" % (pin, " (upgrade from %s)" % ctx.comfy_cli_version
                                                     if ctx.comfy_cli_version else ""),
                          argv=[L.python, "-m", "pip", "install", "--disable-pip-version-check",
                                "comfy-cli==%s" % pin]))
    if not ctx.comfyui_installed:
        steps.append(Step("Install ComfyUI and PyTorch %s with comfy-cli (%s)" % (ctx.torch["tag"],
                                                                                  ctx.torch["reason"]),
                          argv=[L.comfy, "--skip-prompt", "--workspace", L.workspace, "install"] + ctx.torch["flags"],
                          env=comfy_env))
        steps.append(Step("Record the ComfyUI folder as ours", action=lambda: _record_paths(ctx, L.workspace),
                          detail="add %s to addedPaths" % L.workspace))
    else:
        steps.append(Step("Upgrade ComfyUI in place (comfy update comfy; PyTorch left as installed)",
                          argv=[L.comfy, "--skip-prompt", "--workspace", L.workspace, "update", "comfy"],
                          env=comfy_env))

    for n in ctx.manifest["customNodes"]:
        dest = L.node_path(n["name"])
        if nodes.head(dest) == n["commit"]:
            continue

        def node_action(n: Dict[str, Any] = n, dest: str = dest) -> str:
            what = nodes.ensure(n["repo"], n["commit"], dest)
            req = os.path.join(dest, "requirements.txt")
            if os.path.isfile(req) and os.path.exists(L.python):
                r = subprocess.run([L.python, "-m", "pip", "install", "--disable-pip-version-check", "-r", req],
                                   check=False, env=childenv.env())
                if r.returncode != 0:
                    raise RuntimeError("pip install -r %s exited with %d" % (req, r.returncode))
            return "%s %s at %s" % (n["name"], what, n["commit"][:12])

        steps.append(Step("Custom node %s at %s" % (n["name"], n["commit"][:12]), action=node_action,
                          detail="git clone %s %s && git checkout %s (+ pip install -r requirements.txt if any)"
                          % (n["repo"], dest, n["commit"])))

    done_models = ctx.prior.get("models") or {}
    for m in ctx.manifest["models"]:
        rel = m["folder"] + "/" + m["filename"]
        dest = L.model_path(m["folder"], m["filename"])
        if done_models.get(rel) == m["sha256"] and os.path.isfile(dest):
            continue
        if m.get("authEnv") and not ctx.environ.get(m["authEnv"]):
            ctx.warnings.append("model %s wants $%s (a token for %s) but it is not set"
                                % (rel, m["authEnv"], web.url_host(m["url"])))

        def model_action(m: Dict[str, Any] = m, rel: str = rel, dest: str = dest) -> str:
            token = ctx.environ.get(m["authEnv"]) if m.get("authEnv") else None
            download.download(m["url"], dest, m["sha256"], token=token, label=rel)
            doc = state.load(L.state_file)
            models = dict(doc.get("models") or {})
            models[rel] = m["sha256"]
            doc["models"] = models
            state.save(L.state_file, doc)
            return "%s verified (sha256 %s...)" % (rel, m["sha256"][:12])

        steps.append(Step("Model %s" % rel, action=model_action,
                          detail="download %s -> %s (resumable, sha256 %s%s)" % (
                              web.redact_url(m["url"]), dest, m["sha256"][:12] + "...",
                              ", Authorization from $" + m["authEnv"] if m.get("authEnv") else "")))

    if not o.no_service:
        steps += service_steps(ctx)
        steps.append(Step("Wait for ComfyUI on http://%s:%d/system_stats" % (enrol.local_address(o.host), o.port),
                          action=lambda: enrol.wait_ready(o.port, o.wait_timeout, host=o.host) or "ComfyUI answers",
                          detail="poll every 2 s, up to %d s" % o.wait_timeout))

    if ctx.token or o.dry_run:
        if not ctx.token:
            ctx.warnings.append("$CW_ENROLMENT_TOKEN is not set: a real run would stop before changing anything")
        steps.append(Step("Register with %s as %s (%s)" % (o.server or "<server>", o.name, ctx.advertise),
                          action=lambda: register_action(ctx),
                          detail="POST %s/api/local/workers with the enrolment token (not shown)"
                          % (o.server or "<server>").rstrip("/")))
    return steps


def service_steps(ctx: Context) -> List[Step]:
    L, o = ctx.layout, ctx.opts
    argv = service.launch_argv(L.comfy, L.workspace, o.host, o.port)
    env = service.launch_env(L.venv, L.venv_bin, ctx.os)
    steps: List[Step] = []
    if ctx.os == "linux":
        path = service.unit_path(ctx.scope, L.home)
        text = service.systemd_unit(argv, env, L.workspace, ctx.scope, ctx.user)
        steps.append(Step("Write systemd unit %s" % path,
                          detail="ExecStart=%s; Restart=on-failure; logs to journald" % _shown(argv),
                          action=lambda: (_write(path, text), _record_service(ctx, path))[0]))
    elif ctx.os == "darwin":
        path = service.plist_path(L.home)
        data = service.launchd_plist(argv, env, L.workspace, L.logs or "")
        logs = L.logs or ""

        def write_plist() -> str:
            if not os.path.isdir(logs):
                os.makedirs(logs, exist_ok=True)
                _record_paths(ctx, logs)
            _record_service(ctx, path)
            return _write(path, data)

        steps.append(Step("Write launchd agent %s" % path, action=write_plist,
                          detail="%s; RunAtLoad, KeepAlive; logs in %s" % (_shown(argv), logs)))
    else:
        path = service.task_xml_path(L.root)
        script = service.windows_run_script(argv, env, L.venv_bin, L.p.join(L.logs or L.root, "comfyui.log"))
        xml = service.windows_task_xml(L.run_script, L.workspace, ctx.scope, ctx.user)

        def write_task() -> str:
            os.makedirs(L.logs or L.root, exist_ok=True)
            _write(L.run_script, script)
            # schtasks /XML expects the encoding the XML declaration names: UTF-16 with BOM.
            _write(path, xml.encode("utf-16"))
            _record_paths(ctx, L.run_script, path, L.logs or L.root)
            _record_service(ctx, path)
            return "wrote %s and %s" % (L.run_script, path)

        steps.append(Step("Write %s and task definition %s" % (L.run_script, path), action=write_task,
                          detail="%s; at %s, restart on failure every minute; logs in %s" % (
                              _shown(argv, "windows"), "boot" if ctx.scope == "system" else "logon", L.logs)))
    for cmd, optional in service.start_commands(ctx.os, ctx.scope, path, ctx.user):
        steps.append(Step("Service: %s" % " ".join(cmd[:3]), argv=cmd, optional=optional))
    return steps


def _shown(argv: List[str], os_name: str = "posix") -> str:
    if os_name == "windows":
        return subprocess.list2cmdline(argv)
    return " ".join(shlex.quote(a) for a in argv)


def _record_service(ctx: Context, path: str) -> None:
    doc = state.load(ctx.layout.state_file)
    svc = service.describe(ctx.os, ctx.scope)
    svc["path"] = path
    doc["service"] = svc
    state.save(ctx.layout.state_file, doc)


def installed_models(ctx: Context) -> List[str]:
    done = state.load(ctx.layout.state_file).get("models") or {}
    return [m["folder"] + "/" + m["filename"] for m in ctx.manifest["models"]
            if done.get(m["folder"] + "/" + m["filename"]) == m["sha256"]]


def register_action(ctx: Context) -> str:
    o = ctx.opts
    doc = state.load(ctx.layout.state_file)
    mid = machine_id(ctx.os, doc.get("machineId") or None, ctx.environ)
    prev = doc.get("workerKey")  # proof of ownership for replacing this machine's registration (never printed)
    body = enrol.registration_body(ctx.advertise, o.name or socket.gethostname(), mid,
                                   gpu_mod.gpu_for_registration(ctx.gpu), installed_models(ctx),
                                   previous_worker_key=prev if isinstance(prev, str) and prev else None)
    got = enrol.register(o.server, ctx.token or "", body)
    doc = state.load(ctx.layout.state_file)
    doc.update({"workerId": got["workerId"], "workerKey": got["workerKey"], "server": o.server.rstrip("/"),
                "machineId": mid, "url": ctx.advertise})
    state.save(ctx.layout.state_file, doc)
    return "registered as worker %s" % got["workerId"]
