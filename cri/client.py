"""A typed CRI client: the RuntimeService and ImageService calls the kubelet makes, over gRPC.

Each method sends one ``runtime.v1`` request on the unix socket and returns the response message;
gRPC errors surface as ``CriError`` with the runtime's message (containerd's reasons are what the
kubelet shows in pod statuses and events).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc

from cri import runtime_pb2 as pb

_METHODS = {
    "Version": ("RuntimeService", "VersionResponse"),
    "RunPodSandbox": ("RuntimeService", "RunPodSandboxResponse"),
    "StopPodSandbox": ("RuntimeService", "StopPodSandboxResponse"),
    "RemovePodSandbox": ("RuntimeService", "RemovePodSandboxResponse"),
    "PodSandboxStatus": ("RuntimeService", "PodSandboxStatusResponse"),
    "ListPodSandbox": ("RuntimeService", "ListPodSandboxResponse"),
    "CreateContainer": ("RuntimeService", "CreateContainerResponse"),
    "StartContainer": ("RuntimeService", "StartContainerResponse"),
    "StopContainer": ("RuntimeService", "StopContainerResponse"),
    "RemoveContainer": ("RuntimeService", "RemoveContainerResponse"),
    "ListContainers": ("RuntimeService", "ListContainersResponse"),
    "ContainerStatus": ("RuntimeService", "ContainerStatusResponse"),
    "ExecSync": ("RuntimeService", "ExecSyncResponse"),
    "Exec": ("RuntimeService", "ExecResponse"),
    "ListImages": ("ImageService", "ListImagesResponse"),
    "ImageStatus": ("ImageService", "ImageStatusResponse"),
}


class CriError(RuntimeError):
    """A CRI call failed; ``code`` is the gRPC status name (``NOT_FOUND``, ``UNKNOWN``, ...)."""

    def __init__(self, method: str, code: str, message: str) -> None:
        super().__init__(f"{method}: {message}")
        self.code = code
        self.message = message


class CriClient:
    """CRI v1 over a containerd socket."""

    def __init__(self, socket: Path, timeout: float = 60.0) -> None:
        self._channel = grpc.insecure_channel(f"unix://{socket}")
        self.timeout = timeout
        self._calls: dict[str, Any] = {}
        for method, (service, response) in _METHODS.items():
            self._calls[method] = self._channel.unary_unary(
                f"/runtime.v1.{service}/{method}",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=getattr(pb, response).FromString,
            )

    def call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        try:
            return self._calls[method](request, timeout=timeout or self.timeout)
        except grpc.RpcError as err:
            code = err.code().name if hasattr(err, "code") else "UNKNOWN"
            details = err.details() if hasattr(err, "details") else str(err)
            raise CriError(method, code, details or code) from None

    def wait_ready(self, timeout: float) -> str:
        """Poll ``Version`` until containerd answers; returns ``<name>://<version>``."""
        grpc.channel_ready_future(self._channel).result(timeout=timeout)
        version = self.call("Version", pb.VersionRequest(version="v1"), timeout)
        return f"{version.runtime_name}://{version.runtime_version}"

    def close(self) -> None:
        self._channel.close()
