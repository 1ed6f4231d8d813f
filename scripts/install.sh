#!/usr/bin/env bash
# Installs everything varmor-py needs on a Debian 12 machine: Debian packages from
# scripts/apt-packages.txt, a virtualenv at .venv with the pinned PyPI packages (runtime and
# development: requirements-dev.txt includes requirements.txt), then every
# hook in scripts/install.d/ (kernel headers for BCC, Debian's bcc inside the venv, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

packages=$(grep -v '^\s*#' scripts/apt-packages.txt | xargs)
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "Installing Debian packages:$missing"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing
fi

if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt  # runtime + local cluster + tests and linters

for hook in scripts/install.d/*.sh; do
  [ -e "$hook" ] || continue
  echo "Running $hook"
  bash "$hook"
done
touch .venv/.installed
