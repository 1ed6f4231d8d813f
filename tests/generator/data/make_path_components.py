"""Write ``path_components.tsv``: labelled path components for the random-component classifier.

Meaningful components are written out by hand from real Linux, Kubernetes, Python and Node trees.
Random components are drawn from a seeded generator that imitates how each kind is made (uuid4,
hashes, kube-controller name suffixes, mktemp/tempfile, projected-volume timestamps, ...).
Run ``python tests/generator/data/make_path_components.py`` to regenerate; the TSV is committed.
The rows were written before the classifier's rules were tuned and are not edited to fit them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import random
import string
import uuid
from collections.abc import Callable

HERE = pathlib.Path(__file__).resolve().parent

MEANINGFUL = """
bin sbin usr lib lib64 lib32 libx32 etc var tmp run proc sys dev home root opt srv mnt media boot
share include local src log cache spool mail lock state backups snap games
x86_64-linux-gnu aarch64-linux-gnu i386-linux-gnu arm-linux-gnueabihf x86_64-pc-linux-gnu
python3 python3.11 python3.12 python2.7 python3.9 site-packages dist-packages __pycache__ lib-dynload
encodings collections importlib json email http urllib xml asyncio concurrent logging unittest
__init__.py __main__.py os.py abc.py re.py _collections_abc.py typing.py functools.py
__init__.cpython-311.pyc os.cpython-311.pyc _sysconfigdata__linux_x86_64-linux-gnu.py
_ssl.cpython-311-x86_64-linux-gnu.so _json.cpython-311-x86_64-linux-gnu.so
numpy pandas requests urllib3 certifi idna charset_normalizer setuptools pip wheel
requests-2.31.0.dist-info numpy-1.26.4.dist-info METADATA RECORD WHEEL top_level.txt INSTALLER
pyvenv.cfg activate python3.11-config .venv venv node_modules package.json package-lock.json
yarn.lock .npmrc .yarnrc tsconfig.json index.js index.d.ts dist build lodash express react
@types @babel core-js .bin npm npx node corepack libnode.so.108 v8 uv
libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 libresolv.so.2 libnss_files.so.2
libnss_dns.so.2 libutil.so.1 libgcc_s.so.1 libstdc++.so.6 libstdc++.so.6.0.30 libz.so.1
libz.so.1.2.13 libssl.so.3 libcrypto.so.3 libssl.so.1.1 libcrypto.so.1.1 libselinux.so.1
libpcre2-8.so.0 libpcre2-8.so.0.11.2 libtinfo.so.6 libncursesw.so.6 libreadline.so.8
libffi.so.8 libexpat.so.1 libbz2.so.1.0 liblzma.so.5 libzstd.so.1 libsystemd.so.0
libcap.so.2 libacl.so.1 libattr.so.1 libseccomp.so.2 libapparmor.so.1 libudev.so.1
libgnutls.so.30 libidn2.so.0 libunistring.so.2 libp11-kit.so.0 libtasn1.so.6 libnettle.so.8
libhogweed.so.6 libgmp.so.10 libcurl.so.4 libnghttp2.so.14 libpsl.so.5 libssh2.so.1
libxml2.so.2 libicuuc.so.72 libicudata.so.72 libsqlite3.so.0 libgdbm.so.6 libuuid.so.1
libblkid.so.1 libmount.so.1 libkeyutils.so.1 libkrb5.so.3 libgssapi_krb5.so.2 libcom_err.so.2
libQt5Core.so.5 libGL.so.1 libX11.so.6 libxcb.so.1 libdbus-1.so.3 libglib-2.0.so.0
libgtk-3.so.0 libjemalloc.so.2 libtcmalloc.so.4 libpython3.11.so.1.0 libperl.so.5.36
ld-linux-x86-64.so.2 ld-linux-aarch64.so.1 ld-linux.so.2 ld.so.cache ld.so.conf ld.so.conf.d
gconv gconv-modules gconv-modules.cache UTF-16.so ISO8859-1.so locale locale-archive
en_US.UTF-8 en_US.utf8 en_US zh_CN zh_CN.UTF-8 zh_CN.GB18030 de_DE.UTF-8 fr_FR ja_JP.eucJP
C.UTF-8 C.utf8 POSIX LC_MESSAGES LC_CTYPE LC_COLLATE LC_TIME LC_NUMERIC LC_MONETARY
en_GB pt_BR ru_RU.KOI8-R es_ES@euro charmaps ISO-8859-1.gz GB18030.gz i18n zoneinfo UTC
Etc GMT GMT+8 Asia Shanghai Europe Berlin America New_York localtime timezone
passwd group shadow gshadow hosts hostname resolv.conf nsswitch.conf host.conf os-release
issue issue.net motd fstab mtab crontab profile bash.bashrc environment login.defs
sudoers sudoers.d pam.d common-auth security limits.conf limits.d sysctl.conf sysctl.d
99-sysctl.conf 10-network-security.conf modprobe.d modules-load.d udev rules.d
70-persistent-net.rules 50-cloud-init.yaml netplan network interfaces NetworkManager
systemd system user system.conf journald.conf logind.conf multi-user.target.wants
getty.target.wants sshd.service nginx.service docker.service containerd.service kubelet.service
kubelet.service.d 10-kubeadm.conf default.target graphical.target dbus-org.freedesktop.resolve1.service
ssh sshd_config ssh_config ssh_host_ed25519_key ssh_host_rsa_key.pub authorized_keys known_hosts
id_rsa id_ed25519.pub ssl certs private ca-certificates.crt ca-certificates ca-bundle.crt
openssl.cnf cert.pem tls.crt tls.key ca.crt token namespace serviceaccount kubernetes.io
apparmor apparmor.d abstractions tunables usr.sbin.nginx local.d apt sources.list sources.list.d
debian.sources trusted.gpg.d preferences.d apt.conf.d 01autoremove 20auto-upgrades
dpkg status info available alternatives diversions triggers lists partial archives
nginx.conf conf.d sites-enabled sites-available default 000-default.conf mime.types
fastcgi_params uwsgi_params nginx html index.html 50x.html favicon.ico robots.txt
apache2 httpd mysql my.cnf postgresql 15 main pg_hba.conf postgresql.conf redis redis.conf
docker daemon.json containerd config.toml crictl.yaml cni net.d 10-calico.conflist
kubernetes manifests kube-apiserver.yaml etcd.yaml admin.conf kubelet.conf pki apiserver.crt
kubelet pods volumes plugins pod-resources device-plugins kubelet.sock cpu_manager_state
kubernetes.io~projected kubernetes.io~configmap kubernetes.io~secret kubernetes.io~empty-dir
..data containers pods io.containerd.snapshotter.v1.overlayfs io.containerd.runtime.v2.task
io.containerd.content.v1.content io.containerd.metadata.v1.bolt meta.db snapshots fs work
k8s.io moby blobs sha256 rootfs config.json runc shim.sock address
var-lib-kubelet.mount kubepods.slice kubepods-besteffort.slice kubepods-burstable.slice
system.slice user.slice init.scope cgroup.procs cgroup.controllers memory.max cpu.max
memory.current pids.max io.stat cpu.stat cgroup.events
cpuinfo meminfo mounts mountinfo self thread-self status stat statm cmdline environ maps
smaps fd fdinfo task ns net mnt pid uts ipc cgroup exe cwd attr current loginuid
ip6_tables_names nf_conntrack route tcp tcp6 udp unix dev_snmp6 sockstat kallsyms
devices virtual block net class bus kernel mm fs cpu cpu0 cpu15 online possible present
node0 hugepages transparent_hugepage enabled defrag max_map_count overcommit_memory
somaxconn ip_forward hostname osrelease random boot_id uuid entropy_avail pid_max
null zero full urandom tty tty0 tty1 ttyS0 pts ptmx console shm mqueue hugepages
sda sda1 sdb2 vda vda1 xvda1 nvme0n1 nvme0n1p1 loop0 dm-0 md0 sr0 fuse kvm net tun
mapper by-uuid by-id by-path disk input event0 snd hidraw0 log stdin stdout stderr core
log syslog messages kern.log auth.log dpkg.log alternatives.log journal wtmp btmp lastlog
faillog syslog.1 syslog.2.gz kern.log.1 nginx access.log error.log access.log.1
error.log.2.gz apt history.log term.log installer cloud-init.log cloud-init-output.log
mysql error.log postgresql postgresql-15-main.log
hsperfdata_root java jvm java-17-openjdk-amd64 java-1.8.0-openjdk-amd64 openjdk-17
release jmods lib security cacerts jre modules rt.jar tools.jar
go pkg mod src golang.org google.golang.org github.com gopkg.in
ruby gems 3.1.0 specifications rubygems bundler perl5 perl 5.36 vendor_perl
share man man1 man8 doc info locale icons pixmaps applications fonts truetype
dejavu DejaVuSans.ttf DejaVuSansMono-Bold.ttf LiberationMono-Regular.ttf fontconfig
fonts.conf conf.avail 10-hinting-slight.conf mime magic magic.mgc terminfo xterm-256color
x xterm linux vt100 screen.xterm-256color bash-completion completions zsh vim vimrc
git .git HEAD ORIG_HEAD FETCH_HEAD config description hooks objects refs heads tags
packed-refs index logs info exclude pre-commit.sample COMMIT_EDITMSG
.bashrc .profile .bash_history .bash_logout .cache .config .local .ssh .gnupg .npm
.pip .kube .docker .wget-hsts .viminfo .lesshst .python_history .Xauthority .ICE-unix
.X11-unix X0 .font-unix .XIM-unix .pki nssdb .dbus .gitconfig .gitignore .dockerignore
.env .editorconfig .pytest_cache .mypy_cache .ruff_cache .tox .coverage .hypothesis
pip http-v2 wheels selfcheck go-build gopls yarn v6 _cacache index-v5 content-v2 sha512
fontconfig mesa_shader_cache thumbnails large normal chromium Default Cache Code\\ Cache
GPUCache Local\\ Storage leveldb IndexedDB Cookies Preferences Local\\ State
SHA256SUMS SHA256SUMS.gpg SHA512SUMS MD5SUMS Release InRelease Packages Packages.gz
README README.md README.rst LICENSE LICENSE.txt COPYING NOTICE AUTHORS CHANGELOG.md
CONTRIBUTING.md Makefile CMakeLists.txt Dockerfile docker-compose.yml Jenkinsfile
setup.py setup.cfg pyproject.toml requirements.txt tox.ini Pipfile Pipfile.lock
go.mod go.sum Cargo.toml Cargo.lock Gemfile Gemfile.lock pom.xml build.gradle
app main.py wsgi.py manage.py settings.py urls.py models.py views.py templates static
assets css js img images uploads media data db sqlite3 app.db config.yaml values.yaml
application.properties application.yml logback.xml log4j2.xml server.xml web.xml
entrypoint.sh docker-entrypoint.sh start.sh run.sh healthcheck.sh wait-for-it.sh
docker-entrypoint.d 10-listen-on-ipv6-by-default.sh 20-envsubst-on-templates.sh
6.1.0-56-amd64 6.1.0-18-cloud-amd64 5.15.0-91-generic 6.8.0-1012-aws vmlinuz initrd.img
vmlinuz-6.1.0-56-amd64 config-6.1.0-56-amd64 System.map-6.1.0-56-amd64 grub grub.cfg
modules.dep modules.alias extra kernel drivers nf_tables.ko overlay.ko br_netfilter.ko
1.0 3.11 v1 v1beta1 v2 v1.2.3 2.36 1.2.13 0.11.2 12 1 10 0 2 3 v20.10.0 1.25.3
node-v20.10.0-linux-x64 go1.21.5.linux-amd64 Python-3.11.4 nginx-1.25.3 cuda-12.2 gcc-12
llvm-14 clang-14 php8.2 openssl-3.0.11 boost_1_83_0 jdk-17.0.2 apache-maven-3.9.6
node_exporter-1.7.0.linux-amd64 helm-v3.13.2 etcd-v3.5.10-linux-amd64 amd64 arm64 x86_64
i686 i386 aarch64 armhf noarch linux-amd64 linux-arm64 darwin-arm64 win64
busybox coreutils util-linux procps e2fsprogs e2fsck mke2fs xfsprogs btrfs-progs lvm2
iptables ip6tables nft iproute2 ip ss netstat ping curl wget tar gzip bzip2 xz unzip
bash sh dash zsh env ls cat cp mv rm mkdir chmod chown ln grep sed awk find xargs sleep
sort uniq head tail cut tr wc date id whoami uname mount umount ps kill top free df du
systemctl journalctl dbus-daemon dbus-broker agetty sshd cron rsyslogd chronyd ntpd
containerd-shim-runc-v2 containerd-shim runc kubelet kube-proxy kubectl kubeadm crictl
coredns etcd pause calico-node flanneld cilium-agent dockerd docker-proxy tini dumb-init
gunicorn uwsgi supervisord celery redis-server redis-cli mysqld postgres psql mongod
node npm yarn pnpm deno java javac mvn gradle ruby irb gem bundle perl php php-fpm8.2
python pip3 pip3.11 ipython jupyter uvicorn flask django-admin
varmor varmor-agent varmor-classifier varmor-manager bpf tracefs debugfs securityfs
kprobe_events uprobe_events trace_pipe available_filter_functions events syscalls
sys_enter_openat enable filter format id
demo nginx-deployment coredns-config kube-root-ca.crt kube-proxy web frontend backend
"""

HEX = "0123456789abcdef"
KUBE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand
ALNUM = string.ascii_letters + string.digits
WORKLOADS = ["demo-4", "nginx", "web", "api-server", "redis-cache", "coredns", "frontend",
             "payment-svc", "worker", "kube-proxy", "calico-node", "metrics-server", "varmor-agent"]


def hexs(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(HEX) for _ in range(n))


def kube(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(KUBE_ALPHABET) for _ in range(n))


def alnum(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64(rng: random.Random, nbytes: int, url: bool) -> str:
    raw = rng.randbytes(nbytes)
    return (base64.urlsafe_b64encode(raw).rstrip(b"=") if url else base64.b64encode(raw)).decode()


def uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def jwt(rng: random.Random) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "kid": hexs(rng, 8)}).encode())
    claims = {"sub": f"system:serviceaccount:default:{rng.choice(WORKLOADS)}", "exp": rng.randrange(1 << 31)}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode())
    return ".".join(part.decode().rstrip("=") for part in (header, body)) + "." + b64(rng, 32, True)


def random_components(rng: random.Random) -> list[str]:
    """One generator per kind of random component, each used a fixed number of times."""

    def w() -> str:
        return rng.choice(WORKLOADS)

    def stamp() -> str:
        year = rng.randrange(2020, 2030)
        fields = [rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24), rng.randrange(60),
                  rng.randrange(60)]
        nanos = rng.randrange(10**8, 10**9)
        return f"..{year}_" + "_".join(f"{f:02d}" for f in fields) + f".{nanos}"

    kinds: list[tuple[int, Callable[[], str]]] = [
        (30, lambda: uid(rng)),
        (8, lambda: uid(rng).upper()),
        (10, lambda: uid(rng).replace("-", "")),
        (8, lambda: f"kubepods-besteffort-pod{uid(rng).replace('-', '_')}.slice"),
        (20, lambda: hexs(rng, 64)),
        (10, lambda: f"cri-containerd-{hexs(rng, 64)}.scope"),
        (8, lambda: f"docker-{hexs(rng, 64)}.scope"),
        (12, lambda: hexs(rng, 40)),
        (10, lambda: hexs(rng, 32)),
        (8, lambda: hexs(rng, rng.choice([7, 8, 10, 12]))),
        (6, lambda: f"{hexs(rng, 8)}.{rng.randrange(3)}"),
        (6, lambda: hashlib.sha256(rng.randbytes(8)).hexdigest()[:38]),
        (14, lambda: b64(rng, rng.choice([12, 16, 24, 32]), False).replace("/", "_")),
        (14, lambda: b64(rng, rng.choice([12, 16, 24, 32]), True)),
        (8, lambda: jwt(rng)),
        (25, lambda: f"{w()}-{kube(rng, rng.choice([8, 9, 10]))}-{kube(rng, 5)}"),
        (10, lambda: f"{w()}-{kube(rng, 5)}"),
        (8, lambda: f"{w()}-{kube(rng, rng.choice([9, 10]))}"),
        (8, lambda: f"kube-api-access-{kube(rng, 5)}"),
        (6, lambda: f"default_{w()}-{kube(rng, 9)}-{kube(rng, 5)}_{uid(rng)}"),
        (20, lambda: str(rng.randrange(100, 10**rng.choice([4, 5, 6, 7])))),
        (8, lambda: str(rng.randrange(1_600_000_000, 1_800_000_000))),
        (10, lambda: f"tmp.{alnum(rng, 10)}"),
        (10, lambda: f"tmp{alnum(rng, 8, string.ascii_lowercase + string.digits + '_')}"),
        (6, lambda: f"pip-install-{alnum(rng, 8, string.ascii_lowercase + string.digits + '_')}"),
        (4, lambda: f"systemd-private-{hexs(rng, 32)}-chrony.service-{alnum(rng, 6)}"),
        (10, stamp),
        (10, lambda: f"{rng.choice(['app', 'server', 'worker', 'access'])}-{hexs(rng, 10)}.log"),
        (6, lambda: f"core.{rng.randrange(1000, 99999)}"),
        (6, lambda: f"{rng.choice(['app', 'events', 'audit'])}-{rng.randrange(20200101, 20271231)}.log"),
        (6, lambda: f".org.chromium.Chromium.{alnum(rng, 6)}"),
        (6, lambda: alnum(rng, rng.choice([12, 16, 20]))),
        (4, lambda: hexs(rng, 2)),  # git/npm fan-out dirs: random but too short to tell
        (8, lambda: f".tmp{alnum(rng, 6)}"),
        (6, lambda: f"tmp-{rng.randrange(100, 99999)}-{alnum(rng, 12)}"),
        (6, lambda: f"{hexs(rng, 64)}-json.log"),
        (8, lambda: f"{w()}-{kube(rng, 9)}-{kube(rng, 5)}_default_{w()}-{hexs(rng, 64)}.log"),
        (6, lambda: f"kube-system_{w()}-{kube(rng, 5)}_{uid(rng)}"),
        (6, lambda: f"ssh-{alnum(rng, 10)}"),
        (6, lambda: f"index-{hexs(rng, 8)}.js"),
        (6, lambda: f"main.{hexs(rng, 20)}.js"),
        (6, lambda: f"index-{b64(rng, 6, True)}.js"),
        (4, lambda: f"pymp-{alnum(rng, 8, string.ascii_lowercase + string.digits + '_')}"),
        (6, lambda: b64(rng, 32, True)),
    ]
    out: list[str] = []
    for count, make in kinds:
        out += [make() for _ in range(count)]
    return out


def main() -> None:
    rng = random.Random(20260128)
    meaningful = [c.replace("\\ ", " ") for c in MEANINGFUL.split()]
    rows = {c: "meaningful" for c in meaningful}
    for c in random_components(rng):
        rows.setdefault(c, "random")
    lines = [f"{c}\t{label}" for c, label in rows.items()]
    (HERE / "path_components.tsv").write_text("component\tlabel\n" + "\n".join(lines) + "\n")
    print(f"wrote {len(lines)} rows")


if __name__ == "__main__":
    main()
