"""The status service under 1,000 nodes each reporting one model (DESIGN §4, issue 11).

Runs the local cluster (``app.py localcluster up --detach``) and the real ``python app.py manager``
(``--agents 1000``), creates two one-minute BehaviorModeling VarmorClusterPolicies, waits until
their windows have closed, then measures two runs of 1,000 simulated nodes POSTing
``/apis/v1/data`` (a small model each: shared library paths, one file of their own, a few syscalls):

- **as the product sends them** (the target row): every node sends once, at the window's end plus
  its own slot from ``agent.pacing`` (the agent's function, default rate), on a fresh TLS connection
  with its own ServiceAccount token of audience ``varmor-manager`` (as ``agent.reporting`` does: one
  report per window, so no kept-alive connection), open-loop (a sender never waits for another's
  answer: every report gets its own thread at its time, in four client processes). Baseline in the
  same run: ``GET /healthz`` on the same schedule, also one fresh TLS connection each;
- **load reports at once** (no target claimed): every node POSTs ``/apis/v1/status`` for the first
  policy's profile at the same moment, as agents do when a profile appears (fresh TLS connection and
  own token each); then the ArmorProfile's status must list every node;
- **capacity** (no target claimed): the same 1,000 reports to the second policy, closed-loop over
  32 kept-alive TLS connections with one token, as fast as the machine answers, and its ``/healthz``
  baseline over the same clients.

Measured: every report accepted, report latency (each answered only once stored; for a fresh
connection including its TCP and TLS handshakes), the delay from the last answer to the policy's
``Completed``, and the CPU time each process spent per report (where the cost is). Targets (first
row): p99 <= 100 ms, ``Completed`` <= 2 s after the last report.
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import urllib3
from kubernetes import client, config

from agent import pacing
from bench import statusload
from bench.statusload import Outcome, Request

ROOT = pathlib.Path(__file__).resolve().parents[1]
NODES, CLIENTS, HEALTH_CHECKS = 1000, 32, 1000
POLICIES = ("bench", "bench-capacity")  # paced reports, closed-loop capacity probe
LEAD = 2.0  # seconds from scheduling to the simulated window end (the client processes start)
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def _profile(policy: str) -> str:
    return f"varmor-cluster-varmor-{policy}"


def _body(node: int, profile: str) -> bytes:
    files: list[dict[str, Any]] = [{"path": f"/usr/lib/x86_64-linux-gnu/lib{i}.so", "permissions": ["m", "r"]}
                                   for i in range(5)]
    files.append({"path": f"/var/cache/node-{node}/state", "owner": True, "permissions": ["r", "w"]})
    return json.dumps({"namespace": "varmor", "armorProfile": profile, "nodeName": _node(node),
                       "status": "succeeded", "message": "", "dynamicResult": {
                           "apparmor": {"profiles": [profile], "executions": ["/usr/bin/id"], "files": files},
                           "seccomp": {"syscalls": ["read", "write", "unshare"]}}}).encode()


def _status_body(node: int, policy: str) -> bytes:
    return json.dumps({"namespace": "varmor", "armorProfile": _profile(policy), "nodeName": _node(node),
                       "status": "succeeded", "message": ""}).encode()


def _span(outcome: Outcome) -> float:
    """Seconds from the first request sent to the last answer."""
    ends = [at + ms / 1000 for at, ms in zip(outcome.starts, outcome.latencies, strict=True)]
    return max(ends) - min(outcome.starts)


def _loaded(custom: Any, policy: str) -> int:
    profile = custom.get_namespaced_custom_object("crd.varmor.org", "v1beta1", "varmor", "armorprofiles",
                                                  _profile(policy))
    return len((profile.get("status") or {}).get("loadedNodes") or [])


def _node(node: int) -> str:
    return f"node-{node:04d}"


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children.get(child, [])
    return found


def _status_pids(pids: list[int], port: int) -> set[int]:
    """The processes holding the status service's listening socket (its gunicorn arbiter and worker)."""
    inodes = set()
    for line in pathlib.Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if int(parts[1].split(":")[1], 16) == port and parts[3] == "0A":
            inodes.add(f"socket:[{parts[9]}]")
    holders = set()
    for pid in pids:
        try:
            if any(os.readlink(fd) in inodes for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir()):
                holders.add(pid)
        except OSError:
            continue
    return holders


