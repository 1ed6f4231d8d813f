"""Collect ``real_path_components.tsv``: path components that real software made on this machine.

Every source runs real software (coreutils, Python, Node, npm, pip, git, sed, apt-key, a JVM) or
reads names that real software put on disk (dpkg file lists, /sys, /proc). Runs happen twice, in
two private roots; the roots are cut off so that paths read as the software wrote them
(``/root/.cache/pip/...``, ``/tmp/...``). ``LABELLING.md`` (next to this file) is the procedure;
in short, a component is *random* when a second run of the same software gives a different name
at that place, which the two runs show directly, plus the content-addressed layouts that each
tool documents. Nothing here imports or mirrors the classifier.

Run as root: ``.venv/bin/python tests/generator/data/collect_path_components.py``. The TSV is
committed; its held-out part is fixed by a hash of the component, before any tuning.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "real_path_components.tsv"
Tree = dict[str, "Tree"]
ORIGIN = "\0"  # key of the real path of a tree node (first run that made it)
Row = tuple[str, str, str]  # label, source, path
_STRACED = re.compile(r'"(/[^"]*)"')
PIP = [sys.executable, "-m", "pip"]


def _env(root: pathlib.Path) -> dict[str, str]:
    for sub in ("tmp", "root", "work"):
        (root / sub).mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(root / "tmp"), "HOME": str(root / "root"),
            "npm_config_cache": str(root / "root" / ".npm"), "PIP_CACHE_DIR": str(root / "root/.cache/pip")}


def _run(argv: list[str], root: pathlib.Path, cwd: pathlib.Path | None = None) -> str:
    done = subprocess.run(argv, env=_env(root), cwd=cwd or root / "work", capture_output=True, text=True,
                          timeout=300, check=False)
    return done.stdout


def _straced(argv: list[str], root: pathlib.Path, cwd: pathlib.Path | None = None) -> list[str]:
    """Every path a traced program named in a file syscall, created-and-deleted temp names too."""
    log = root.parent / f"{root.name}.strace"
    _run(["strace", "-f", "-qq", "-s", "4096", "-e", "trace=%file", "-o", str(log), *argv], root, cwd)
    paths = _STRACED.findall(log.read_text(errors="replace"))
    log.unlink()
    return paths


def _walk(top: pathlib.Path) -> list[str]:
    return [os.path.join(d, n) for d, dirs, files in os.walk(top) for n in dirs + files]


# --- sources: each runs real software once in ``root`` and returns the absolute paths it made -----

def mktemp(root: pathlib.Path) -> list[str]:
    for args in ([], ["-d"], ["-t", "build.XXXXXXXX"], ["--suffix=.conf", "-t", "cfg.XXXXXX"],
                 ["-p", str(root / "work")]) * 6:
        _run(["mktemp", *args], root)
    return _walk(root)


def python_tempfile(root: pathlib.Path) -> list[str]:
    code = ("import tempfile\nfor _ in range(6):\n tempfile.mkstemp(); tempfile.mkdtemp(prefix='build-')\n"
            " tempfile.NamedTemporaryFile(prefix='upload-', suffix='.json', delete=False)\n"
            " tempfile.mkstemp(suffix='.tmp'); tempfile.mkdtemp(suffix='_work')\n")
    _run([sys.executable, "-c", code], root)
    code = "import multiprocessing as m\nif __name__=='__main__':\n with m.Pool(1) as p: p.map(abs,[1])\n"
    return _walk(root) + _straced([sys.executable, "-c", code], root)


def node_mkdtemp(root: pathlib.Path) -> list[str]:
    code = ("const fs=require('fs'),os=require('os'),p=require('path');for(let i=0;i<6;i++){"
            "for(const x of ['jest-','npm-','vite-','node-gyp-'])fs.mkdtempSync(p.join(os.tmpdir(),x));}")
    _run(["node", "-e", code], root)
    return _walk(root)


def sed_in_place(root: pathlib.Path) -> list[str]:
    target = root / "work" / "nginx.conf"
    target.write_text("listen 80;\n")
    paths: list[str] = []
    for _ in range(8):
        paths += _straced(["sed", "-i", "s/80/8080/", str(target)], root)
    return paths


def apt_key(root: pathlib.Path) -> list[str]:
    return _straced(["apt-key", "list"], root)


def java(root: pathlib.Path) -> list[str]:
    return _straced(["java", "-Xshare:auto", "-version"], root)


def git(root: pathlib.Path) -> list[str]:
    repo = root / "work" / "repo"
    repo.mkdir()
    _run(["git", "init", "-q", "-b", "main"], root, repo)
    for n in range(4):
        (repo / "src").mkdir(exist_ok=True)
        (repo / "src" / "main.py").write_text(f"print({time.time_ns()}, {n})\n")
        (repo / "README.md").write_text(f"run {root.name} step {n}\n")
        _run(["git", "add", "-A"], root, repo)
        commit = ["git", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", f"step {n}"]
        _run(commit, root, repo)
    paths = _walk(repo)
    _run(["git", "gc", "-q"], root, repo)
    return paths + _walk(repo)


def pip(root: pathlib.Path) -> list[str]:
    argv = [*PIP, "install", "--no-deps", "--no-compile", "--target", str(root / "work" / "site"),
            "--index-url", "https://pypi.org/simple", "--no-binary", "six", "six==1.16.0", "idna==3.7"]
    return _straced(argv, root) + _walk(root)


def npm(root: pathlib.Path) -> list[str]:
    app = root / "work" / "app"
    app.mkdir()
    _run(["npm", "init", "-y"], root, app)
    paths = _straced(["npm", "install", "--no-audit", "--no-fund", "is-number@7.0.0", "ms@2.1.3"], root, app)
    return paths + _walk(root)


def python_runtime(root: pathlib.Path) -> list[str]:
    pkg = root / "work" / "app" / "service"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "handlers.py").write_text("X = 1\n")
    _run([sys.executable, "-m", "compileall", "-q", str(root / "work" / "app")], root)
    code = ("import logging as g,logging.handlers as h,time\n"
            "r=h.RotatingFileHandler('app.log',maxBytes=40,backupCount=3)\n"
            "t=h.TimedRotatingFileHandler('access.log',when='S',backupCount=5)\n"
            "for i in range(6):\n for x in (r,t): x.emit(g.makeLogRecord({'msg':'m'*30}))\n"
            " time.sleep(1.05)\n")
    _run([sys.executable, "-c", code], root)
    return _walk(root) + _straced([sys.executable, "-c", "import json, ssl, email.parser, sqlite3"], root)


def savelog(root: pathlib.Path) -> list[str]:
    for n in range(3):
        (root / "work" / "app.log").write_text(f"line {n}\n")
        _run(["savelog", "-q", "-c", "4", "app.log"], root)
        (root / "work" / "access.log").write_text(f"line {n}\n")
        _run(["savelog", "-q", "-d", "-c", "4", "access.log"], root)
        time.sleep(1.1)
    return _walk(root)


def gcc_cmake(root: pathlib.Path) -> list[str]:
    src = root / "work" / "proj"
    src.mkdir()
    (src / "main.c").write_text("int main(void) { return 0; }\n")
    (src / "CMakeLists.txt").write_text("cmake_minimum_required(VERSION 3.13)\nproject(demo C)\n"
                                        "add_executable(demo main.c)\n")
    paths = _straced(["gcc", "-O2", "-o", str(src / "demo"), str(src / "main.c")], root)
    paths += _straced(["cmake", "-S", str(src), "-B", str(src / "build")], root)
    _run(["make", "-s", "-C", str(src / "build")], root)
    return paths + _walk(src)


def ssh_gpg(root: pathlib.Path) -> list[str]:
    paths: list[str] = []
    for _ in range(4):
        out = _run(["ssh-agent", "-s"], root)
        sockets = re.findall(r"SSH_AUTH_SOCK=([^;]+);", out)
        paths += sockets
        for pid in re.findall(r"SSH_AGENT_PID=(\d+);", out):
            os.kill(int(pid), 15)  # the agent this run started
        time.sleep(0.2)
        for sock in sockets:  # an agent killed early can leave its socket directory behind
            shutil.rmtree(os.path.dirname(sock), ignore_errors=True)
    home = root / "root" / ".gnupg"
    home.mkdir(mode=0o700)
    for user in ("alice", "bob"):
        _run(["gpg", "--homedir", str(home), "--batch", "--passphrase", "", "--quick-gen-key",
              f"{user} <{user}@example.org>", "ed25519", "default", "never"], root)
    _run(["gpgconf", "--homedir", str(home), "--kill", "all"], root)
    return paths + _walk(root)


def node_reports(root: pathlib.Path) -> list[str]:
    code = "let x=0;for(let i=0;i<1e6;i++)x+=i;process.report.writeReport();"
    for flag in ("--cpu-prof", "--heap-prof"):
        _run(["node", flag, "-e", code], root)
    return _walk(root)


def pytest_runs(root: pathlib.Path) -> list[str]:
    """pytest numbers its base temp per run (``pytest-<n>``): both runs share one temp dir."""
    shared = root.parent / "pytest-shared-tmp"
    shared.mkdir(exist_ok=True)
    tests = root / "work" / "tests"
    tests.mkdir()
    (tests / "test_export.py").write_text(
        "def test_writes_a_report(tmp_path):\n    (tmp_path / 'report.csv').write_text('a')\n\n"
        "def test_writes_a_cache(tmp_path_factory):\n    tmp_path_factory.mktemp('cache')\n")
    env = {**_env(root), "TMPDIR": str(shared)}
    started = time.time()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)], env=env,
                   cwd=tests, capture_output=True, timeout=300, check=False)
    made = [p for p in _walk(shared) if os.lstat(p).st_mtime >= started]  # what this run (re)made
    return [p.replace(str(shared), "/tmp", 1) for p in made] + _walk(root)


def esbuild(root: pathlib.Path) -> list[str]:
    app = root / "work" / "web"
    (app / "src").mkdir(parents=True)
    _run(["npm", "init", "-y"], root, app)
    _run(["npm", "install", "--no-audit", "--no-fund", "esbuild@0.24.0"], root, app)
    stamp = time.time_ns()
    shared = "import {shared} from './shared.js';"
    (app / "src" / "index.js").write_text(f"export const t={stamp};import('./admin.js');import('./chart.js')")
    (app / "src" / "admin.js").write_text(f"{shared}export default shared+{stamp};\n")
    (app / "src" / "chart.js").write_text(f"{shared}export const c=shared*{stamp};\n")
    (app / "src" / "shared.js").write_text(f"export const shared={stamp % 97};\n")
    (app / "src" / "site.css").write_text(f".a{{width:{stamp % 89}px}}\n")
    _run(["node_modules/.bin/esbuild", "src/index.js", "src/site.css", "--bundle", "--splitting",
          "--format=esm", "--outdir=dist", "--entry-names=[name]-[hash]", "--sourcemap"], root, app)
    return [p for p in _walk(app) if "/node_modules/" not in p]


CONTAINERD_CONFIG = """version = 2
root = "{root}/var/lib/containerd"
state = "{root}/run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{root}/run/containerd/containerd.sock"
"""


def _oci_image(path: pathlib.Path, stamp: str) -> None:
    """A one-layer OCI image archive, as ``ctr images export`` would write it."""
    import hashlib
    import io
    import json
    import tarfile

    def blob(tar: tarfile.TarFile, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        info = tarfile.TarInfo(f"blobs/sha256/{digest}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        return digest

    layer_io = io.BytesIO()
    with tarfile.open(fileobj=layer_io, mode="w") as layer:
        for name, text in (("etc/app.conf", stamp), ("bin/app", "#!/bin/sh\n"), ("srv/www/index.html", "hi")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            layer.addfile(info, io.BytesIO(text.encode()))
    layer_bytes = layer_io.getvalue()
    diff_id = hashlib.sha256(layer_bytes).hexdigest()
    with tarfile.open(path, "w") as tar:
        layer_digest = blob(tar, layer_bytes)
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/app"]},
                             "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]}}).encode()
        config_digest = blob(tar, config)
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": f"sha256:{config_digest}", "size": len(config)},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                           "digest": f"sha256:{layer_digest}",
                                           "size": len(layer_bytes)}]}).encode()
        manifest_digest = blob(tar, manifest)
        index = json.dumps({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{manifest_digest}",
            "size": len(manifest), "annotations": {"io.containerd.image.name": "example.org/app:1.0",
                                                   "org.opencontainers.image.ref.name": "1.0"}}]}).encode()
        for name, data in (("index.json", index), ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def containerd(root: pathlib.Path) -> list[str]:
    (root / "run" / "containerd").mkdir(parents=True)
    config = root / "containerd.toml"
    config.write_text(CONTAINERD_CONFIG.format(root=root))
    daemon = subprocess.Popen(["containerd", "-c", str(config)], env=_env(root), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    sock = root / "run" / "containerd" / "containerd.sock"
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.1)
        image = root / "work" / "app.tar"
        paths: list[str] = []
        for n in range(2):
            _oci_image(image, f"{root.name} {n} {time.time_ns()}")
            ctr = ["ctr", "-a", str(sock), "-n", "k8s.io"]
            paths += _straced([*ctr, "images", "import", "--all-platforms", str(image)], root)
        paths += _walk(root / "var") + _walk(root / "run")
    finally:
        daemon.terminate()  # the daemon this run started
        daemon.wait(timeout=30)
    return paths


def proc_self(root: pathlib.Path) -> list[str]:
    code = ("import os\nfor d in ('task','fd','ns','fdinfo','attr'):\n for n in os.listdir('/proc/self/'+d):"
            "\n  print(os.path.realpath('/proc/self')+'/'+d+'/'+n)\n"
            "print(*(os.path.realpath('/proc/self')+'/'+n for n in os.listdir('/proc/self')), sep='\\n')")
    return _run([sys.executable, "-c", code], root).split()


def sysfs(root: pathlib.Path) -> list[str]:
    names: list[str] = []
    for top in ("/sys/class", "/sys/devices/virtual", "/sys/bus", "/sys/kernel/mm", "/sys/module"):
        for d, dirs, files in os.walk(top):
            if d.count("/") > 5:
                dirs[:] = []
            names += [os.path.join(d, n) for n in dirs + files]
    return names


SOURCES: dict[str, Callable[[pathlib.Path], list[str]]] = {
    "mktemp": mktemp, "python-tempfile": python_tempfile, "node-mkdtemp": node_mkdtemp,
    "sed-in-place": sed_in_place, "apt-key": apt_key, "java": java, "git": git, "pip": pip, "npm": npm,
    "python-runtime": python_runtime, "ssh-gpg": ssh_gpg, "node-reports": node_reports, "pytest": pytest_runs,
    "esbuild": esbuild, "containerd": containerd, "savelog": savelog, "gcc-cmake": gcc_cmake,
    "proc-self": proc_self, "sysfs": sysfs,
}
# Documented content-addressed layouts: a different content or key gives a different name here,
# even though our two runs stored the same content (see LABELLING.md).
CONTENT_ADDRESSED = re.compile(
    r"/_cacache/(?:content-v2/sha\d+|index-v5)(?:/[^/]+)*/[^/]+$"      # npm cacache (hash shards, hash)
    r"|/\.cache/pip/(?:http-v2|http|wheels)/(?:[0-9a-f]{1,2}/)*[^/]+$"  # pip cache shards and key hash
    r"|/wheels/(?:[0-9a-f]{2}/){0,4}[^/]+$|/pip-build-tracker-[^/]+/[^/]+$"  # pip wheel cache, tracker
    r"|/\.git/objects/(?:[0-9a-f]{2}|pack|info)/[^/]+$|/\.git/objects/[0-9a-f]{2}$")  # git objects
GIT_FIXED = frozenset({"pack", "info", "packs", "commit-graph"})


# --- labelling -----------------------------------------------------------------------------------

def _tree(paths: Iterable[str]) -> Tree:
    top: Tree = {}
    for path in paths:
        node, prefix = top, ""
        for part in path.strip("/").split("/"):
            prefix = f"{prefix}/{part}"
            node = node.setdefault(part, {ORIGIN: {prefix: {}}})
    return top


def _merge(trees: Iterable[Tree]) -> Tree:
    out: Tree = {}
    for tree in trees:
        for name, sub in tree.items():
            if name == ORIGIN:
                out.setdefault(ORIGIN, sub)
            else:
                out[name] = _merge([out.get(name, {}), sub])
    return out


def _origin(node: Tree) -> str:
    return next(iter(node[ORIGIN]))


def compare(a: Tree, b: Tree, rows: list[Row], source: str) -> None:
    """Names in both runs are meaningful; names that changed between runs are random; names that
    only one run has (with nothing new in the other at that place) are left out as unknown."""
    only_a, only_b = sorted(a.keys() - b.keys() - {ORIGIN}), sorted(b.keys() - a.keys() - {ORIGIN})
    for name in sorted(a.keys() & b.keys() - {ORIGIN}):
        rows.append(("meaningful", source, _origin(a[name])))
        compare(a[name], b[name], rows, source)
    if only_a and only_b:
        rows += [("random", source, _origin(a[n])) for n in only_a] + [
            ("random", source, _origin(b[n])) for n in only_b]
        compare(_merge(a[n] for n in only_a), _merge(b[n] for n in only_b), rows, source)


def _relabel(row: Row) -> Row:
    _, source, path = row
    if CONTENT_ADDRESSED.search(path) and path.rsplit("/", 1)[1] not in GIT_FIXED:
        return ("random", source, path)
    if source == "containerd" and re.search(r"/snapshots/\d+$", path):  # a node-wide sequence
        return ("random", source, path)
    if source == "proc-self" and re.fullmatch(r"/proc/\d+", path):
        return ("random", source, path)
    return row


def _usable(path: str, scratch: pathlib.Path) -> bool:
    """Not our own scratch tree, not the sandbox's cgroups, nothing a TSV cannot hold."""
    return not (path.startswith(str(scratch)) or "process_api" in path or any(c in path for c in "\t\n\\"))


