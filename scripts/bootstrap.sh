#!/usr/bin/env bash
# Create .venv with the newest suitable Python found on this machine (3.13, 3.12, then
# 3.11; pyenv installs included) and install the package with its dev dependencies.
#
#   scripts/bootstrap.sh --demo  instead creates .venv-demo: the package and the demo group
#                                only (what `make demo` needs).
#   scripts/bootstrap.sh --lts   instead creates .venv-lts: Python 3.11 and Django 5.2 LTS,
#                                what `pip install` gives there, with the test group and
#                                no Tasks framework (neither django.tasks nor the backport),
#                                as a host that followed the installation page has it.
#
# No root needed. Re-run it after pyproject.toml changes (make does that for you).
set -euo pipefail
cd "$(dirname "$0")/.."

find_python311() {
  local root
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for python in python3.11 "$root"/versions/3.11.*/bin/python3.11; do
    if command -v "$python" >/dev/null 2>&1; then
      command -v "$python"
      return 0
    fi
  done
  echo "bootstrap: no Python 3.11 found (the Django 5.2 LTS line needs one)" >&2
  return 1
}

if [ "${1:-}" = "--lts" ]; then
  if [ ! -x .venv-lts/bin/python ]; then
    python=$(find_python311)
    echo "bootstrap: creating .venv-lts with $python ($("$python" --version))"
    "$python" -m venv .venv-lts
  fi
  .venv-lts/bin/python -m pip install --quiet --upgrade "pip>=25.1"
  .venv-lts/bin/python -m pip install --quiet -e . --group test "Django>=5.2,<6"
  # The worker tests' django-tasks-db brings the backport; the LTS line tests without it.
  .venv-lts/bin/python -m pip uninstall --quiet -y django-tasks-db django-tasks
  .venv-lts/bin/python -m compileall -q -j 0 .venv-lts/lib >/dev/null || true
  touch .venv-lts/.installed
  exit 0
fi

find_python() {
  local candidates=(python3.13 python3.12)
  local root
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for version in 3.13 3.12; do
    for dir in "$root"/versions/"$version".*/bin; do
      [ -x "$dir/python$version" ] && candidates+=("$dir/python$version")
    done
  done
  candidates+=(python3.11 python3)
  for python in "${candidates[@]}"; do
    if command -v "$python" >/dev/null 2>&1 &&
      "$python" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$python"
      return 0
    fi
  done
  echo "bootstrap: no Python >= 3.11 found" >&2
  return 1
}

if [ "${1:-}" = "--demo" ]; then
  # `make demo`: the package and the demo group only (see pyproject.toml), in .venv-demo.
  if [ ! -x .venv-demo/bin/python ]; then
    python=$(find_python)
    echo "bootstrap: creating .venv-demo with $python ($("$python" --version))"
    "$python" -m venv .venv-demo
  fi
  .venv-demo/bin/python -m pip install --quiet --upgrade "pip>=25.1"
  .venv-demo/bin/python -m pip install --quiet -e . --group demo
  .venv-demo/bin/python -m compileall -q -j 0 .venv-demo/lib >/dev/null || true
  touch .venv-demo/.installed
  exit 0
fi

if [ ! -x .venv/bin/python ]; then
  python=$(find_python)
  echo "bootstrap: creating .venv with $python ($("$python" --version))"
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade "pip>=25.1"
.venv/bin/python -m pip install --quiet -e . --group dev
# Byte-compile once: environments with PYTHONDONTWRITEBYTECODE would recompile Django
# on every process start (seconds each for the demo's and the tests' subprocesses).
.venv/bin/python -m compileall -q -j 0 .venv/lib >/dev/null || true
touch .venv/.installed
