"""The Debian package: built by CPack from the build folder, clean under
lintian, laid out like Debian's libnginx-mod-* packages, and loadable by
Debian's nginx from a scratch root it was unpacked into. `cmake --install`
into a prefix gives a load_module snippet that points at that prefix."""

import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import BUILD, NGINX, REPO, free_port, ssha_entry, wait_for_port
from helpers import SHOPPER_PATH, socket_path
from wsclient import WsConnection

PACKAGE = "libnginx-mod-http-presence"
DOC = f"usr/share/doc/{PACKAGE}"


def run(*args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def project_version():
    cache = (BUILD / "CMakeCache.txt").read_text()
    return re.search(r"^CMAKE_PROJECT_VERSION:STATIC=(\S+)$", cache, re.M).group(1)


@pytest.fixture(scope="module")
def scratch():
    # Not pytest's tmp_path: that is 0700, and nginx workers run as nobody.
    folder = Path(tempfile.mkdtemp(prefix="presence-package-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def deb(scratch):
    built = run("cmake", "--build", str(BUILD), "--target", "ngx_http_presence_module",
                "presence-token", "dashboard")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    out = scratch / "package"
    made = run("cpack", "--config", str(BUILD / "CPackConfig.cmake"), "-G", "DEB", "-B", str(out))
    assert made.returncode == 0, made.stdout + made.stderr
    debs = list(out.glob("*.deb"))
    assert len(debs) == 1, made.stdout
    return debs[0]


def control(deb):
    fields = {}
    for line in run("dpkg-deb", "-f", str(deb)).stdout.splitlines():
        if not line.startswith(" ") and ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    return fields


def test_package_is_named_like_debians_module_packages(deb):
    version = project_version()
    assert re.fullmatch(rf"{PACKAGE}_{re.escape(version)}-\d+_amd64\.deb", deb.name), deb.name
    fields = control(deb)
    assert fields["Package"] == PACKAGE
    assert fields["Section"] == "httpd"
    assert fields["Recommends"] == "nginx"


def test_package_depends_on_the_nginx_abi_libsodium_and_hiredis(deb):
    provides = run("dpkg-query", "-W", "-f=${Provides}", "nginx").stdout
    abi = re.search(r"nginx-abi-[^ ,]+", provides).group(0)
    depends = [d.strip() for d in control(deb)["Depends"].split(",")]
    assert abi in depends, depends
    assert any(d.startswith("libsodium") for d in depends), depends
    # The Redis link of a cluster is hiredis 0.14's asynchronous API.
    assert any(d.startswith("libhiredis0.14") for d in depends), depends


def test_lintian_reports_no_error_and_no_unexplained_warning(deb):
    # Warnings that remain are overridden, each with its reason, in
    # packaging/lintian-overrides (shipped in the package, as lintian reads it).
    result = run("lintian", "--fail-on", "error,warning", "--pedantic", str(deb))
    assert result.returncode == 0, result.stdout + result.stderr
    for line in result.stdout.splitlines():
        assert not line.startswith(("E:", "W:")), result.stdout


def test_file_list(deb):
    listing = run("dpkg-deb", "-c", str(deb)).stdout.splitlines()
    entries = {}
    for line in listing:
        mode, owner, *_, path = line.split()
        entries[path.removeprefix("./").rstrip("/")] = (mode, owner)
    files = {p for p, (mode, _) in entries.items() if not mode.startswith("d")}
    assert all(owner == "root/root" for _, owner in entries.values())
    expected = {
        "usr/lib/nginx/modules/ngx_http_presence_module.so",
        "usr/share/nginx/modules-available/mod-http-presence.conf",
        "usr/bin/presence-token",
        "usr/share/man/man1/presence-token.1.gz",
        f"{DOC}/copyright",
        f"{DOC}/changelog.Debian.gz",
        f"{DOC}/README.md",
        f"{DOC}/BENCHMARKS.md",
        f"{DOC}/DIRECTIVES.md",
        f"{DOC}/examples/presence.conf",
        f"{DOC}/examples/nginx.conf.example",
        "usr/share/nginx-presence/monitoring/alerts.yml",
        "usr/share/nginx-presence/monitoring/grafana-dashboard.json",
        f"usr/share/lintian/overrides/{PACKAGE}",
    }
    assert expected <= files, expected - files
    dashboard = {p for p in files if p.startswith("usr/share/nginx-presence/dashboard/")}
    built = {
        "usr/share/nginx-presence/dashboard/" + str(p.relative_to(BUILD / "dashboard"))
        for p in (BUILD / "dashboard").rglob("*")
        if p.is_file()
    }
    assert dashboard == built
    assert "usr/share/nginx-presence/dashboard/index.html" in dashboard
    # Nothing else: no /etc file (the enable link is the maintainer scripts'
    # work), no /usr/local, no build leftovers; other docs are docs/*.md.
    others = files - expected - dashboard
    assert all(re.fullmatch(rf"{DOC}/[A-Z_]+\.md", p) for p in others), others
    assert entries["usr/bin/presence-token"][0] == "-rwxr-xr-x"
    assert entries["usr/lib/nginx/modules/ngx_http_presence_module.so"][0] == "-rw-r--r--"


def test_load_module_snippet_and_enable_scripts(deb, scratch):
    root = scratch / "control"
    assert run("dpkg-deb", "-e", str(deb), str(root)).returncode == 0
    for script in ("postinst", "prerm", "postrm"):
        assert os.access(root / script, os.X_OK), script
        text = (root / script).read_text()
        assert "/etc/nginx/modules-enabled/50-mod-http-presence.conf" in text
    assert "/usr/share/nginx/modules-available/mod-http-presence.conf" in (
        root / "postinst").read_text()
    unpacked = scratch / "snippet"
    assert run("dpkg-deb", "-x", str(deb), str(unpacked)).returncode == 0
    conf = unpacked / "usr/share/nginx/modules-available/mod-http-presence.conf"
    assert conf.read_text() == "load_module modules/ngx_http_presence_module.so;\n"


def adapt(text, root):
    """An installed configuration's absolute paths, moved under `root`."""
    for path in ("/etc/nginx/presence/", "/usr/share/nginx-presence/", "/var/log/nginx/"):
        text = text.replace(path, f"{root}{path}")
    return text


def unpacked_root(deb, scratch):
    """The package unpacked into a scratch root that also has what Debian's
    nginx-common and the package's postinst would have put there."""
    root = scratch / "root"
    assert run("dpkg-deb", "-x", str(deb), str(root)).returncode == 0
    (root / "usr/share/nginx/modules").symlink_to("../../lib/nginx/modules")
    etc = root / "etc/nginx"
    (etc / "modules-enabled").mkdir(parents=True)
    (etc / "modules-enabled/50-mod-http-presence.conf").symlink_to(
        root / "usr/share/nginx/modules-available/mod-http-presence.conf")
    keys = etc / "presence"
    keys.mkdir()
    tool = str(root / "usr/bin/presence-token")
    assert run(tool, "genkey", "--alg", "hs256", "--out", str(keys / "shopper-hs256.key")).returncode == 0
    assert run(tool, "genkey", "--alg", "eddsa", "--out", str(keys / "admin-ed25519.pem"),
               "--pub", str(keys / "admin-ed25519.pub.pem")).returncode == 0
    (keys / "htpasswd").write_text(ssha_entry("admin", "launch-day"))
    (etc / "conf.d").mkdir()
    example = (root / DOC / "examples/presence.conf").read_text()
    port, metrics_port = free_port(), free_port()
    example = adapt(example, root).replace("listen 127.0.0.1:8080;", f"listen 127.0.0.1:{port};")
    example = example.replace("listen 127.0.0.1:9145;", f"listen 127.0.0.1:{metrics_port};")
    (etc / "conf.d/presence.conf").write_text(example)
    logs = root / "var/log/nginx"
    logs.mkdir(parents=True)
    temp = root / "var/lib/nginx"
    temp.mkdir(parents=True)
    # Debian's /etc/nginx/nginx.conf, reduced to what matters here, in the root.
    (etc / "nginx.conf").write_text(f"""
pid {root}/nginx.pid;
error_log {logs}/error.log info;
include {etc}/modules-enabled/*.conf;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {logs}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {etc}/conf.d/*.conf;
}}
""")
    return root, port, metrics_port


def test_unpacked_package_loads_into_nginx_with_the_example(deb, scratch):
    root, port, metrics_port = unpacked_root(deb, scratch)
    # The prefix Debian's nginx uses: load_module's modules/ resolves under it.
    command = [NGINX, "-p", f"{root}/usr/share/nginx/", "-c", f"{root}/etc/nginx/nginx.conf"]
    checked = run(*command, "-t")
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
    # Served from the root: the module answers and the dashboard is there.
    server = subprocess.Popen(command + ["-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        wait_for_port(port, server)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as resp:
            assert b"presence_shoppers 0" in resp.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/shopper.js", timeout=5) as resp:
            assert resp.read() == (root / "usr/share/nginx-presence/dashboard/shopper.js").read_bytes()
        # A shopper's handshake with a token the packaged tool minted; the
        # example logs socket requests without the query string it rides in.
        token = run(str(root / "usr/bin/presence-token"), "--key",
                    str(root / "etc/nginx/presence/shopper-hs256.key"), "--alg", "hs256",
                    "--kid", "shop-1", "--sub", "cart-1", "--role", "shopper").stdout.strip()
        ws = WsConnection.open(port, socket_path(SHOPPER_PATH, token))
        ws.close()
        deadline = time.monotonic() + 5
        log = root / "var/log/nginx/access.log"
        while "/socket/websocket" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "GET /socket/websocket\" 101" in log.read_text(), log.read_text()
        assert token not in log.read_text()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_cmake_install_points_load_module_at_its_prefix(scratch):
    prefix = scratch / "prefix"
    result = run("cmake", "--install", str(BUILD), "--prefix", str(prefix))
    assert result.returncode == 0, result.stdout + result.stderr
    module = prefix / "lib/nginx/modules/ngx_http_presence_module.so"
    assert module.is_file()
    assert (prefix / "bin/presence-token").is_file()
    snippet = prefix / "share/nginx/modules-available/mod-http-presence.conf"
    assert snippet.read_text() == f"load_module {module};\n"
    assert not (prefix / "etc").exists()
    conf = scratch / "install-nginx.conf"
    conf.write_text(f"include {snippet};\nevents {{}}\npid {scratch}/install.pid;\n"
                    f"error_log {scratch}/install-error.log;\n")
    checked = run(NGINX, "-t", "-p", f"{scratch}/", "-c", str(conf))
    assert checked.returncode == 0, checked.stderr


def test_packaged_example_uses_every_directive_of_the_repository_example():
    # The packaged example is the installed-layout twin of nginx.conf.example:
    # a directive added to one belongs in the other.
    def directives(path):
        return set(re.findall(r"^\s*(presence_\w+)", path.read_text(), re.M))

    ours = directives(REPO / "packaging/presence.conf")
    theirs = directives(REPO / "nginx.conf.example")
    # The demo store's token location is left out of an installed setup.
    assert theirs - {"presence_demo_token"} <= ours, theirs - ours