def collect(name: str, make: Callable[[pathlib.Path], list[str]], scratch: pathlib.Path) -> list[Row]:
    runs = []
    for n in range(2):
        root = scratch / f"{name}-{n}"
        root.mkdir()
        _env(root)
        paths = make(root)
        stripped = (p.replace(str(root), "", 1) if p.startswith(f"{root}/") else p for p in paths)
        runs.append(_tree(p for p in stripped if _usable(p, scratch)))
        time.sleep(1.1)
    rows: list[Row] = []
    compare(runs[0], runs[1], rows, name)
    return [_relabel(r) for r in rows]


def dpkg() -> list[Row]:
    """Names shipped by packages: every install of the package writes the same names."""
    rows: list[Row] = []
    for listing in sorted(pathlib.Path("/var/lib/dpkg/info").glob("*.list")):
        rows += [("meaningful", "dpkg", line) for line in listing.read_text(errors="replace").splitlines()
                 if line.startswith("/") and len(line) > 1 and "\t" not in line and "\\" not in line]
    return rows


CAPS = {"dpkg": 900, "sysfs": 300, "proc-self": 60}


def _sample(rows: list[Row]) -> list[Row]:
    """One row per (source, label, parent name, component); large static sources capped by hash."""
    seen: dict[tuple[str, str, str, str], Row] = {}
    for label, source, path in rows:
        parts = path.split("/")
        key = (source if label == "random" else "", label, parts[-2] if len(parts) > 1 else "", parts[-1])
        seen.setdefault(key, (label, source, path))
    by_source: dict[str, list[Row]] = {}
    for row in seen.values():
        by_source.setdefault(row[1], []).append(row)
    out: list[Row] = []
    for source, group in sorted(by_source.items()):
        group.sort(key=lambda r: (zlib.crc32(r[2].encode()), r))
        out += group[: CAPS.get(source, len(group))]
    return sorted(out, key=lambda r: (r[1], r[2], r[0]))


def part(component: str) -> str:
    """Fixed before any tuning: a third of components, by hash, is held out."""
    return "held-out" if zlib.crc32(component.encode()) % 3 == 0 else "tuning"


def main(names: list[str]) -> None:
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="collect-"))
    try:
        rows = dpkg() if not names or "dpkg" in names else []
        for name, make in SOURCES.items():
            if not names or name in names:
                got = collect(name, make, scratch)
                randoms = sum(r[0] == "random" for r in got)
                print(f"{name}: {len(got)} rows, {randoms} random", file=sys.stderr)
                rows += got
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    sampled = [r for r in _sample(rows) if r[2].rsplit("/", 1)[1]]
    lines = ["part\tlabel\tsource\tpath"]
    lines += [f"{part(p.rsplit('/', 1)[1])}\t{label}\t{source}\t{p}" for label, source, p in sampled]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(sampled)} rows to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
