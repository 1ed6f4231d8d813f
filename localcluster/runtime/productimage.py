"""The varmor-py image (``make image``): Debian 12, the product and its requirements, no daemon.

One image for every role (``varmor manager``, ``varmor agent``, ...), the same as the Dockerfile's:
a ``mmdebstrap`` root filesystem with ``scripts/image-packages.txt``, the product's files under
``/opt/varmor``, a virtualenv from wheels built on this machine (PyPI is reachable here, not in the
chroot), BCC linked into it with ``scripts/install.d/20-bcc.sh``, and a ``varmor`` entrypoint. It is
made with the recipe images' core (``imagebuild.debootstrap`` + ``imagebuild.write_oci_image``) into
an OCI archive under ``/var/cache/varmor-py/images/`` named as the chart's default image
(``docker.io/varmor/varmor-py:<appVersion>``), so importing it into a containerd is all a node needs.
The archive is keyed by the hash of its inputs: a second build with unchanged inputs returns at once.

    python -m localcluster.runtime.productimage    # prints the archive's path
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from localcluster.runtime import imagebuild
from localcluster.runtime.images import DEFAULT_PATH, SUITE

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("app.py", "pyproject.toml", "requirements.txt", "api", "manager", "serving", "agent", "certs",
           "controller", "generator", "tracer", "webhook", "cri", "scripts/install.d",
           "scripts/image-packages.txt", "localcluster/runtime/productimage.py",
           "localcluster/runtime/imagebuild.py")
CHROOT_ENV = f"env -i PATH={DEFAULT_PATH} HOME=/root"
ENTRYPOINT = '#!/bin/sh\nexec /opt/varmor/.venv/bin/python /opt/varmor/app.py "$@"\n'


def image_name(root: Path = ROOT) -> str:
    """The chart's default image: ``<registry>/<namespace>/<repository>:<tag or appVersion>``."""
    chart = root / "manifests" / "varmor"
    values = yaml.safe_load((chart / "values.yaml").read_text())["image"]
    tag = values.get("tag") or str(yaml.safe_load((chart / "Chart.yaml").read_text())["appVersion"])
    return f"{values['registry']}/{values['namespace']}/{values['repository']}:{tag}"


def packages(root: Path = ROOT) -> list[str]:
    lines = (root / "scripts" / "image-packages.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def input_files(root: Path = ROOT) -> list[str]:
    """The tracked files the image is made from (git's list: no caches, no local leftovers)."""
    done = subprocess.run(["git", "-C", str(root), "ls-files", "--", *SOURCES], capture_output=True,
                          text=True, check=False, timeout=60)
    if done.returncode == 0 and done.stdout.strip():
        return sorted(done.stdout.split())
    found = [p for s in SOURCES for p in ((root / s).rglob("*") if (root / s).is_dir() else [root / s])]
    return sorted(str(p.relative_to(root)) for p in found if p.is_file() and "__pycache__" not in p.parts)


def input_hash(root: Path, files: list[str]) -> str:
    digest = hashlib.sha256(SUITE.encode())
    for name in files:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cached_archive(root: Path = ROOT, cache: Path = imagebuild.CACHE) -> Path:
    version = image_name(root).rsplit(":", 1)[1]
    return cache / f"varmor-py-{version}-{input_hash(root, input_files(root))}.oci.tar"


def customize_hooks(src: Path, wheels: Path) -> list[str]:
    """mmdebstrap customize hooks (``$1`` is the new root) that add the product to the image."""
    chroot = f'chroot "$1" {CHROOT_ENV}'
    return [
        f'mkdir -p "$1/opt/varmor" "$1/tmp/wheels" && cp -a {src}/. "$1/opt/varmor/" '
        f'&& cp -a {wheels}/. "$1/tmp/wheels/"',
        f"{chroot} python3 -m venv /opt/varmor/.venv",
        f"{chroot} /opt/varmor/.venv/bin/pip install -q --no-index --find-links /tmp/wheels "
        "-r /opt/varmor/requirements.txt",
        f"{chroot} bash /opt/varmor/scripts/install.d/20-bcc.sh",
        'rm -rf "$1/tmp/wheels" "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb '
        '"$1"/var/lib/apt/lists/*',
        f"printf '%s' '{ENTRYPOINT}' > \"$1/usr/local/bin/varmor\" && chmod 755 \"$1/usr/local/bin/varmor\"",
    ]


def oci_config(name: str, diff_id: str) -> dict[str, Any]:
    """The image configuration (pure): ``varmor`` entrypoint, working directory /opt/varmor."""
    version = name.rsplit(":", 1)[1]
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": [f"PATH={DEFAULT_PATH}"],
            "Entrypoint": ["varmor"],
            "WorkingDir": "/opt/varmor",
            "Labels": {"org.opencontainers.image.title": "varmor-py",
                       "org.opencontainers.image.version": version},
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created_by": f"localcluster.runtime.productimage {SUITE} {name}"}],
    }


def build(root: Path = ROOT, cache: Path = imagebuild.CACHE, log: Any = sys.stderr) -> Path:
    """The image's OCI archive, built now unless cached (``ImageBuildError`` says why not)."""
    out = cached_archive(root, cache)
    if out.exists():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / "varmor-py.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if out.exists():
            return out
        with tempfile.TemporaryDirectory(dir=cache, prefix=".build-") as tmp:
            work = Path(tmp)
            print(f"Building {image_name(root)} into {out}", file=log, flush=True)
            _stage(root, work)
            imagebuild.debootstrap(packages(root), work / "rootfs.tar", "minbase",
                                   customize_hooks(work / "src", work / "wheels"))
            name = image_name(root)
            imagebuild.write_oci_image(work / "rootfs.tar", lambda d: oci_config(name, d), work / "image.tar",
                                       name)
            os.replace(work / "image.tar", out)
    return out


def _stage(root: Path, work: Path) -> None:
    """The shipped files under ``work/src`` and wheels of the runtime requirements under ``work/wheels``."""
    for name in input_files(root):
        if not name.startswith("localcluster/"):  # the builder itself is an input, not shipped
            (work / "src" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, work / "src" / name)
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(work / "wheels"), "-r",
           str(root / "requirements.txt")]
    done = subprocess.run(pip, capture_output=True, text=True, check=False, timeout=imagebuild.BUILD_TIMEOUT)
    if done.returncode != 0:
        raise imagebuild.ImageBuildError(f"pip wheel failed: {done.stderr.strip()[-400:]}")


def main() -> int:
    try:
        print(build())
    except imagebuild.ImageBuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
