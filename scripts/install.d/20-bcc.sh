#!/usr/bin/env bash
# BCC for the tracer: make the virtualenv reach Debian's python3-bpfcc (never `pip install bcc`,
# an unrelated PyPI package) and give BCC a kernel headers tree it can compile its prelude with.
#
# Debian splits headers into linux-headers-<ver>-amd64 (generated) and -common (sources); BCC's
# BCC_KERNEL_SOURCE takes one directory, so we merge both into a symlink farm. The tracer uses
# /lib/modules/$(uname -r)/build when it exists and this tree otherwise (struct layouts come from
# BTF, so any recent header version is fine for BCC's prelude).
set -euo pipefail
cd "$(dirname "$0")/../.."

site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ ! -d /usr/lib/python3/dist-packages/bcc ]; then
  echo "python3-bpfcc is not installed (scripts/apt-packages.txt)" >&2
  exit 1
fi
ln -sfn /usr/lib/python3/dist-packages/bcc "$site/bcc"
.venv/bin/python -c 'import bcc' || { echo "bcc does not import in .venv" >&2; exit 1; }

dest=/var/cache/varmor-py/kernel-headers
common=$( (ls -d /usr/src/linux-headers-*-common 2>/dev/null || true) | sort -V | tail -n1)
generated=$( (ls -d /usr/src/linux-headers-*-amd64 /usr/src/linux-headers-*-arm64 2>/dev/null || true) | sort -V | tail -n1)
if [ -z "$common" ] || [ -z "$generated" ]; then
  echo "no Debian kernel headers under /usr/src (linux-headers-amd64)" >&2
  exit 1
fi
stamp="$common $generated"
if [ ! -f "$dest/.varmor-source" ] || [ "$(cat "$dest/.varmor-source")" != "$stamp" ]; then
  echo "Merging $common and $generated into $dest"
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  cp -rs "$common/." "$dest.tmp/"
  cp -rs --remove-destination "$generated/." "$dest.tmp/"
  echo "$stamp" > "$dest.tmp/.varmor-source"
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
fi