def _cpu_by_part(manager: int, state: pathlib.Path, port: int) -> dict[str, float]:
    """CPU seconds so far of the benchmark's clients, the status service, the rest of the manager
    (controllers, webhook) and the local cluster's API server."""
    tree = _descendants(manager)
    status = _status_pids(tree, port)
    cluster = int((state / "cluster" / "pid").read_text())
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"clients": children.ru_utime + children.ru_stime,
            "status service": sum(_cpu_of(p) for p in status),
            "manager (controllers, webhook)": sum(_cpu_of(p) for p in [manager, *tree] if p not in status),
            "local cluster API server": _cpu_of(cluster)}


def _apis(kubeconfig: pathlib.Path) -> tuple[Any, Any]:
    configuration = client.Configuration()
    loader: Any = config
    loader.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    api = client.ApiClient(configuration)
    return client.CoreV1Api(api), client.CustomObjectsApi(api)


def _phase(custom: Any, policy: str) -> str:
    obj = custom.get_cluster_custom_object("crd.varmor.org", "v1beta1", "varmorclusterpolicies", policy)
    return str((obj.get("status") or {}).get("phase") or "")


def _wait(probe: Any, timeout: float, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s")


def _prepare(core: Any, custom: Any) -> list[str]:
    """The namespace, the agents' ServiceAccount, both policies; one token per simulated node."""
    core.create_namespace({"metadata": {"name": "varmor"}})
    core.create_namespaced_service_account("varmor", {"metadata": {"name": "varmor-agent"}})
    for policy in POLICIES:
        custom.create_cluster_custom_object("crd.varmor.org", "v1beta1", "varmorclusterpolicies", {
            "apiVersion": "crd.varmor.org/v1beta1", "kind": "VarmorClusterPolicy",
            "metadata": {"name": policy},
            "spec": {"target": {"kind": "Deployment", "name": "web"},
                     "policy": {"enforcer": "AppArmorSeccomp", "mode": "BehaviorModeling",
                                "modelingOptions": {"duration": 1}}}})

    def token(_node: int) -> str:
        answer = core.create_namespaced_service_account_token(
            "varmor-agent", "varmor", {"spec": {"audiences": ["varmor-manager"]}})
        return str(answer.status.token)

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(token, range(NODES)))


def _start_manager(state: pathlib.Path, kubeconfig: pathlib.Path, port: int) -> subprocess.Popen[bytes]:
    log = (state / "manager.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "app.py", "--log-level", "WARNING", "manager", "--kubeconfig", str(kubeconfig),
         "--enableBehaviorModeling",
         "--cert-dir", str(state / "certs"), "--apm-dir", str(state / "apm"), "--host", "127.0.0.1",
         "--webhook-port", str(_port()), "--status-port", str(port), "--agents", str(NODES),
         "--lease-duration", "4", "--renew-deadline", "3", "--retry-period", "1"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "POD_NAMESPACE": "varmor"})


def _windows_closed(custom: Any) -> str:
    """Waits until both policies' windows have ended; returns the paced policy's window uid."""
    _wait(lambda: all(_phase(custom, policy) == "Pending" for policy in POLICIES), 60)
    ends, uid = [], ""
    for policy in POLICIES:
        profile = custom.get_namespaced_custom_object("crd.varmor.org", "v1beta1", "varmor", "armorprofiles",
                                                      _profile(policy))
        stamp = profile["metadata"]["creationTimestamp"]
        ends.append(time.mktime(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime()) + 62)
        uid = uid or str(profile["metadata"]["uid"])
    time.sleep(max(0.0, *ends))
    return uid


