"""Which PyTorch build to install for a detected GPU, and why. The whole mapping lives here.

Source of the tables: comfy-cli v1.17.0 — comfy_cli/cuda_detect.py PYTORCH_CUDA_WHEELS (highest wheel tag whose
CUDA version <= the driver's, default cu126 when unknown), comfy_cli/constants.py CUDAVersion / ROCmVersion (the
values `comfy install --cuda-version/--rocm-version` accept) and comfy_cli/command/install.py (index URLs
https://download.pytorch.org/whl/<tag>, rocm<ver>, cpu). We pass the choice explicitly to `comfy install` so the
plan shows it before anything runs, instead of letting comfy-cli decide silently.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

INDEX = "https://download.pytorch.org/whl/"

# (CUDA version a wheel is built for, wheel tag). A driver runs wheels for its CUDA version or older.
CUDA_WHEELS: List[Tuple[Tuple[int, int], str]] = [
    ((13, 0), "cu130"), ((12, 9), "cu129"), ((12, 8), "cu128"), ((12, 6), "cu126"),
    ((12, 4), "cu124"), ((12, 1), "cu121"), ((11, 8), "cu118"),
]
CUDA_DEFAULT = "cu126"  # comfy-cli's DEFAULT_CUDA_TAG when the driver version cannot be read

# ROCm wheel series comfy-cli can install; the installed ROCm user space should be at least the wheel's.
ROCM_WHEELS: List[Tuple[int, int]] = [(7, 2), (7, 1), (7, 0), (6, 3), (6, 2), (6, 1)]
ROCM_DEFAULT = (6, 3)  # unknown ROCm release: a widely shipped 6.x series rather than comfy-cli's 7.2 default


def _ver(s: Optional[str]) -> Optional[Tuple[int, int]]:
    try:
        a, b = (s or "").split(".")[:2]
        return int(a), int(b)
    except ValueError:
        return None


def choose(gpu: Dict[str, Any], platform: str) -> Dict[str, Any]:
    """{'flags': [...comfy install flags], 'index': url or None, 'tag': str, 'reason': str}."""
    kind = gpu.get("kind")
    if kind == "nvidia" and platform != "darwin":
        drv = _ver(gpu.get("cudaVersion"))
        if drv is None:
            tag, why = CUDA_DEFAULT, "CUDA version of the driver unknown: default %s" % CUDA_DEFAULT
        else:
            fits = [(v, t) for v, t in CUDA_WHEELS if v <= drv]
            if fits:
                tag = fits[0][1]
                why = "driver supports CUDA %d.%d: newest PyTorch wheel it runs is %s" % (drv + (tag,))
            else:
                tag = CUDA_WHEELS[-1][1]
                why = "driver CUDA %d.%d is older than every wheel; trying the oldest, %s (update the driver)" % (
                    drv + (tag,))
        cuda = tag[2:-1] + "." + tag[-1]
        return {"flags": ["--nvidia", "--cuda-version", cuda], "index": INDEX + tag, "tag": tag, "reason": why}
    if kind == "amd" and platform == "linux":
        have = _ver(gpu.get("rocmVersion"))
        if have is None:
            v, why = ROCM_DEFAULT, "ROCm release unknown: default rocm%d.%d" % ROCM_DEFAULT
        else:
            fits = [w for w in ROCM_WHEELS if w <= have]
            v = fits[0] if fits else ROCM_WHEELS[-1]
            why = "ROCm %d.%d installed: rocm%d.%d wheels" % (have + v)
        ver = "%d.%d" % v
        return {"flags": ["--amd", "--rocm-version", ver], "index": INDEX + "rocm" + ver, "tag": "rocm" + ver,
                "reason": why}
    if kind == "apple" and platform == "darwin":
        return {"flags": ["--m-series"], "index": None, "tag": "mps",
                "reason": "Apple Silicon: default PyPI wheels include the MPS (Metal) backend"}
    if kind in ("nvidia", "amd"):
        why = "%s GPU not supported by PyTorch on %s: CPU build" % (kind, platform)
    elif kind == "apple":
        why = "Apple GPU outside macOS: CPU build"
    else:
        why = "no supported GPU: CPU build (slow; for testing only)"
    return {"flags": ["--cpu"], "index": INDEX + "cpu", "tag": "cpu", "reason": why}
