"""The Container Runtime Interface as we speak it: our CRI v1 subset and a typed client.

Two callers share it: the local cluster's nodes (the kubelet's side: sandboxes, containers, exec)
and the node agent (which asks containerd which containers run and where their cgroups are).
``runtime.proto`` is the subset of ``runtime.v1`` that they call; ``runtime_pb2`` is generated
from it (``python -m cri.generate``, pinned grpcio-tools) and committed; ``client``
wraps the gRPC channel to a containerd socket in typed methods.
"""
