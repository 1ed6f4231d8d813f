"""Least-privilege securityContext from a model, every field explained."""

from __future__ import annotations

from generator.least_privilege import container_contexts, runtime_default_gaps, security_context
from generator.models import AppArmorResult, BehaviorModel, FileRule, Provenance
from generator.runtime_default import ALWAYS, BY_CAPABILITY, SOURCE


def model(files: tuple[FileRule, ...] = (), capabilities: tuple[str, ...] = (),
          syscalls: tuple[str, ...] = ("read", "exit_group"),
          executions: tuple[str, ...] = ()) -> BehaviorModel:
    return BehaviorModel(apparmor=AppArmorResult(profiles=("p",), executions=executions, files=files,
                                                 capabilities=capabilities), syscalls=syscalls)


def test_all_capabilities_are_dropped_and_only_observed_ones_added() -> None:
    context, reasons = security_context(model(capabilities=("net_raw", "chown")), "p")
    assert context["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN", "NET_RAW"]}
    assert "chown, net_raw" in reasons["capabilities"]
    assert security_context(model(), "p")[0]["capabilities"] == {"drop": ["ALL"]}


def test_privilege_escalation_is_refused_unless_setid_use_was_seen() -> None:
    assert security_context(model(), "p")[0]["allowPrivilegeEscalation"] is False
    context, reasons = security_context(model(syscalls=("setuid",)), "p")
    assert context["allowPrivilegeEscalation"] is True and "setuid" in reasons["allowPrivilegeEscalation"]
    assert security_context(model(executions=("/usr/bin/sudo",)), "p")[0]["allowPrivilegeEscalation"] is True


def test_root_filesystem_is_read_only_when_writes_stay_in_kernel_filesystems_volumes_and_temp() -> None:
    files = (FileRule("/dev/null", ("w",)), FileRule("/data/db", ("w",)), FileRule("/etc/passwd", ("r",)),
             FileRule("/tmp/**", ("w", "r")))
    context, reasons = security_context(model(files=files), "p", volumes=("/data",))
    assert context["readOnlyRootFilesystem"] is True
    assert reasons["readOnlyRootFilesystem"] == "writes only to temp directories; mount an emptyDir at /tmp"


def test_a_write_to_the_image_keeps_the_root_filesystem_writable_and_names_it() -> None:
    context, reasons = security_context(model(files=(FileRule("/root/c1", ("w", "r"), True),)), "p")
    assert context["readOnlyRootFilesystem"] is False
    assert reasons["readOnlyRootFilesystem"] == "the model writes to the root filesystem: /root/c1"


def test_runtime_default_is_chosen_when_the_runtime_allows_every_observed_syscall() -> None:
    context, reasons = security_context(model(syscalls=("read", "clone")), "p")
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert SOURCE in reasons["seccompProfile"]
    assert "clone only for some arguments" in reasons["seccompProfile"]


def test_a_syscall_outside_the_runtime_default_list_selects_the_generated_localhost_profile() -> None:
    context, reasons = security_context(model(syscalls=("read", "unshare")), "varmor-demo-app")
    assert context["seccompProfile"] == {"type": "Localhost", "localhostProfile": "varmor-demo-app"}
    assert "would deny unshare" in reasons["seccompProfile"]


def test_an_added_capability_widens_the_runtime_default_list_like_containerd_does() -> None:
    assert runtime_default_gaps(model(syscalls=("unshare",), capabilities=("sys_admin",))) == ([], [])
    assert "unshare" in BY_CAPABILITY["sys_admin"] and "unshare" not in ALWAYS


def test_every_container_of_the_models_provenance_gets_the_context() -> None:
    behavior = BehaviorModel(apparmor=AppArmorResult(profiles=("p",)), syscalls=("read",),
                             provenance=(Provenance(container="web"), Provenance(container="sidecar"),
                                         Provenance(container="web")))
    assert [c.container for c in container_contexts(behavior, "p")] == ["sidecar", "web"]
    assert [c.container for c in container_contexts(model(), "p")] == ["*"]
