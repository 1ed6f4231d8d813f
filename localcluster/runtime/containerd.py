"""One private containerd per local cluster: configuration, start, image import, stop.

Everything lives under ``<cluster state>/containerd``: ``root``, ``state``, the socket ``ctd.sock``,
runc's state (``runc``), the CNI configuration (``net.d``) and IP leases (``cni-ipam``), and its log.
Settings that this machine needs (measured, see README): the cgroupfs driver (PID 1 is not systemd),
``restrict_oom_score_adj`` (CRI's -998 for sandboxes is refused here), runc as the default runtime,
a locally built sandbox image, the streaming server on loopback with a free port. ``stop`` kills
what a removed sandbox could have left (shims started for this socket) and deletes the bridge.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from localcluster.runtime import imagebuild, images, networks, reaping

log = logging.getLogger(__name__)
START_TIMEOUT = 20.0
_DISABLED = [
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.tracing.processor.v1.otlp",
    "io.containerd.internal.v1.tracing",
]


class RuntimeUnavailable(RuntimeError):
    """containerd, runc or the CNI plugins are missing, or containerd did not start."""


@dataclass(frozen=True)
class Layout:
    """Where one cluster's containerd keeps its files."""

    base: Path

    @property
    def socket(self) -> Path:
        return self.base / "ctd.sock"

    @property
    def config(self) -> Path:
        return self.base / "config.toml"

    @property
    def log(self) -> Path:
        return self.base / "containerd.log"

    @property
    def net_dir(self) -> Path:
        return self.base / "net.d"


def render_config(layout: Layout, sandbox_image: str = images.PAUSE_IMAGE) -> str:
    """containerd's config.toml (pure)."""
    b = layout.base
    cri = '[plugins."io.containerd.grpc.v1.cri"]'
    return "\n".join(
        [
            "version = 2",
            f'root = "{b}/root"',
            f'state = "{b}/state"',
            f"disabled_plugins = {json.dumps(_DISABLED)}",
            "[grpc]",
            f'  address = "{layout.socket}"',
            '[plugins."io.containerd.internal.v1.opt"]',
            f'  path = "{b}/opt"',
            cri,
            f'  sandbox_image = "{sandbox_image}"',
            "  restrict_oom_score_adj = true",
            "  disable_apparmor = true",
            '  stream_server_address = "127.0.0.1"',
            '  stream_server_port = "0"',
            f"{cri[:-1]}.cni]",
            '  bin_dir = "/usr/lib/cni"',
            f'  conf_dir = "{layout.net_dir}"',
            f"{cri[:-1]}.containerd]",
            '  default_runtime_name = "runc"',
            f"{cri[:-1]}.containerd.runtimes.runc]",
            '  runtime_type = "io.containerd.runc.v2"',
            f"{cri[:-1]}.containerd.runtimes.runc.options]",
            "  SystemdCgroup = false",
            f'  Root = "{b}/runc"',
            "",
        ]
    )


def check_installed() -> None:
    missing = [b for b in ("containerd", "runc", "ctr") if shutil.which(b) is None]
    missing += [p for p in ("bridge", "host-local", "loopback") if not Path("/usr/lib/cni", p).exists()]
    if missing:
        raise RuntimeUnavailable(
            f"missing {', '.join(missing)}: install containerd, runc and containernetworking-plugins "
            "(scripts/apt-packages.txt; make install)"
        )


class Containerd:
    """The cluster's containerd process."""

    def __init__(self, base: Path, network: networks.Network) -> None:
        self.layout = Layout(base)
        self.network = network
        self._proc: subprocess.Popen[bytes] | None = None
        self._reaper: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        check_installed()
        lay = self.layout
        for sub in ("root", "state", "runc", "opt"):
            (lay.base / sub).mkdir(parents=True, exist_ok=True)
        lay.net_dir.mkdir(parents=True, exist_ok=True)
        lay.config.write_text(render_config(lay))
        (lay.net_dir / "10-localcluster.conflist").write_text(
            json.dumps(networks.conflist(self.network, lay.base / "cni-ipam"))
        )
        lay.socket.unlink(missing_ok=True)
        with lay.log.open("ab") as out:
            self._proc = subprocess.Popen(
                ["containerd", "--config", str(lay.config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not lay.socket.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeUnavailable(f"containerd did not start; see {lay.log}")
            time.sleep(0.01)
        self._reaper = reaping.spawn_reaper(lay.base)
        log.info("Started containerd socket=%s pid=%d", lay.socket, self._proc.pid)

    def ctr_argv(self, *args: str) -> list[str]:
        return ctr_argv(self.layout.socket, *args)

    def ctr(self, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        return ctr(self.layout.socket, *args, timeout=timeout)

    def import_archive(self, archive: Path) -> list[str]:
        return import_archive(self.layout.socket, archive)

    def image_names(self) -> list[str]:
        return image_names(self.layout.socket)

    def ensure_image(self, image: str, cache: Path = imagebuild.CACHE) -> bool:
        """Make ``image`` present from its recipe (build or cache, then import); False without one."""
        name = images.normalise(image)
        if name in self.image_names():
            return True
        recipe = images.recipe_for(name)
        if recipe is None:
            return False
        archive = imagebuild.build(recipe, cache)
        source = imagebuild.archive_name(recipe)
        if source not in self.image_names():
            self.import_archive(archive)
        proc = self.ctr("images", "tag", "--force", source, name)
        if proc.returncode != 0:
            raise ValueError(f"cannot tag {name}: {proc.stderr.strip()}")
        return True

    def dump_stacks(self) -> Path:
        """SIGUSR1: containerd writes every goroutine's stack to its log, which is returned."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGUSR1)
        return self.layout.log

    def stop(self, timeout: float = 10.0) -> None:
        """Stop containerd, then whatever it started for this socket; delete the bridge."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for pid in _shims_of(self.layout.socket):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        networks.delete_bridge(self.network)
        if self._reaper is not None and self._reaper.stdin is not None:
            self._reaper.stdin.close()  # it finds nothing left, and exits
            try:
                self._reaper.wait(timeout)
            except subprocess.TimeoutExpired:
                self._reaper.kill()
        log.info("Stopped containerd socket=%s", self.layout.socket)


def ctr_argv(socket: Path, *args: str) -> list[str]:
    return ["ctr", "--address", str(socket), "--namespace", "k8s.io", *args]


def ctr(socket: Path, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ctr_argv(socket, *args), capture_output=True, text=True, timeout=timeout, check=False
    )


def image_names(socket: Path) -> list[str]:
    proc = ctr(socket, "images", "list", "--quiet")
    return proc.stdout.split() if proc.returncode == 0 else []


def import_archive(socket: Path, archive: Path) -> list[str]:
    """``ctr images import`` an OCI or docker archive into the ``k8s.io`` namespace; the new names."""
    before = set(image_names(socket))
    proc = ctr(socket, "images", "import", str(archive))
    if proc.returncode != 0:
        raise ValueError(f"cannot import {archive}: {proc.stderr.strip() or proc.stdout.strip()}")
    return sorted(set(image_names(socket)) - before) or _named_in(proc.stdout)


def _named_in(output: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines() if line.startswith("unpacking ")]


def _shims_of(socket: Path) -> list[int]:
    """Pids of containerd-shim processes serving ``socket``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"containerd-shim-runc-v2") and str(socket).encode() in argv:
            found.append(int(entry.name))
    return found
