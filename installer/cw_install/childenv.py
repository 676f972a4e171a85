"""The environment every subprocess gets: ours minus the secrets.

pip, comfy-cli, git and custom-node requirement installs run third-party code (setup.py, build hooks, git
helpers) before registration. The enrolment token ($CW_ENROLMENT_TOKEN) and the model tokens a manifest names in
`authEnv` (e.g. $HF_TOKEN) are read once into memory by the installer and must never reach those processes, so
every subprocess environment is built here, with those names removed.
"""
from __future__ import annotations

import os
from typing import Dict, Iterable, Mapping, Optional, Set

TOKEN_ENV = "CW_ENROLMENT_TOKEN"

_hidden: Set[str] = {TOKEN_ENV}


def hide(names: Iterable[Optional[str]]) -> None:
    """Add variable names (e.g. a manifest's authEnv names) that no subprocess may see."""
    _hidden.update(n for n in names if n)


def hidden() -> Set[str]:
    return set(_hidden)


def env(extra: Optional[Mapping[str, str]] = None, base: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """A copy of base (default os.environ) plus extra, without any hidden name (extra cannot re-add one)."""
    out = dict(os.environ if base is None else base)
    if extra:
        out.update(extra)
    for name in _hidden:
        out.pop(name, None)
    return out
