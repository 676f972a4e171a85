"""GPU detection: NVIDIA (nvidia-smi), AMD (rocminfo / rocm-smi), Apple Silicon (uname + sysctl), CPU fallback.

Every probe goes through procs.output with an explicit environment so tests put stand-in executables on PATH.
The result is a plain dict; `gpu_for_registration` trims it to the contract's {name, vramBytes, driver,
cudaVersion, kind}.
"""
from __future__ import annotations

import os
import re
from typing import Any, Dict, List, Optional

from . import procs

KINDS = ("nvidia", "amd", "apple", "cpu")


def _mib(value: str) -> Optional[int]:
    try:
        return int(float(value.strip())) * 1024 * 1024
    except ValueError:
        return None


def detect_nvidia(env: Optional[Dict[str, str]] = None) -> Optional[Dict[str, Any]]:
    out = procs.output(
        ["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"], env
    )
    if not out:
        return None
    gpus: List[Dict[str, Any]] = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 3 or not parts[0]:
            continue
        gpus.append({"name": parts[0], "vramBytes": _mib(parts[1]), "driver": parts[2]})
    if not gpus:
        return None
    # The plain `nvidia-smi` header carries the newest CUDA version the driver supports ("CUDA Version: 12.4").
    header = procs.output(["nvidia-smi"], env) or ""
    m = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", header)
    cuda = "%s.%s" % (m.group(1), m.group(2)) if m else None
    best = max(gpus, key=lambda g: g["vramBytes"] or 0)
    return {"kind": "nvidia", "name": best["name"], "vramBytes": best["vramBytes"], "driver": best["driver"],
            "cudaVersion": cuda, "count": len(gpus), "devices": gpus}


def _rocm_version(env: Optional[Dict[str, str]]) -> Optional[str]:
    """ROCm release from <ROCM_PATH>/.info/version (written by every ROCm install), e.g. '6.2.4-120' -> '6.2'."""
    root = (env or os.environ).get("ROCM_PATH") or "/opt/rocm"
    try:
        with open(os.path.join(root, ".info", "version"), encoding="utf-8") as f:
            m = re.match(r"\s*(\d+)\.(\d+)", f.read())
    except OSError:
        return None
    return "%s.%s" % (m.group(1), m.group(2)) if m else None


def detect_amd(env: Optional[Dict[str, str]] = None) -> Optional[Dict[str, Any]]:
    out = procs.output(["rocminfo"], env)
    names: List[str] = []
    if out:
        # rocminfo lists agents; GPU agents have "Device Type: GPU" and a "Marketing Name:".
        for block in re.split(r"\n\*{3,}\s*\n", out):
            if re.search(r"Device Type:\s*GPU", block):
                m = re.search(r"Marketing Name:\s*(.+)", block)
                n = re.search(r"^\s*Name:\s*(gfx\w+)", block, re.M)
                names.append((m.group(1).strip() if m else "") or (n.group(1) if n else "AMD GPU"))
    vram: Optional[int] = None
    smi = procs.output(["rocm-smi", "--showmeminfo", "vram", "--csv"], env)
    if smi:
        totals = [int(x) for x in re.findall(r"^card\d+,(\d+),", smi, re.M)]
        if totals:
            vram = max(totals)
        if not names:
            names = ["AMD GPU"] * max(1, len(totals))
    if not names:
        return None
    driver = None
    drv = procs.output(["rocm-smi", "--showdriverversion"], env)
    if drv:
        m = re.search(r"Driver version:\s*(\S+)", drv)
        driver = m.group(1) if m else None
    return {"kind": "amd", "name": names[0], "vramBytes": vram, "driver": driver, "cudaVersion": None,
            "rocmVersion": _rocm_version(env), "count": len(names)}


def detect_apple(env: Optional[Dict[str, str]] = None) -> Optional[Dict[str, Any]]:
    system = (procs.output(["uname", "-s"], env) or "").strip()
    machine = (procs.output(["uname", "-m"], env) or "").strip()
    if system != "Darwin" or machine != "arm64":
        return None
    brand = (procs.output(["sysctl", "-n", "machdep.cpu.brand_string"], env) or "").strip()
    if not brand.startswith("Apple"):
        return None
    mem = (procs.output(["sysctl", "-n", "hw.memsize"], env) or "").strip()
    # Unified memory: MPS can use most of RAM, so report it as the VRAM figure.
    return {"kind": "apple", "name": brand, "vramBytes": int(mem) if mem.isdigit() else None, "driver": None,
            "cudaVersion": None, "count": 1}


def cpu_result(reason: str = "no supported GPU found") -> Dict[str, Any]:
    return {"kind": "cpu", "name": None, "vramBytes": None, "driver": None, "cudaVersion": None, "count": 0,
            "note": reason}


def detect(env: Optional[Dict[str, str]] = None, force: str = "auto") -> Dict[str, Any]:
    """Detected GPU; `force` (the --gpu option) limits the probe to one kind, or takes its word for it."""
    probes = {"nvidia": detect_nvidia, "amd": detect_amd, "apple": detect_apple}
    if force == "cpu":
        return cpu_result("--gpu cpu")
    if force in probes:
        found = probes[force](env)
        if found is not None:
            return found
        res = cpu_result()
        res.update({"kind": force, "note": "--gpu %s given but not detected; details unknown" % force})
        return res
    for kind in ("nvidia", "amd", "apple"):
        found = probes[kind](env)
        if found is not None:
            return found
    return cpu_result()


def gpu_for_registration(gpu: Dict[str, Any]) -> Dict[str, Any]:
    """Exactly the contract's gpu fields (the control plane validates the body strictly)."""
    return {k: gpu.get(k) for k in ("name", "vramBytes", "driver", "cudaVersion", "kind")}
