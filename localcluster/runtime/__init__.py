"""The node's container runtime: a private containerd, its images and its pod network.

``containerd`` renders the configuration and runs one containerd per cluster (own root, state and
socket under the cluster's state directory); ``images`` names the images we can make without a
registry (pure recipe table); ``imagebuild`` makes them from Debian packages and caches them;
``networks`` renders the CNI configuration. The kubelet half that drives it through CRI is
``localcluster.node.crinode``.
"""
