"""The node side of the local cluster.

``crinode`` is the kubelet half of a real node: pods through CRI on the cluster's containerd
(``criconfigs`` builds the requests, ``slots`` the per-container bookkeeping and status). The rest
of this package is the former process node simulator, kept as the benchmark baseline:

``NodeSimulator`` runs the pods bound to its node (``--node-simulator process``), and the benchmark
calls ``exec_in_container`` as the former ``localcluster exec`` did. Every pod gets a pause sandbox and every
container a real process tree in a cgroup v2 scope named as containerd names it
(``kubepods.slice/.../cri-containerd-<id>.scope``), in new mount and pid namespaces and the pod's
UTS/IPC namespaces (hostname = pod name), running its command on the host filesystem (images are
never pulled). ``Localhost`` seccomp profiles are applied with libseccomp; ``RuntimeDefault`` and
``Unconfined`` apply no filter; AppArmor profiles are only recorded (no AppArmor in this kernel).
There is no network namespace: ``podIP`` is the host's address. Needs root.

Flow: ``pods`` (Pod dict → spec) → ``simulator`` (cgroups, records, shims) → ``running`` (shim +
container init) → ``kernel``; ``statuses`` builds the status dicts; ``entering`` is the exec path.
"""

from localcluster.node.sessions import ContainerNotFound, exec_in_container
from localcluster.node.simulator import NodeError, NodeSimulator

__all__ = ["ContainerNotFound", "NodeError", "NodeSimulator", "exec_in_container"]