class Run:
    """One measured load: its outcome, its wall time and the CPU each process spent on it."""

    def __init__(self, manager: int, state: pathlib.Path, port: int) -> None:
        self.manager, self.state, self.port, self.runs = manager, state, port, 0

    def __call__(self, load: Any, requests_: list[Request]) -> tuple[Outcome, float, dict[str, float]]:
        spies = self._spies()
        before = _cpu_by_part(self.manager, self.state, self.port)
        started = time.perf_counter()
        outcome = load(self.port, requests_)
        seconds = time.perf_counter() - started
        after = _cpu_by_part(self.manager, self.state, self.port)
        for spy in spies:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        return outcome, seconds, {k: v - before.get(k, 0.0) for k, v in after.items()}

    def _spies(self) -> list[subprocess.Popen[bytes]]:
        """With ``BENCH_STATUS_PYSPY=DIR``: py-spy samples the manager's and the API server's process
        trees while the load runs (raw stacks in DIR, for finding where a report's CPU goes)."""
        directory = os.environ.get("BENCH_STATUS_PYSPY")
        if not directory:
            return []
        self.runs += 1
        cluster = int((self.state / "cluster" / "pid").read_text())
        spy = str(pathlib.Path(sys.executable).parent / "py-spy")
        return [subprocess.Popen([spy, "record", "--nonblocking", "--subprocesses", "-r", "200", "-f", "raw",
                                  "-p", str(pid), "-o", f"{directory}/run{self.runs}-{name}.txt"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for name, pid in (("manager", self.manager), ("apiserver", cluster))]


def _schedule(method: str, path: str, bodies: list[bytes], tokens: list[str], uid: str) -> list[Request]:
    """Each node's request at the simulated window end plus its slot (``agent.pacing``)."""
    end = time.time() + LEAD
    return [Request(pacing.report_at(end, uid, NODES, _node(i)), method, path, body, tokens[i])
            for i, body in enumerate(bodies)]


def _measure(state: pathlib.Path, kubeconfig: pathlib.Path) -> str:
    core, custom = _apis(kubeconfig)
    tokens = _prepare(core, custom)
    port = _port()
    manager = _start_manager(state, kubeconfig, port)
    try:
        _wait(lambda: _healthy(f"https://127.0.0.1:{port}") or manager.poll() is not None, 90, 0.5)
        if manager.poll() is not None:
            raise RuntimeError(f"the manager exited: {(state / 'manager.log').read_text()[-2000:]}")
        uid = _windows_closed(custom)
        results, completed = _runs(Run(manager.pid, state, port), custom, tokens, uid)
        loaded = _loaded(custom, POLICIES[0])
    finally:
        manager.terminate()
        manager.wait(timeout=30)
    return _section(results, completed, loaded)


def _runs(run: Run, custom: Any, tokens: list[str], uid: str) -> tuple[Results, float]:
    """The paced run (and its baseline), then the closed-loop capacity run (and its baseline)."""
    paced, report = statusload.paced, "/apis/v1/data"
    results = {"paced health": run(paced, _schedule("GET", "/healthz", [b""] * NODES, tokens, uid))}
    bodies = [_body(i, _profile(POLICIES[0])) for i in range(NODES)]
    results["paced"] = run(paced, _schedule("POST", report, bodies, tokens, uid))
    last = time.perf_counter()
    _wait(lambda: _phase(custom, POLICIES[0]) == "Completed", 120)
    completed = time.perf_counter() - last
    at = time.time() + LEAD  # every agent reports a profile loaded as soon as it appears: no pacing
    results["at once"] = run(paced, [Request(at, "POST", "/apis/v1/status", _status_body(i, POLICIES[0]),
                                             tokens[i]) for i in range(NODES)])

    def closed(port: int, requests_: list[Request]) -> Outcome:
        return statusload.closed_loop(port, requests_, CLIENTS)

    one = tokens[0]
    results["closed health"] = run(closed, [Request(0, "GET", "/healthz", b"", one)] * HEALTH_CHECKS)
    results["closed"] = run(closed, [Request(0, "POST", report, _body(i, _profile(POLICIES[1])), one)
                                     for i in range(NODES)])
    _wait(lambda: _phase(custom, POLICIES[1]) == "Completed", 120)
    return results, completed


def _healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", verify=False, timeout=2).status_code == 200
    except requests.RequestException:
        return False


Results = dict[str, tuple[Outcome, float, dict[str, float]]]


def _row(name: str, outcome: Outcome, baseline: Outcome) -> str:
    ms = outcome.latencies
    return (f"| {name} | {len(ms) - outcome.failures} / {len(ms)} | {_pct(ms, 0.5):.1f} | "
            f"{_pct(ms, 0.99):.1f} | {max(ms):.1f} | {_pct(ms, 0.99) / _pct(baseline.latencies, 0.99):.2f} |")


def _section(results: Results, completed: float, loaded: int) -> str:
    paced, seconds, _ = results["paced"]
    p99 = _pct(paced.latencies, 0.99)
    spread = pacing.spread(NODES)
    rows = [
        "| requests | answered 200 | p50 ms | p99 ms | max ms | × its baseline's p99 |",
        "|---|---:|---:|---:|---:|---:|",
        "| **as agents send them** (paced, fresh TLS connection each, open loop) | | | | | |",
        _row("`GET /healthz` (baseline)", results["paced health"][0], results["paced health"][0]),
        _row("`POST /apis/v1/data`", paced, results["paced health"][0]),
        "| **load reports, all at once** (as agents send them when a profile appears; fresh TLS "
        "connection each; no target) | | | | | |",
        _row("`POST /apis/v1/status`", results["at once"][0], results["paced health"][0]),
        f"| **capacity** ({CLIENTS} kept-alive connections, closed loop, one token; no target) | | | | | |",
        _row("`GET /healthz` (baseline)", results["closed health"][0], results["closed health"][0]),
        _row("`POST /apis/v1/data`", results["closed"][0], results["closed health"][0]),
    ]
    closed, closed_seconds, _ = results["closed"]
    return "\n".join([
        "## Status service: 1,000 nodes report one model each",
        "",
        f"Real manager on the local cluster (`--agents {NODES}`). Paced run: each simulated node sends its "
        f"report once at the window's end plus its slot from `agent.pacing` (the agent's own function, "
        f"{pacing.DEFAULT_REPORT_RATE:.0f} reports/s: slots spread over {spread:.0f} s), on a fresh TLS "
        "connection with its own ServiceAccount token (a TokenReview each), open loop (a thread per report "
        f"in {statusload.PROCESSES} client processes; the latest sender started {paced.lag:.1f} ms after "
        "its time). Each report is answered only once the model holding it is stored.",
        "",
        *rows,
        "",
        f"Paced: {len(paced.latencies) - paced.failures} of {NODES} "
        f"accepted in {seconds:.1f} s; p99 target ≤ 100 ms: {'met' if p99 <= 100 else 'not met'}. "
        f"`Completed` {completed:.2f} s after the last answer (target ≤ 2 s: "
        f"{'met' if completed <= 2 else 'not met'}). Capacity run: "
        f"{len(closed.latencies) / closed_seconds:.0f} reports/s "
        f"({len(closed.latencies) - closed.failures} of {len(closed.latencies)} accepted). "
        f"Load reports: {NODES} sent at the same moment, the last answered "
        f"{_span(results['at once'][0]):.1f} s after the first was sent; the ArmorProfile's status then "
        f"lists {loaded} of {NODES} nodes loaded (reports for one profile share a status write). "
        f"Load average after the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.",
        "",
        _slices(paced),
        "",
        "Where the CPU went (CPU time of each process while the requests ran, per request; every process "
        "of the run shares the same cores):",
        "",
        *_costs(results),
        "",
        _bound(results),
    ])


def _slices(paced: Outcome) -> str:
    """Paced report latency by fifth of the spread: the model, rewritten per group, grows as nodes report."""
    first, last = min(paced.starts), max(paced.starts)
    width = (last - first) / 5 or 1.0
    parts = []
    for k in range(5):
        ms = [m for at, m in zip(paced.starts, paced.latencies, strict=True)
              if k * width <= at - first < (k + 1) * width or (k == 4 and at == last)]
        if ms:
            parts.append(f"{k * 20}–{(k + 1) * 20} %: p50 {_pct(ms, 0.5):.0f} / p99 {_pct(ms, 0.99):.0f} ms")
    head = "Paced report latency by fifth of the spread (the model grows as nodes report): "
    return head + "; ".join(parts) + "."


def _costs(results: Results) -> list[str]:
    columns = ("paced health", "paced", "closed health", "closed")
    parts = list(results["paced"][2])
    lines = ["| process | paced `/healthz` | paced report | closed-loop `/healthz` | closed-loop report |",
             "|---|---:|---:|---:|---:|"]
    for part in parts:
        cells = [results[c][2].get(part, 0.0) * 1000 / len(results[c][0].latencies) for c in columns]
        lines.append(f"| {part} | " + " | ".join(f"{cell:.2f}" for cell in cells) + " |")
    totals = [sum(results[c][2].values()) * 1000 / len(results[c][0].latencies) for c in columns]
    lines.append("| **all** | " + " | ".join(f"{total:.2f}" for total in totals) + " |")
    return lines


def _bound(results: Results) -> str:
    """What the CPU per report allows on this machine at best."""
    cpus = os.cpu_count() or 1
    paced = sum(results["paced"][2].values()) * 1000 / NODES
    closed = sum(results["closed"][2].values()) * 1000 / NODES
    return (f"All processes together spent {paced:.2f} ms CPU per paced report, i.e. "
            f"{paced * pacing.DEFAULT_REPORT_RATE / 10 / cpus:.0f} % of the {cpus} CPUs at "
            f"{pacing.DEFAULT_REPORT_RATE:.0f} reports/s; closed loop {closed:.2f} ms per report, so at best "
            f"{cpus * 1000 / closed:.0f} reports/s here, and with {CLIENTS} in flight each waits at least "
            f"{CLIENTS * closed / cpus:.0f} ms on average. {_remains(results)}")


def _remains(results: Results) -> str:
    """Where a paced report's cost beyond its connection goes."""
    def ms(run: str, part: str) -> float:
        return results[run][2].get(part, 0.0) * 1000 / len(results[run][0].latencies)

    service, api = "status service", "local cluster API server"
    return (f"Of the status service's {ms('paced', service):.2f} ms per paced report, the fresh TLS "
            f"connection and the HTTP handling are about the paced `/healthz`'s "
            f"{ms('paced health', service):.2f} ms; the rest is the report's TokenReview and its share of "
            f"the grouped model writes, which the API server pays too ({ms('paced', api):.2f} ms per "
            "report): the model is written whole, in one write that also names the nodes counted, for every "
            "group of reports, and grows to 95 KB with 1,000 nodes of one own file each, so a write, and "
            "the latency, grows along the spread. The local cluster's API server freezes what its full "
            "garbage collections leave alive (`localcluster/pauses.py`): before, full collections walking "
            "the stored objects and the watch history stopped it for 60-120 ms several times during the run.")


def main() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-status-") as directory:
        state = pathlib.Path(directory)
        subprocess.run([sys.executable, "app.py", "localcluster", "up", "--dir", str(state / "cluster"),
                        "--nodes", "1", "--node-simulator", "status-only", "--detach"],
                       cwd=ROOT, check=True, capture_output=True, timeout=120)
        try:
            return _measure(state, state / "cluster" / "kubeconfig")
        finally:
            down = [sys.executable, "app.py", "localcluster", "down", "--dir", str(state / "cluster")]
            subprocess.run(down, cwd=ROOT, check=False, capture_output=True, timeout=120)


if __name__ == "__main__":
    print(main())
