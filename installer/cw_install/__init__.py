"""ComfyUI Cloud Workers machine installer (issue 12).

Standard library only, Python >= 3.9: it runs on a fresh studio machine before anything else is installed,
and its tests run without internet. Served by the control plane as a zipapp (GET /install/cw-installer.pyz).
"""

__version__ = "1.0.0"

# The comfy-cli release installed when the manifest names none. Flags used by this installer were read in the
# comfy-cli repository at tag v1.17.0 (comfy_cli/cmdline.py, command/launch.py, resolve_python.py,
# cuda_detect.py); see comfy.py for the exact places.
DEFAULT_COMFY_CLI_VERSION = "1.17.0"

# comfy-cli >= 1.10 declares requires-python >= 3.10 (pyproject.toml at v1.17.0), while this installer
# itself runs on 3.9: the venv is made with the interpreter running us, so we check before creating it.
COMFY_CLI_MIN_PYTHON = (3, 10)

SERVICE_NAME = "comfyui-worker"
