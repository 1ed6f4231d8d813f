"""Where the certificates live: a port, and its directory implementation.

In a cluster the material belongs in Secrets (``varmor-webhook-svc.<ns>.varmor-tls-ca`` and
``...-tls-pair``); that implementation needs the ``kubernetes`` client and lives with the controller
(``controller.certificates.SecretStore``).
Outside a cluster it lives in a directory as ``ca.crt``, ``ca.key``, ``tls.crt`` and ``tls.key``.
"""

from __future__ import annotations

import os
import pathlib
from typing import Protocol

from certs.authority import CertBundle

FILES = {"ca_cert": "ca.crt", "ca_key": "ca.key", "cert": "tls.crt", "key": "tls.key"}


class CertStore(Protocol):
    """Keeps one ``CertBundle``."""

    def load(self) -> CertBundle | None: ...

    def save(self, bundle: CertBundle) -> None: ...


class DirectoryStore:
    """A ``CertStore`` over four PEM files in one directory; keys are written mode 0600."""

    def __init__(self, directory: pathlib.Path) -> None:
        self.directory = directory

    def path(self, field: str) -> pathlib.Path:
        return self.directory / FILES[field]

    def load(self) -> CertBundle | None:
        paths = {field: self.path(field) for field in FILES}
        if not all(p.is_file() for p in paths.values()):
            return None
        return CertBundle(**{field: p.read_bytes() for field, p in paths.items()})

    def save(self, bundle: CertBundle) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for field in FILES:
            _write_atomically(self.path(field), getattr(bundle, field), secret=field.endswith("key"))


def _write_atomically(path: pathlib.Path, data: bytes, *, secret: bool) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
