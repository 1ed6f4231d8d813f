"""The CRD contract of vArmor, ``crd.varmor.org/v1beta1``: pure, importable by every room.

In the style of kubebuilder's ``api/v1beta1``: ``names`` (group, version, kinds, plurals, short
names and every fixed name or key), ``types`` (typed views of the four kinds), ``profilenames``
(profile-name rules), ``validation`` (policy rules with upstream's exact messages), ``selectors``
(label selectors) and ``conditions`` (status phases and condition helpers). Nothing here does IO;
the webhook, the controller and the agent import it, it imports no other project package.
"""
