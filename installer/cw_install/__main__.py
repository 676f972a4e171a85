"""Entry point for `python -m cw_install` and for the zipapp `python cw-installer.pyz`.

The control plane's zipapp (src/local/installer/installer-files.ts) holds cw_install/ plus a root __main__.py that
runs this file with runpy as `python -m cw_install` would, so the package import below applies. If the package's
files are ever zipped flat (at the archive root), this file is the top-level script with no package: we then
register the zip root as the package `cw_install` so the modules' relative imports keep working.
"""
import os
import sys

if not __package__:
    import types

    _root = os.path.dirname(os.path.abspath(__file__))
    if "cw_install" not in sys.modules:
        _pkg = types.ModuleType("cw_install")
        _pkg.__path__ = [_root]  # type: ignore[attr-defined]
        _pkg.__file__ = os.path.join(_root, "__init__.py")
        sys.modules["cw_install"] = _pkg
        # Execute __init__.py inside the package object (constants), also from inside a zip.
        import importlib.util

        _init_spec = importlib.util.find_spec("cw_install.__init__")
        if _init_spec is not None and _init_spec.loader is not None:
            _code = _init_spec.loader.get_code("cw_install.__init__")  # type: ignore[attr-defined]
            exec(_code, _pkg.__dict__)
    from cw_install.cli import main
else:
    from .cli import main

if __name__ == "__main__":
    sys.exit(main())
