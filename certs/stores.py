"""Where the certificates live: a port, and its directory implementation.

In a cluster the material belongs in Secrets (``varmor-webhook-svc.<ns>.varmor-tls-ca`` and
``...-tls-pair``); that implementation needs the ``kubernetes`` client and lives with the controller
(``controller.certificates.SecretStore``).
Outside a cluster it lives in a directory as ``ca.crt``, ``ca.key``, ``tls.crt`` and ``tls.key``, plus
``ca-next.*`` / ``ca-previous.crt`` during a CA change and ``ca-bundle.crt``, every CA a client must
trust. Writes never follow a symlink and never reuse a file already there: each file is written to a
fresh ``O_EXCL`` temporary name and renamed over the old one; keys are 0600 whatever the umask. Writers
take an exclusive ``flock`` on ``.lock`` (``lock``), so two of them never mix their bundles; a server
reading ``tls.crt`` and ``tls.key`` checks that they belong together (``serving.tls``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pathlib
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from certs.authority import CertBundle, trust_bundle

REQUIRED = {"ca_cert": "ca.crt", "ca_key": "ca.key", "cert": "tls.crt", "key": "tls.key"}
OPTIONAL = {"next_ca_cert": "ca-next.crt", "next_ca_key": "ca-next.key",
            "previous_ca_cert": "ca-previous.crt"}
FILES = REQUIRED  # the four files every bundle has
TRUST_FILE = "ca-bundle.crt"
WRITE_ORDER = ("next_ca_cert", "next_ca_key", "previous_ca_cert", "ca_cert", "ca_key", "cert", "key")


class StoreConflict(Exception):
    """Another writer changed the store between this writer's load and save: load and decide again."""


class CertStore(Protocol):
    """Keeps one ``CertBundle``; ``lock`` excludes other writers for a load-decide-save, or ``save``
    raises ``StoreConflict`` when another writer got there first."""

    def load(self) -> CertBundle | None: ...

    def save(self, bundle: CertBundle) -> None: ...

    def lock(self) -> AbstractContextManager[None]: ...


class DirectoryStore:
    """A ``CertStore`` over PEM files in one directory (see the module docstring)."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.directory = directory

    def path(self, field: str) -> pathlib.Path:
        return self.directory / (REQUIRED | OPTIONAL)[field]

    def load(self) -> CertBundle | None:
        """The stored bundle; None without a CA. A missing serving pair loads empty (to be re-issued)."""
        if not (self.path("ca_cert").is_file() and self.path("ca_key").is_file()):
            return None
        fields = {f: self.path(f).read_bytes() if self.path(f).is_file() else b""
                  for f in REQUIRED | OPTIONAL}
        return CertBundle(**fields)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def save(self, bundle: CertBundle) -> None:
        """Write every file; call under ``lock`` when another writer may run."""
        self.directory.mkdir(parents=True, exist_ok=True)
        directory = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            _replace(directory, TRUST_FILE, trust_bundle(bundle), 0o644)
            for field in WRITE_ORDER:
                name, data = (REQUIRED | OPTIONAL)[field], getattr(bundle, field)
                if data:
                    _replace(directory, name, data, 0o600 if field.endswith("key") else 0o644)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=directory)
            os.fsync(directory)
        finally:
            os.close(directory)


def _replace(directory: int, name: str, data: bytes, mode: int) -> None:
    """Atomically make ``name`` hold ``data``: a new temporary file (``O_EXCL``, no symlink), renamed."""
    temporary = f".{name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, mode, dir_fd=directory)
    try:
        os.fchmod(fd, mode)  # the umask must not widen or narrow it
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=directory)
        raise
