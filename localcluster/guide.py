"""``app.py demo``: the user guide's BehaviorModeling scenario, played verbatim on the local cluster.

The guide (upstream vArmor, "BehaviorModeling mode") step by step, with the commands a user types:
the two ``demo-4`` Deployments by ``kubectl create -f -``, the VarmorClusterPolicy with
``updateExistingWorkloads: true``, ``kubectl get vcpol demo-4`` showing READY ``true`` and STATUS
``Modeling``, the rolling update, the guide's ``kubectl exec`` commands, the duration patch,
STATUS ``Completed``, and the jsonpath + ``base64 -d`` commands that print both profiles. A line
per step says what happened and how long it took; the cluster is taken down at the end unless
``--keep``.

varmor-py runs as users install it: ``localcluster up --detach --install-varmor --set
behaviorModeling.enabled=true`` imports the image (``make image``) and installs the Helm chart, so the
manager (whose leader registers the webhook configurations with its CA) and one agent per node run as
pods. ``--host-processes`` runs the same manager (``app.py manager``) and agents (``app.py agent``) as
processes on this machine next to the local cluster instead.
This module only types what the guide types; it never records, merges or renders anything itself.
"""

from __future__ import annotations

import argparse
import base64
import functools
import json
import os
import pathlib
import pty
import select
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, TypeVar

ROOT = pathlib.Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
PROFILE = "varmor-cluster-varmor-demo-4"
NODES = ("node-1", "node-2")
T = TypeVar("T")

DEFAULT_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-4
  namespace: default
  labels:
    app: demo-4
    sandbox.varmor.org/enable: "true"
spec:
  replicas: 2
  selector:
    matchLabels:
      app: demo-4
  template:
    metadata:
      labels:
        app: demo-4
    spec:
      containers:
      - name: c0
        image: debian:10
        command: ["/bin/sh", "-c", "sleep infinity"]
        imagePullPolicy: IfNotPresent
"""
DEMO_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-4
  namespace: demo
  labels:
    app: demo-4
    sandbox.varmor.org/enable: "true"
spec:
  replicas: 2
  selector:
    matchLabels:
      app: demo-4
  template:
    metadata:
      labels:
        app: demo-4
      annotations:
        container.apparmor.security.beta.varmor.org/c0: unconfined
        container.seccomp.security.beta.varmor.org/c0: unconfined
    spec:
      shareProcessNamespace: true
      containers:
      - name: c0
        image: curlimages/curl:7.87.0
        command: ["/bin/sh", "-c", "sleep infinity"]
        imagePullPolicy: IfNotPresent
      - name: c1
        image: debian:10
        command: ["/bin/sh", "-c", "sleep infinity"]
        imagePullPolicy: IfNotPresent
"""
POLICY = """\
apiVersion: crd.varmor.org/v1beta1
kind: VarmorClusterPolicy
metadata:
  name: demo-4
spec:
  updateExistingWorkloads: true
  target:
    kind: Deployment
    selector:
      matchLabels:
        app: demo-4
  policy:
    enforcer: AppArmorSeccomp
    mode: BehaviorModeling
    modelingOptions:
      duration: 30
"""
DURATION_PATCH = '[{"op": "replace", "path": "/spec/policy/modelingOptions/duration", "value":1}]'


