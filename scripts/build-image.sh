#!/usr/bin/env bash
# Builds the varmor-py container image without any daemon, from Debian packages and PyPI:
#   mmdebstrap (Debian 12 root filesystem with scripts/image-packages.txt)
#   + the project's runtime code and a virtualenv from wheels built on this machine
#   -> umoci (OCI image layout) -> an OCI archive under /var/cache/varmor-py/images/.
# The same image as the Dockerfile. Cached by the hash of its inputs: a second run with
# unchanged inputs prints the archive's path at once. Prints the archive path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
cache=${VARMOR_IMAGE_CACHE:-/var/cache/varmor-py/images}
sources=$(git ls-files app.py api manager serving agent certs controller generator tracer webhook manifests \
            requirements.txt scripts/install.d scripts/image-packages.txt scripts/build-image.sh \
            pyproject.toml 2>/dev/null)
hash=$( (echo "$version"; for f in $sources; do [ -f "$f" ] && { echo "$f"; cat "$f"; }; done) \
        | sha256sum | cut -c1-16)
archive="$cache/varmor-py-$version-$hash.oci.tar"
if [ -f "$archive" ]; then
  echo "$archive"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "Building varmor-py:$version ($hash) in $work" >&2

# Wheels for the runtime requirements, built here where PyPI is reachable; the image's Python is
# Debian 12's 3.11 like the virtualenv's, so the wheels fit.
.venv/bin/python -m pip wheel -q -w "$work/wheels" -r requirements.txt 2>&1 \
  | { grep -v "^WARNING: Location" || true; } >&2
mkdir -p "$work/src"
tar -c $sources | tar -C "$work/src" -x

packages=$(grep -v '^\s*#' scripts/image-packages.txt | xargs | tr ' ' ',')
chroot_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root)
mmdebstrap --quiet --variant=minbase --include="$packages" \
  --customize-hook="mkdir -p \"\$1/opt/varmor\" && cp -a $work/src/. \"\$1/opt/varmor/\"" \
  --customize-hook="cp -a $work/wheels \"\$1/tmp/wheels\"" \
  --customize-hook="chroot \"\$1\" ${chroot_env[*]} python3 -m venv /opt/varmor/.venv" \
  --customize-hook="chroot \"\$1\" ${chroot_env[*]} /opt/varmor/.venv/bin/pip install -q --no-index \
      --find-links /tmp/wheels -r /opt/varmor/requirements.txt" \
  --customize-hook="chroot \"\$1\" ${chroot_env[*]} bash /opt/varmor/scripts/install.d/20-bcc.sh" \
  --customize-hook="rm -rf \"\$1/tmp/wheels\" \"\$1/var/cache/apt/\"*.bin \"\$1/var/cache/apt/archives/\"*.deb \"\$1/var/lib/apt/lists/\"*" \
  --customize-hook="printf '#!/bin/sh\nexec /opt/varmor/.venv/bin/python /opt/varmor/app.py \"\$@\"\n' \
      > \"\$1/usr/local/bin/varmor\" && chmod 755 \"\$1/usr/local/bin/varmor\"" \
  bookworm "$work/rootfs.tar" >&2

umoci init --layout "$work/oci" >&2
umoci new --image "$work/oci:$version" >&2
umoci unpack --image "$work/oci:$version" "$work/bundle" >&2
tar -C "$work/bundle/rootfs" -xf "$work/rootfs.tar"
umoci repack --image "$work/oci:$version" "$work/bundle" >&2
umoci config --image "$work/oci:$version" --config.entrypoint varmor --config.workingdir /opt/varmor \
  --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.label org.opencontainers.image.title=varmor-py \
  --config.label "org.opencontainers.image.version=$version" >&2
umoci gc --layout "$work/oci" >&2
tar -C "$work/oci" -cf "$archive.tmp" .
mv "$archive.tmp" "$archive"
echo "$archive"
