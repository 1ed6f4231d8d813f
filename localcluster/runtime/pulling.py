"""Image "pulls" without a registry: present images, recipe builds in the background, clear errors.

``ImagePuller.check(image, policy)`` answers at once: ``ready`` (with the image id containerd
reports), ``pulling`` (a recipe image is being built or imported in a worker thread), or ``failed``
with kubelet's reason — ``ErrImageNeverPull`` for ``imagePullPolicy: Never``, ``ErrImagePull`` when
no recipe makes the image (then kubelet shows ``ImagePullBackOff`` between retries). Presence is
asked through CRI ``ImageStatus``, as kubelet asks it.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from dataclasses import dataclass
from typing import Literal

from cri import runtime_pb2 as pb
from cri.client import CriClient, CriError
from localcluster.runtime import images
from localcluster.runtime.containerd import Containerd

log = logging.getLogger(__name__)
Phase = Literal["ready", "pulling", "failed"]


@dataclass(frozen=True)
class PullState:
    phase: Phase
    image_id: str = ""
    reason: str = ""
    message: str = ""


def image_id(name: str, image: object) -> str:
    """kubelet's ``imageID``: a repo digest when there is one, else the config digest."""
    digests = list(getattr(image, "repo_digests", []))
    return digests[0] if digests else f"{images.repository(name)}@{getattr(image, 'id', '')}"


class ImagePuller:
    """Looks images up in containerd and makes recipe images on demand (one build per name)."""

    def __init__(self, ctd: Containerd, cri: CriClient) -> None:
        self.ctd = ctd
        self.cri = cri
        self._pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="image-pull")
        self._pulls: dict[str, concurrent.futures.Future[bool]] = {}
        self._lock = threading.Lock()

    def present(self, image: str) -> str:
        """The image id when containerd has ``image``, else an empty string."""
        name = images.normalise(image)
        try:
            found = self.cri.call("ImageStatus", pb.ImageStatusRequest(image=pb.ImageSpec(image=name))).image
        except CriError:
            return ""
        return image_id(name, found) if found.id else ""

    def check(self, image: str, policy: str) -> PullState:
        found = self.present(image)
        if found:
            return PullState("ready", found)
        if policy == "Never":
            return PullState(
                "failed",
                reason="ErrImageNeverPull",
                message=(f'Container image "{image}" is not present with pull policy of Never'),
            )
        name = images.normalise(image)
        if images.recipe_for(name) is None:
            return PullState(
                "failed",
                reason="ErrImagePull",
                message=(
                    f'image "{image}" is not present and no registry is reachable: import it with '
                    "`python app.py localcluster image import FILE.tar` (recipes exist for "
                    f"{', '.join(r.rsplit('/', 1)[-1] for r in images.known_repositories())})"
                ),
            )
        return self._pull(name)

    def _pull(self, name: str) -> PullState:
        with self._lock:
            future = self._pulls.get(name)
            if future is None or (future.done() and future.exception() is None):
                future = self._pool.submit(self.ctd.ensure_image, name)
                self._pulls[name] = future
        if not future.done():
            return PullState("pulling", reason="ContainerCreating", message=f'Pulling image "{name}"')
        error = future.exception()
        if error is not None:
            with self._lock:
                self._pulls.pop(name, None)  # retried on the next check
            return PullState("failed", reason="ErrImagePull", message=f"building {name} failed: {error}")
        found = self.present(name)
        return PullState("ready", found) if found else PullState("pulling", reason="ContainerCreating")

    def busy(self) -> bool:
        """Whether an image is still being built or imported."""
        with self._lock:
            return any(not f.done() for f in self._pulls.values())

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
