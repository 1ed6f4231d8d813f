"""Behaviour of the random-path-component classifier (``generator.classifier``), by example.

What becomes ``*`` and what stays, the kinds of names real software makes (temp and build names,
addresses, date stamps, store shards judged in their path), and that every decision names its
rule. Properties are in ``test_classifier_properties.py``; the quality bar on real-world
components in ``test_classifier_quality.py``.
"""

from __future__ import annotations

from generator.classifier import explain, explain_path, generalize_path, is_random_component


def _stays(*components: str) -> None:
    assert [c for c in components if is_random_component(c)] == []


def _becomes_star(*components: str) -> None:
    assert [c for c in components if not is_random_component(c)] == []


def test_uuids_become_stars_in_any_case_with_or_without_dashes() -> None:
    _becomes_star("3f2a9c1d-7e4b-4c1a-9f3e-0a1b2c3d4e5f", "3F2A9C1D-7E4B-4C1A-9F3E-0A1B2C3D4E5F",
                  "3f2a9c1d7e4b4c1a9f3e0a1b2c3d4e5f",
                  "kubepods-besteffort-pod3f2a9c1d_7e4b_4c1a_9f3e_0a1b2c3d4e5f.slice")


def test_hashes_and_container_ids_become_stars() -> None:
    _becomes_star("d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                  "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "3f2a9c1",
                  "cri-containerd-9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.scope",
                  "4042bcee.0")


def test_tokens_and_jwts_become_stars() -> None:
    _becomes_star("q7ZxR2mKp9LwT4vB8nYc3A==", "dGhpcyBpcyBhIHRva2Vu_Xy9-Zq3Lp0",
                  "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl")


def test_pod_names_with_replicaset_hash_and_suffix_become_one_star() -> None:
    _becomes_star("demo-4-6b98965dc-5xfqn", "nginx-6b98965dc", "calico-node-x7k2p",
                  "kube-api-access-mgsnv", "default-token-x2k9p", "metrics-server-crzdv", "worker-bjck4",
                  "node-exporter-hvbsd")
    _stays("kube-proxy", "my-app-https", "nginx-http2", "calico-node")
    assert generalize_path("/var/log/pods/demo-4-6b98965dc-5xfqn/x.log") == "/var/log/pods/*/x.log"


def test_numeric_ids_of_three_or_more_digits_become_stars_but_one_and_two_digit_numbers_stay() -> None:
    _becomes_star("123", "12345", "1700000000", "core.4821", "app-20240115.log")
    _stays("0", "1", "10", "15")
    assert generalize_path("/dev/pts/1") == "/dev/pts/1"


def test_temp_names_and_projected_volume_timestamps_become_stars() -> None:
    _becomes_star("tmp.XyZ12aBc", "tmpab12cd_3", "tmpwqvdxagq", ".tmpA1b2C3", "pip-install-k3j9x2ab",
                  "..2026_11_28_14_00_00.123456789")
    _stays("tmp", "tmpfiles.d", "..data", "tmpfs")


def test_random_suffix_file_names_are_replaced_whole_never_in_part() -> None:
    assert generalize_path("/var/log/app-3f2a9c1d7e.log") == "/var/log/*"
    assert generalize_path("/app/static/main.3f2a9c1d7e4b4c1a9f3e.js") == "/app/static/*"


def test_words_compound_words_and_dotfiles_stay() -> None:
    _stays("site-packages", "__pycache__", "node_modules", "lib-dynload", ".bashrc", ".X11-unix",
           "ca-certificates.crt", "SHA256SUMS", "README.md", "Makefile", "NetworkManager",
           "DejaVuSansMono-Bold.ttf", "ssh_host_ed25519_key", "xterm-256color", "tcptracer-bpfcc")


def test_versions_libraries_and_kernel_releases_stay() -> None:
    _stays("python3.11", "v1.2.3", "1.0", "3.11", "libc.so.6", "libstdc++.so.6.0.30",
           "ld-linux-x86-64.so.2", "libQt5Core.so.5", "6.1.0-56-amd64", "libcairo.so.2.11600.0",
           "jetty-http2.xml", "openssl-pkcs7.1ssl.gz")


def test_locales_arch_triples_and_device_names_stay() -> None:
    _stays("en_US.UTF-8", "zh_CN", "zh_CN.GB18030", "es_ES@euro", "C.UTF-8", "x86_64-linux-gnu",
           "aarch64-linux-gnu", "sda1", "tty0", "ttyS0", "nvme0n1", "nvme0n1p1", "mmcblk0p2", "dm-0")


def test_generalize_path_keeps_leading_and_trailing_slashes_and_empty_components() -> None:
    uid = "3f2a9c1d-7e4b-4c1a-9f3e-0a1b2c3d4e5f"
    assert generalize_path(f"/var/lib/kubelet/pods/{uid}/") == "/var/lib/kubelet/pods/*/"
    assert generalize_path(f"{uid}//etc") == "*//etc"
    assert generalize_path("/") == "/"
    assert generalize_path("") == ""


