"""Image names and the recipes that make the common ones from Debian packages (pure).

No registry is reachable, so an image a pod names is either imported by the user
(``app.py localcluster image import FILE.tar``) or made from a recipe: a Debian root filesystem
(``mmdebstrap``) with the packages that provide the program, and the image's default command.
Names are normalised as containerd's CRI plugin does (``debian:10`` → ``docker.io/library/debian:10``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

Base = Literal["minbase", "busybox"]
PAUSE_IMAGE = "docker.io/local/pause:1"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SUITE = "bookworm"


@dataclass(frozen=True)
class Recipe:
    """How to make one image: a base root filesystem, extra Debian packages, default command."""

    base: Base
    packages: tuple[str, ...]
    cmd: tuple[str, ...]
    entrypoint: tuple[str, ...] = ()
    links: tuple[tuple[str, str], ...] = ()  # (path, target) symlinks added to the root filesystem

    def key(self) -> str:
        """A cache key that changes whenever the recipe or the Debian suite does."""
        text = json.dumps([SUITE, self.base, self.packages, self.cmd, self.entrypoint, self.links])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


_SHELL = ("/bin/sh",)
_BUSYBOX = Recipe("busybox", ("busybox-static",), _SHELL)
_RECIPES: dict[str, Recipe] = {
    "docker.io/local/pause": Recipe("busybox", ("busybox-static",), ("/bin/busybox", "sleep", "2147483647")),
    "docker.io/library/busybox": _BUSYBOX,
    "docker.io/library/debian": Recipe("minbase", (), ("bash",)),
    "docker.io/curlimages/curl": Recipe("minbase", ("curl", "ca-certificates"), ("--help",), ("curl",)),
    "docker.io/library/nginx": Recipe("minbase", ("nginx",), ("nginx", "-g", "daemon off;")),
    "docker.io/library/python": Recipe(
        "minbase", ("python3",), ("python3",), (), (("/usr/local/bin/python", "/usr/bin/python3"),)
    ),
}


def normalise(image: str) -> str:
    """The fully qualified reference (``nginx`` → ``docker.io/library/nginx:latest``)."""
    name, _, digest = image.partition("@")
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"
    if not digest and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return f"{name}@{digest}" if digest else name


def repository(image: str) -> str:
    """The reference without tag or digest."""
    name = normalise(image).split("@")[0]
    head, _, tail = name.rpartition(":")
    return head if "/" not in tail else name


def recipe_for(image: str) -> Recipe | None:
    """The recipe that makes ``image`` (any tag of a known repository), or None."""
    return _RECIPES.get(repository(image))


def known_repositories() -> list[str]:
    return sorted(_RECIPES)
