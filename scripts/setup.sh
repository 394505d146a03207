#!/usr/bin/env bash
# Installs everything fogbank needs on a Debian/Ubuntu machine: Debian packages (when root with apt),
# then a virtualenv in .venv with fogbank and, with --test, the test dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-}"
python="${PYTHON:-python3}"

apt_packages=$(grep -v '^\s*#' scripts/debian-packages.txt | tr '\n' ' ')
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  # A package counts as present when installed or provided by an installed one (NodeSource's nodejs
  # provides npm, and conflicts with Debian's).
  provided=" $(dpkg-query -W -f='${Provides},' 2>/dev/null | tr ',' '\n' | sed 's/(.*)//; s/ //g' | tr '\n' ' ') "
  missing=""
  for pkg in $apt_packages; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" && continue
    case "$provided" in *" $pkg "*) continue ;; esac
    missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    echo "installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
  fi
fi

# Node.js packages (the object detector behind Rekognition's label boxes), pinned by node/package-lock.json.
# Without node and npm everything else still works; DetectLabels then gives no object boxes.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  if [ ! -d node/node_modules ] || [ node/package-lock.json -nt node/node_modules ]; then
    echo "installing Node.js packages into node/"
    if (cd node && npm ci --omit=dev --no-audit --no-fund --loglevel=error); then
      touch node/node_modules
    else
      echo "warning: npm ci failed in node/; Rekognition DetectLabels will give no object boxes" >&2
    fi
  fi
fi

stamp=".venv/.installed${extras:+-test}"
if [ -f "$stamp" ] && [ "$stamp" -nt pyproject.toml ]; then
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "$extras" = "--test" ]; then
  .venv/bin/python -m pip install --quiet -e ".[test]"
else
  .venv/bin/python -m pip install --quiet -e .
fi
touch "$stamp"
