#!/usr/bin/env bash
# ComfyUI Cloud Workers: bootstrap for Linux and macOS (issue 12). Thin on purpose: it finds Python >= 3.9,
# downloads the installer core (<server>/install/cw-installer.pyz) and runs it with the same arguments.
#   curl -fsSL '<SERVER>/install/install.sh' | CW_ENROLMENT_TOKEN='<TOKEN>' bash -s -- --server '<SERVER>'
# The enrolment token is read from the environment only (never an argument: arguments show up in `ps`).
set -eu

die() { printf 'cw-install: %s\n' "$*" >&2; exit 1; }

# The server comes from --server (or --server=URL) among the arguments, else $CW_SERVER.
server="${CW_SERVER:-}"
prev=""
for arg in "$@"; do
  case "$arg" in
    --server=*) server="${arg#--server=}" ;;
    *) [ "$prev" = "--server" ] && server="$arg" ;;
  esac
  prev="$arg"
done
[ -n "$server" ] || die "no server: pass --server https://your-control-plane (or set CW_SERVER)"
server="${server%/}"

python_ok() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' >/dev/null 2>&1
}

python=""
for candidate in python3.13 python3.12 python3.11 python3.10 python3 python3.9; do
  if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
    python="$(command -v "$candidate")"
    break
  fi
done

if [ -z "$python" ]; then
  printf 'cw-install: Python 3.9 or newer is required (3.10+ recommended: comfy-cli needs it).\n' >&2
  case "$(uname -s)" in
    Darwin) printf '  macOS: brew install python@3.12   (or the installer from https://www.python.org/downloads/)\n' >&2 ;;
    Linux)
      if command -v apt-get >/dev/null 2>&1; then
        printf '  Debian/Ubuntu: sudo apt-get install -y python3 python3-venv git\n' >&2
      elif command -v dnf >/dev/null 2>&1; then
        printf '  Fedora/RHEL: sudo dnf install -y python3 git\n' >&2
      elif command -v pacman >/dev/null 2>&1; then
        printf '  Arch: sudo pacman -S python git\n' >&2
      else
        printf '  Install python3 (>= 3.9) with your package manager.\n' >&2
      fi ;;
    *) printf '  Install python3 (>= 3.9).\n' >&2 ;;
  esac
  exit 1
fi

# Debian/Ubuntu ship venv separately; the core creates a venv, so say it now rather than halfway through.
if ! "$python" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  die "$python lacks venv/ensurepip: on Debian/Ubuntu run: sudo apt-get install -y python3-venv"
fi

tmp="$(mktemp "${TMPDIR:-/tmp}/cw-installer.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
url="$server/install/cw-installer.pyz"
if command -v curl >/dev/null 2>&1; then
  curl -fsSL --retry 3 -o "$tmp" "$url" || die "could not download $url"
elif command -v wget >/dev/null 2>&1; then
  wget -q -O "$tmp" "$url" || die "could not download $url"
else
  die "need curl or wget to download $url"
fi

# Without --server among the arguments (server from $CW_SERVER), pass it on explicitly.
case " $* " in
  *" --server "*|*" --server="*) ;;
  *) set -- "$@" --server "$server" ;;
esac

# Not exec: the EXIT trap removes the temp file afterwards (zipimport re-reads it, so it must outlive the run).
# stdin is /dev/null: with `curl | bash` our stdin is the script itself, and the core never prompts.
"$python" "$tmp" "$@" </dev/null