class DemoError(RuntimeError):
    """A step did not reach what the guide shows; the message says which and why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Guide:
    """The guide's commands against one local cluster, with progress lines on stdout."""

    def __init__(self, state: pathlib.Path, out: Callable[[str], None] = print, pods: bool = False) -> None:
        self.state, self.out, self.pods_install = state, out, pods
        self.kubeconfig = state / "kubeconfig"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs = state / "logs"
        self.started = time.monotonic()
        self.pods: dict[str, list[str]] = {}

    # ---- plumbing
    def kubectl(self, *args: str, stdin: str | None = None, tty: bool = False) -> str:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.state)}
        done = subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True, env=env,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise DemoError(f"kubectl {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def wait(self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                found = probe()
            except DemoError:
                found = None
            if found:
                return found
            time.sleep(interval)
        raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}")

    def step(self, title: str, action: Callable[[], object]) -> None:
        began = time.monotonic()
        self.out(f"==> {title}")
        action()
        self.out(f"    done in {time.monotonic() - began:.1f}s")

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen([sys.executable, str(APP), *argv], cwd=ROOT, stdout=log,
                                       stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.processes.append(process)
        return process

    def json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json"))

    def on_tty(self, *args: str, timeout: float = 120.0) -> str:
        """``kubectl ARGS`` with a terminal (the guide's ``-it``), whether or not we have one."""
        master, slave = pty.openpty()
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.state), "TERM": "dumb"}
        process = subprocess.Popen(["kubectl", *args], stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        output = bytearray()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # every slave end is closed
                    break
                if not chunk:
                    break
                output += chunk
            elif process.poll() is not None:
                break
        os.close(master)
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
        text = output.decode(errors="replace").replace("\r\n", "\n")
        if code != 0:
            raise DemoError(f"kubectl {' '.join(args)} exited {code}: {text.strip()}")
        return text

    # ---- the cluster and varmor-py
    def up(self) -> None:
        argv = [sys.executable, str(APP), "localcluster", "up", "--detach", "--dir", str(self.state),
                "--nodes", str(len(NODES))]
        if self.pods_install:
            argv += ["--install-varmor", "--set", "behaviorModeling.enabled=true"]
            self.out(f"    $ python app.py {shlex.join(argv[2:])}")
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=1500)
        if self.pods_install:
            self.show(done.stderr + done.stdout)
        if done.returncode != 0:
            raise DemoError(f"localcluster up failed: {done.stderr.strip() or done.stdout.strip()}")
        self.out(f"    KUBECONFIG={self.kubeconfig}")

    def installed(self) -> None:
        """The chart's pods are Ready (``up`` waited); the leader has filled the caBundle."""
        self.wait("the leader's caBundle in the webhook configurations", self.registered, timeout=120)
        self.show(self.kubectl("get", "pods", "-n", "varmor", "-o", "wide"))

    def down(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
        argv = [sys.executable, str(APP), "localcluster", "down", "--dir", str(self.state)]
        subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=300, check=False)

    def install(self) -> None:
        """The manager and the agents next to the cluster, with the chart's registrations."""
        self.kubectl("create", "namespace", "varmor")
        self.kubectl("create", "serviceaccount", "varmor-agent", "-n", "varmor")
        self.kubectl("apply", "-f", "-", stdin=json.dumps({  # the pod the leader labels identity=leader
            "apiVersion": "v1", "kind": "Pod", "metadata": {
                "name": "varmor-manager-local", "namespace": "varmor", "labels": {"app": "varmor-manager"}},
            "spec": {"nodeName": "host-process", "containers": [{"name": "manager", "image": "varmor-py"}]}}))
        webhook_port, status_port = free_port(), free_port()
        certs = self.state / "manager" / "certs"
        self.spawn("manager", [
            "manager", "--kubeconfig", str(self.kubeconfig), "--enableBehaviorModeling",
            "--cert-dir", str(certs), "--apm-dir", str(self.state / "manager" / "apm"),
            "--host", "127.0.0.1", "--address", "127.0.0.1",
            "--webhook-port", str(webhook_port), "--status-port", str(status_port)],
            env={"POD_NAME": "varmor-manager-local", "POD_NAMESPACE": "varmor"})
        self.wait("the manager's webhook registration", self.registered, timeout=90)
        token = self.state / "agents" / "bound-token"
        token.parent.mkdir(parents=True, exist_ok=True)
        token.write_text(self.kubectl("create", "token", "varmor-agent", "-n", "varmor", "--audience",
                                      "varmor-manager", "--duration", "24h").strip())
        for node in NODES:
            home = self.state / "agents" / node
            self.spawn(f"agent-{node}", [
                "agent", "--kubeconfig", str(self.kubeconfig), "--nodeName", node, "--namespace", "varmor",
                "--enableBehaviorModeling", "--containerdSocket", str(self.state / "containerd" / "ctd.sock"),
                "--seccompRoot", str(self.state / "seccomp"), "--apparmorDir", str(home / "aa"),
                "--stateDir", str(home), "--tokenPath", str(token),
                "--statusService", f"https://127.0.0.1:{status_port}", "--readinessPort", str(free_port())])
        self.wait("the leader", lambda: "leader" in self.kubectl(
            "get", "pod", "varmor-manager-local", "-n", "varmor", "--show-labels"), timeout=60)

    def registered(self) -> bool:
        """The leader registered its webhook configurations with its CA (out of cluster: ``-debug``)."""
        suffix = "" if self.pods_install else "-debug"
        found = self.json("get", "mutatingwebhookconfigurations",
                          f"varmor-resource-mutating-webhook-cfg{suffix}")
        names = self.kubectl("get", "validatingwebhookconfigurations", "-o", "name")
        ca_bundle = ((found.get("webhooks") or [{}])[0].get("clientConfig") or {}).get("caBundle")
        return bool(ca_bundle) and "varmor-policy-validating" in names

    # ---- the guide
    def policy_status(self) -> dict[str, Any]:
        return dict(self.json("get", "vcpol", "demo-4").get("status") or {})

    def rolled(self, namespace: str) -> list[str] | None:
        pods = self.json("get", "pods", "-n", namespace, "-l", "app=demo-4")["items"]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        wired = [p for p in live if PROFILE in json.dumps(p["metadata"].get("annotations") or {})
                 and p.get("status", {}).get("phase") == "Running"]
        return [p["metadata"]["name"] for p in wired] if len(wired) == len(live) == 2 else None

    def running(self, namespace: str) -> bool:
        pods = self.json("get", "pods", "-n", namespace, "-l", "app=demo-4")["items"]
        return len(pods) == 2 and all(p.get("status", {}).get("phase") == "Running" for p in pods)

    def show(self, text: str) -> None:
        for line in text.rstrip("\n").splitlines():
            self.out(f"    {line}")

    def play(self) -> None:
        self.step("1. Deploy the target workloads (kubectl create -f -)", self.deploy)
        self.step("2. Create the BehaviorModeling policy", lambda: self.show(
            self.kubectl("create", "-f", "-", stdin=POLICY)))
        self.step("3. Check the status: kubectl get vcpol demo-4", self.check_modeling)
        self.step("3. The workloads roll: kubectl get Pods -A -l app=demo-4", self.rollout)
        self.step("4. Simulate behaviour (kubectl exec)", self.behave)
        self.step("5. Stop modeling (kubectl patch ... duration 1) and wait for Completed", self.complete)
        self.step("6. Read the result", self.result)

    def deploy(self) -> None:
        self.kubectl("create", "namespace", "demo")
        self.show(self.kubectl("create", "-f", "-", stdin=DEFAULT_DEPLOYMENT))
        self.show(self.kubectl("create", "-f", "-", stdin=DEMO_DEPLOYMENT))
        for namespace in ("default", "demo"):
            running = functools.partial(self.running, namespace)
            self.wait(f"demo-4 pods Running in {namespace}", running, timeout=300)

    def modeling(self) -> bool:
        status = self.policy_status()
        return status.get("ready") is True and status.get("phase") == "Modeling"

    def check_modeling(self) -> None:
        self.wait("READY true and STATUS Modeling", self.modeling, timeout=60)
        self.show(self.kubectl("get", "vcpol", "demo-4"))

    def rollout(self) -> None:
        self.show(self.kubectl("get", "Pods", "-A", "-l", "app=demo-4"))
        self.pods = {ns: self.wait(f"the rollout in {ns}", functools.partial(self.rolled, ns), timeout=300)
                     for ns in ("default", "demo")}
        self.show(self.kubectl("get", "Pods", "-A", "-l", "app=demo-4"))

    def recorded(self, namespace: str, pod: str, container: str) -> bool:
        """An agent said it records the container (an Event, reason Recording)."""
        events = self.json("get", "events", "-n", namespace)["items"]
        field = f"spec.containers{{{container}}}"
        return any(e.get("reason") == "Recording" and e["involvedObject"].get("name") == pod
                   and e["involvedObject"].get("fieldPath") == field for e in events)

    def behave(self) -> None:
        default, demo = self.pods["default"][0], self.pods["demo"][1]
        for namespace, pod, container in (("default", default, "c0"), ("demo", demo, "c1")):
            recorded = functools.partial(self.recorded, namespace, pod, container)
            self.wait(f"the agent to record {pod}/{container}", recorded, timeout=180)
        commands = [
            ("default", default, "c0", ["cat", "/etc/shadow"]),
            ("default", default, "c0", ["bash", "-c", "unshare -Un id"]),
            ("demo", demo, "c0", ["sh", "-c", f"echo {demo}/c0 > /root/c0"]),
            ("demo", demo, "c0", ["cat", "/root/c0"]),
            ("demo", demo, "c1", ["bash", "-c", f"echo {demo}/c1 > /root/c1"]),
            ("demo", demo, "c1", ["cat", "/root/c1"]),
        ]
        for namespace, pod, container, command in commands:
            self.out(f"    $ kubectl exec -n {namespace} {pod} -c {container} -it -- {shlex.join(command)}")
            self.show(self.on_tty("exec", "-n", namespace, pod, "-c", container, "-it", "--", *command))

    def complete(self) -> None:
        self.show(self.kubectl("patch", "vcpol", "demo-4", "--type=json", f"-p={DURATION_PATCH}"))
        self.wait("STATUS Completed", lambda: self.policy_status().get("phase") == "Completed", timeout=240)
        self.show(self.kubectl("get", "vcpol", "demo-4"))

    def result(self) -> None:
        profile_name = self.kubectl("get", "vcpol", "demo-4", "-o", "jsonpath={.status.profileName}")
        self.out(f"    profile_name={profile_name}")
        content = self.kubectl("get", "ArmorProfileModel", "-n", "varmor", profile_name, "-o",
                               "jsonpath={.data.profile.content}")
        self.out("    $ kubectl get ArmorProfileModel -n varmor $profile_name"
                 " -o jsonpath='{.data.profile.content}' | base64 -d")
        self.show(base64.b64decode(content).decode())
        seccomp = self.kubectl("get", "ArmorProfileModel", "-n", "varmor", profile_name, "-o",
                               "jsonpath={.data.profile.seccompContent}")
        self.out("    $ kubectl get ArmorProfileModel -n varmor $profile_name"
                 " -o jsonpath='{.data.profile.seccompContent}' | base64 -d | jq")
        text = base64.b64decode(seccomp).decode()
        self.show(json.dumps(json.loads(text), indent=2) if text else "(empty: no syscall was recorded)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=pathlib.Path, default=None,
                        help="state directory of the demo's cluster (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="leave the cluster and varmor-py running")
    parser.add_argument("--host-processes", action="store_true",
                        help="run the manager and the agents as processes on this machine instead of "
                        "installing varmor-py from the chart as pods (localcluster up --install-varmor)")


def run(args: argparse.Namespace) -> int:
    if os.geteuid() != 0:
        print("error: the demo runs pods on containerd and the eBPF tracer: run it as root")
        return 2
    state = args.dir or pathlib.Path(tempfile.mkdtemp(prefix="varmor-demo-"))
    guide = Guide(state, pods=not args.host_processes)
    code = 0
    try:
        if guide.pods_install:
            guide.step("Start the local cluster (2 nodes on containerd) and install varmor-py from the chart",
                       guide.up)
            guide.step("varmor-py runs as pods: the manager and an agent per node are Ready", guide.installed)
        else:
            guide.step("Start the local cluster (2 nodes on containerd)", guide.up)
            guide.step("Install varmor-py (the manager, an agent per node, modeling on)", guide.install)
        guide.play()
        print(f"The guide ran in {time.monotonic() - guide.started:.0f}s.")
    except DemoError as error:
        print(f"error: {error} (logs: {guide.logs})")
        code = 1
    finally:
        if args.keep and code == 0:
            print(f"The cluster is up: export KUBECONFIG={guide.kubeconfig}; "
                  f"stop it with: app.py localcluster down --dir {state}")
        else:
            guide.down()
            if args.dir is None and code == 0:
                shutil.rmtree(state, ignore_errors=True)
    return code
