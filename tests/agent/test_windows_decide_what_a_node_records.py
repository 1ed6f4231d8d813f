"""The node's plan as a pure function: which containers are recorded for which window, when the
tracer is attached, and which windows are due to be reported."""

from __future__ import annotations

from typing import Any

from agent.windows import Window, parse_time, plan, window_of, wired_containers

T0 = parse_time("2026-12-01T20:00:00Z")


def armor_profile(name: str = "varmor-cluster-varmor-demo-4", duration: int = 30, enable: bool = True,
                  uid: str = "u1", namespace: str = "varmor") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "uid": uid,
                         "creationTimestamp": "2026-12-01T20:00:00Z"},
            "spec": {"profile": {"name": name, "enforcer": "AppArmorSeccomp", "mode": "complain"},
                     "behaviorModeling": {"enable": enable, "duration": duration}}}


def pod(name: str, node: str, annotations: dict[str, str], containers: dict[str, str],
        running: bool = True) -> dict[str, Any]:
    state = {"running": {"startedAt": "2026-12-01T20:00:01Z"}} if running else {"waiting": {"reason": "x"}}
    return {"metadata": {"name": name, "namespace": "demo", "annotations": annotations},
            "spec": {"nodeName": node},
            "status": {"containerStatuses": [{"name": c, "containerID": f"containerd://{cid}", "state": state}
                                             for c, cid in containers.items()]}}


GUIDE_POD = pod("demo-4-abc", "node-1", {
    "container.apparmor.security.beta.varmor.org/c0": "unconfined",
    "container.seccomp.security.beta.varmor.org/c0": "unconfined",
    "container.apparmor.security.beta.varmor.org/c1": "localhost/varmor-cluster-varmor-demo-4",
    "container.seccomp.security.beta.varmor.org/c1": "localhost/varmor-cluster-varmor-demo-4",
}, {"c0": "aaa", "c1": "bbb"})


def test_a_modeling_armor_profile_opens_a_window_for_its_duration() -> None:
    window = window_of(armor_profile(duration=30))
    assert window is not None
    assert (window.start, window.end) == (T0, T0 + 1800)
    assert window.key == "varmor/varmor-cluster-varmor-demo-4"
    assert window.open_at(T0 + 1799) and not window.open_at(T0 + 1800)


def test_profiles_that_do_not_model_open_no_window() -> None:
    assert window_of(armor_profile(enable=False)) is None
    assert window_of(armor_profile(duration=0)) is None
    deleting = armor_profile()
    deleting["metadata"]["deletionTimestamp"] = "2026-12-01T20:01:00Z"
    assert window_of(deleting) is None


def test_only_wired_running_containers_on_this_node_are_recorded_and_opted_out_ones_never() -> None:
    pods = [GUIDE_POD, pod("elsewhere", "node-2", GUIDE_POD["metadata"]["annotations"], {"c1": "ccc"}),
            pod("starting", "node-1", GUIDE_POD["metadata"]["annotations"], {"c1": "ddd"}, running=False)]
    found = wired_containers(pods, "node-1")
    expected = [("c1", "bbb", "varmor-cluster-varmor-demo-4")]
    assert [(c.name, c.container_id, c.profile) for c in found] == expected


def test_the_kubernetes_apparmor_annotation_also_wires_a_container() -> None:
    old_style = pod("p", "node-1", {"container.apparmor.security.beta.kubernetes.io/c": "localhost/varmor-x"},
                    {"c": "eee"})
    assert [c.profile for c in wired_containers([old_style], "node-1")] == ["varmor-x"]


def test_an_open_window_attaches_the_tracer_and_targets_its_containers() -> None:
    window = window_of(armor_profile())
    assert window is not None
    current = plan([window], wired_containers([GUIDE_POD], "node-1"), T0 + 60, reported=set())
    assert current.tracing
    assert {cid: key for cid, (key, _c) in current.targets.items()} == {"bbb": window.key}
    assert current.due == ()
    assert current.next_change == window.end


def test_the_guides_duration_patch_to_one_minute_ends_the_window_at_once() -> None:
    patched = window_of(armor_profile(duration=1))
    assert patched is not None
    current = plan([patched], wired_containers([GUIDE_POD], "node-1"), T0 + 120, reported=set())
    assert not current.tracing and current.targets == {}
    assert current.due == (patched,)


def test_a_window_is_due_until_it_is_reported_and_a_node_without_targets_reports_too() -> None:
    window = window_of(armor_profile(duration=1))
    assert window is not None
    assert plan([window], [], T0 + 61, reported=set()).due == (window,)
    assert plan([window], [], T0 + 61, reported={"u1"}).due == ()


def test_containers_of_another_profile_are_not_recorded_for_this_window() -> None:
    other = Window("team", "varmor-team-web", "u2", "Seccomp", T0, 10)
    current = plan([other], wired_containers([GUIDE_POD], "node-1"), T0 + 5, reported=set())
    assert current.tracing and current.targets == {}
