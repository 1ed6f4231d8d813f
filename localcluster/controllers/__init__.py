"""Simulated kube-controller-manager, scheduler and kubelets for the local cluster.

``manager`` turns store changes into keys and runs one reconciler per kind; ``workloads`` holds the
Deployment/ReplicaSet/StatefulSet/DaemonSet reconcilers, ``collection`` the ownerReference and
namespace garbage collector, ``kubelet`` the scheduler and the per-node kubelet loops.
"""