def test_existing_globs_are_left_alone() -> None:
    assert generalize_path("/tmp/**") == "/tmp/**"
    assert generalize_path("/proc/*/fd/*") == "/proc/*/fd/*"


def test_every_decision_names_its_rule() -> None:
    assert explain("3f2a9c1d-7e4b-4c1a-9f3e-0a1b2c3d4e5f") == "random:uuid"
    assert explain("en_US.UTF-8") == "meaningful:locale"


def test_tool_temp_and_build_names_become_stars() -> None:
    _becomes_star("go-build1234567890", "pip-install-k3j9x2ab", "pip-unpack-4mdyr44g",
                  "tomcat.8080.123456789", "apt-key-gpghome.52oMbAWFLG", "sedI2GxWb", "_MEI123456",
                  "_MEIa8Kx2q", "config.json.tmp12345",
                  "ccAAssyw.cdtor.o", "TryCompile-YrqB4F", "CMakeCache.txt.tmpe0a54", "sem.mp-66rtbw2d",
                  "build.37ULPJyy", "vite-EzHiZq", "upload-4zbhe5gr.json", "RECORDmyze6ro_.tmp",
                  ".java_pid17839")
    _stays("go-build", "pip", "tomcat", "sed", "config.json.tmp", "CMakeCache.txt", "README.Debian",
           "jquery-ui.min.js", "org.freedesktop.DBus", "python-dateutil", "jest-jQuery.js")


def test_ip_addresses_become_stars_but_versions_stay() -> None:
    _becomes_star("10.42.7.19", "192.0.2.44.conf", "172.16.254.1:8080")
    _stays("1.7.10.3.txt", "127.0.0.1", "2.0.0.1", "6.1.0-57-amd64")


def test_date_and_time_stamped_names_become_stars() -> None:
    _becomes_star("backup-2024-11-03.tar", "app_2023-01-09_12-00-01.log", "stats20250102", "syslog.20241231",
                  "2026-12-01T20_03_37_224Z-debug-0.log", "access.log.2026-12-01_20-03-48",
                  "report.20261201.201029.27409.0.002.json")
    _stays("2017-07-25", "jetty-http-9.4.57.v20241219.jar", "libabsl_base.so.20220623",
           "types_requests-2.33.0.20261030.dist-info", "ISO8859-1", "GB18030")


def test_interface_session_and_bundle_names_with_random_tails_become_stars() -> None:
    _becomes_star("veth3f2a9c1d", "cali7e4b4c1a9f3", "lxc0a1b2c3d4e", "sess_q7zxr2mkp9lwt4vb8nyc3a",
                  "chunk-5GLTHZ3J.js", "index-PR-LxXW_.js", "main-Bx7Lq2Wc.css")
    _stays("veth0", "eth0", "cali", "session.json", "chunk.js", "index.js", "vendor-bundle.js")


def test_hex_shards_are_random_only_under_an_object_or_cache_store() -> None:
    assert generalize_path("/repo/.git/objects/1e/1461ea9c7f9132bcaebe82e1962b3218397b56") == \
        "/repo/.git/objects/*/*"
    assert generalize_path("/root/.cache/pip/http-v2/0/4/1/8/c/body") == \
        "/root/.cache/pip/http-v2/*/*/*/*/*/body"
    assert generalize_path("/root/.npm/_cacache/index-v5/98/20/x") == "/root/.npm/_cacache/index-v5/*/*/x"
    assert generalize_path("/srv/1e/ab/c5") == "/srv/1e/ab/c5"
    assert generalize_path("/repo/.git/objects/pack/x") == "/repo/.git/objects/pack/x"
    assert explain_path("/x/objects/1e") == ["meaningful:empty-glob-or-escape", "meaningful:short",
                                             "meaningful:letters", "random:store-shard"]


def test_a_tools_mkstemp_template_names_are_random_in_its_own_directory_whatever_they_spell() -> None:
    # git init probes symlink support with .git/tXXXXXX: 43 % of such names passed as words before
    for name in ("tmRoaoT", "tqhFWCE", "twoRoWD", "tSEOr4l", "tracker"):
        assert generalize_path(f"/srv/repo/.git/{name}") == "/srv/repo/.git/*"
        assert explain_path(f"/srv/repo/.git/{name}")[-1] == "random:tool-template-name"
    assert generalize_path("/srv/tmRoaoT") == "/srv/tmRoaoT"
    assert generalize_path("/srv/repo/.git/HEAD.lock") == "/srv/repo/.git/HEAD.lock"
    assert generalize_path("/srv/repo/.git/tracked-files") == "/srv/repo/.git/tracked-files"


def test_explain_path_gives_the_rule_of_each_component_in_its_place() -> None:
    rules = explain_path("/var/log/pods/web-6b98965dc-5xfqn/10.42.7.19.log")
    assert rules[-2:] == ["random:kube-replicaset-hash", "random:ip-address"]
    assert [r.startswith("random:") for r in rules] == [
        c == "*" for c in generalize_path("/var/log/pods/web-6b98965dc-5xfqn/10.42.7.19.log").split("/")]
