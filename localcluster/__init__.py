"""The embedded single-machine Kubernetes cluster used by the demo and the end-to-end tests.

``apiserver`` emulates the Kubernetes API (storage, patches, watches, admission, tables),
``controllers`` simulate kube-controller-manager, the scheduler and one kubelet per node, and the
kubelets drive a node simulator (``localcluster.node``) that runs pod containers as processes.
"""
