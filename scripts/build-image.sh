#!/usr/bin/env bash
# Builds the varmor-py container image without any daemon, from Debian packages and PyPI, into an
# OCI archive under /var/cache/varmor-py/images/ named as the chart's default image (the same image
# as the Dockerfile). The recipe lives in localcluster/runtime/productimage.py, on the same
# mmdebstrap + OCI-layout core as the local cluster's recipe images. Cached by the hash of its
# inputs. Prints the archive path on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m localcluster.runtime.productimage "$@"
