"""The kubelet's side of the Container Runtime Interface: our CRI v1 subset and a typed client.

``runtime.proto`` is the subset of ``runtime.v1`` that the node calls; ``runtime_pb2`` is generated
from it (``python -m localcluster.cri.generate``, pinned grpcio-tools) and committed; ``client``
wraps the gRPC channel to a containerd socket in typed methods.
"""
