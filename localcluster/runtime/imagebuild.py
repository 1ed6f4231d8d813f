"""Making recipe images from Debian packages, cached as OCI archives under /var/cache/varmor-py.

``mmdebstrap`` writes the root filesystem as a tar (no ``/dev``, no docs); that tar is the image's
one uncompressed layer. ``write_oci_image`` wraps it in an OCI image layout (config, manifest,
index) in a tar that ``ctr images import`` reads — the same result as ``umoci`` repacking the
unpacked tree, without unpacking it. Archives are keyed by recipe, so a second run only imports.
A file lock keeps two clusters from building the same image at once.

``debootstrap`` and ``write_oci_image`` are the one image-making core: the varmor-py image itself
(``localcluster.runtime.productimage``, ``make image``) is made with them too, with mmdebstrap
customize hooks that add the product.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import logging
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from localcluster.runtime.images import DEFAULT_PATH, SUITE, Recipe

log = logging.getLogger(__name__)
CACHE = Path("/var/cache/varmor-py/images")
BUILD_TIMEOUT = 900.0
_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*")


class ImageBuildError(RuntimeError):
    """A recipe image could not be made (no mmdebstrap, no Debian mirror, a package missing)."""


def cached_archive(recipe: Recipe, cache: Path = CACHE) -> Path:
    return cache / f"{recipe.key()}.oci.tar"


def archive_name(recipe: Recipe) -> str:
    """The name a recipe's archive imports under; the kubelet tags it with the names pods use."""
    return f"localcluster.local/recipe/{recipe.key()}:latest"


def build(recipe: Recipe, cache: Path = CACHE) -> Path:
    """The recipe's OCI archive, built now unless cached."""
    out = cached_archive(recipe, cache)
    if out.exists():
        return out
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{recipe.key()}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if out.exists():
            return out
        with tempfile.TemporaryDirectory(dir=cache, prefix=".build-") as tmp:
            rootfs = Path(tmp) / "rootfs.tar"
            _debootstrap(recipe, rootfs)
            _add_links(recipe, rootfs, Path(tmp))
            write_oci_archive(rootfs, recipe, Path(tmp) / "image.tar", archive_name(recipe))
            os.replace(Path(tmp) / "image.tar", out)
    log.info("Built image recipe=%s archive=%s", recipe.key(), out)
    return out


def build_images(names: list[str], cache: Path = CACHE) -> list[Path]:
    """Build (or find cached) the recipe images for ``names``, e.g. before a test session."""
    from localcluster.runtime.images import recipe_for

    recipes = [r for r in (recipe_for(n) for n in names) if r is not None]
    return [build(r, cache) for r in recipes]


def _debootstrap(recipe: Recipe, rootfs: Path) -> None:
    debootstrap(recipe.packages, rootfs, "extract" if recipe.base == "busybox" else "minbase")


def debootstrap(packages: Sequence[str], rootfs: Path, variant: str = "minbase",
                hooks: Sequence[str] = ()) -> None:
    """A Debian root filesystem tar with ``packages``; ``hooks`` are mmdebstrap customize hooks."""
    argv = ["mmdebstrap", f"--variant={variant}", "--skip=output/dev", "--format=tar", "--quiet"]
    argv += [f"--dpkgopt=path-exclude={p}" for p in _EXCLUDES]
    if packages:
        argv.append("--include=" + ",".join(packages))
    argv += [f"--customize-hook={hook}" for hook in hooks]
    argv += [SUITE, str(rootfs)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ImageBuildError(f"mmdebstrap could not run: {err}") from err
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise ImageBuildError(f"mmdebstrap failed with {proc.returncode}: {tail}")


def _add_links(recipe: Recipe, rootfs: Path, tmp: Path) -> None:
    """Append the recipe's symlinks, and busybox's applet links for busybox images."""
    links = list(recipe.links)
    if recipe.base == "busybox":
        with tarfile.open(rootfs) as tar:
            tar.extract("./bin/busybox", tmp)
        names = subprocess.run(
            [str(tmp / "bin" / "busybox"), "--list"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.split()
        links += [(f"/bin/{n}", "/bin/busybox") for n in names if n != "busybox"]
    if not links:
        return
    with tarfile.open(rootfs, "a") as tar:
        present = set(tar.getnames())
        for path, target in links:
            if f".{path}" in present:
                continue
            info = tarfile.TarInfo(f".{path}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, target, 0o777
            tar.addfile(info)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def image_config(recipe: Recipe, diff_id: str) -> dict[str, Any]:
    """The OCI image configuration (pure)."""
    config: dict[str, Any] = {"Env": [f"PATH={DEFAULT_PATH}"], "Cmd": list(recipe.cmd), "WorkingDir": "/"}
    if recipe.entrypoint:
        config["Entrypoint"] = list(recipe.entrypoint)
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created_by": f"mmdebstrap {SUITE} {' '.join(recipe.packages)}".strip()}],
    }


def _descriptor(media_type: str, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def write_oci_archive(rootfs: Path, recipe: Recipe, out: Path, name: str = "") -> None:
    """A recipe's OCI image layout tar with ``rootfs`` as its only (uncompressed) layer."""
    write_oci_image(rootfs, lambda diff_id: image_config(recipe, diff_id), out, name)


def write_oci_image(
    rootfs: Path, configure: Callable[[str], dict[str, Any]], out: Path, name: str = ""
) -> None:
    """An OCI image layout tar with ``rootfs`` as its only layer; ``configure(diff_id)`` is its config."""
    layer_digest = _sha256(rootfs)
    config = json.dumps(configure(layer_digest), sort_keys=True).encode()
    layer = {
        "mediaType": "application/vnd.oci.image.layer.v1.tar",
        "digest": f"sha256:{layer_digest}",
        "size": rootfs.stat().st_size,
    }
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": _descriptor("application/vnd.oci.image.config.v1+json", config),
            "layers": [layer],
        },
        sort_keys=True,
    ).encode()
    entry = _descriptor("application/vnd.oci.image.manifest.v1+json", manifest)
    entry["platform"] = {"architecture": "amd64", "os": "linux"}
    if name:
        entry["annotations"] = {"io.containerd.image.name": name}
    index = json.dumps({"schemaVersion": 2, "manifests": [entry]}).encode()
    with tarfile.open(out, "w") as tar:
        _add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add_bytes(tar, "index.json", index)
        for blob in (config, manifest):
            _add_bytes(tar, f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}", blob)
        tar.add(rootfs, f"blobs/sha256/{layer_digest}")


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))
