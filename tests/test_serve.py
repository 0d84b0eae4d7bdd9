"""scripts/serve.sh: two Streamlit replicas behind nginx on one port, with sticky sessions (issue 14, hosted demo).

One server for the module: the tests probe it through nginx, and the last one stops it and looks for leftovers."""
from __future__ import annotations

import base64
import hashlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
START_TIMEOUT = 60


TABS = 3   # --tabs-per-address in these tests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def descendants(pid: int) -> dict[int, str]:
    """Every live process below `pid`: {pid: its start time (field 22 of /proc/PID/stat)}."""
    children: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))   # ppid is field 4
            starts[int(entry.name)] = fields[19]
    found, todo = {}, list(children.get(pid, []))
    while todo:
        p = todo.pop()
        found[p] = starts[p]
        todo += children.get(p, [])
    return found


def alive(pid: int, start: str) -> bool:
    """Is the process `pid` that started at `start` still there (and not a zombie)?"""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[19] == start and fields[0] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def get(port: int, path: str = "/", route: str | None = None):
    """GET through nginx, optionally with a genlab_route cookie: (status, replica header, route set, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers={"Cookie": f"genlab_route={route}"} if route is not None else {})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    routes = [c for c in response.msg.get_all("Set-Cookie") or [] if c.startswith("genlab_route=")]
    assert len(routes) <= 1, routes
    if routes:   # the cookie as it is set, and as a browser keeps it: for the whole site, out of scripts' reach
        assert "Path=/" in routes[0] and "HttpOnly" in routes[0] and "SameSite=Lax" in routes[0], routes[0]
    set_route = routes[0].split(";", 1)[0].split("=", 1)[1] if routes else None
    return response.status, response.getheader("X-GenLab-Replica"), set_route, body


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`bash scripts/serve.sh --replicas 2 --port P` until the module ends: {port, process, folder, log}."""
    if not os.access(NGINX, os.X_OK):
        pytest.fail(f"no nginx at {NGINX}: run scripts/test.sh, which installs Debian's nginx")
    folder = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {**os.environ, "PYTHON": sys.executable, "GENLAB_SERVE_DIR": str(folder / "serve"),
           "GENLAB_RUNS": str(folder / "runs"), "GENLAB_CACHE_DIR": str(folder / "cache")}
    log_path = folder / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(["bash", "scripts/serve.sh", "--replicas", "2", "--port", str(port),
                                    "--tabs-per-address", str(TABS)], cwd=ROOT,
                                   env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not listening(port):   # nginx starts once both replicas answer their health check
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve.sh did not listen on {port} within {START_TIMEOUT} s:\n{log_path.read_text()}")
            time.sleep(0.3)
        while "Ctrl-C" not in log_path.read_text():   # ... and prints the URL once nginx answers
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve.sh did not print its URL:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield {"port": port, "process": process, "folder": folder / "serve", "log": log_path}
    finally:
        if process.poll() is None:   # a failed test: stop the whole group (the replicas and nginx are in it)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_home_page_sets_a_route_cookie(served):
    status, replica, route, body = get(served["port"])
    assert status == 200
    assert b'<div id="root">' in body and b"<title>" in body   # Streamlit's page, which loads the app
    assert route in ("r1", "r2") and replica == route
    assert "http://" in served["log"].read_text() and f":{served['port']}/" in served["log"].read_text()


def test_a_long_link_passes_and_a_too_long_one_gets_the_page_that_says_so(served):
    """Issue 32, 20: nginx takes links as long as the app server does (its default 8 KB buffer refused more),
    and a longer one gets GenLab's page saying the link is too long, not nginx's bare 414."""
    status, _, _, body = get(served["port"], "/explorer?z=" + "0" * 20_000)
    assert status == 200 and b'<div id="root">' in body
    status, _, _, body = get(served["port"], "/explorer?z=" + "0" * 70_000)
    assert status in (400, 414) and b"This link is too long" in body, (status, body[:300])


def test_requests_with_the_cookie_stay_on_their_replica(served):
    port = served["port"]
    seen = {get(port, "/_stcore/health")[1] for _ in range(4)}
    assert seen == {"r1", "r2"}, "without a cookie, requests go round the pool"
    for route in ("r1", "r2"):
        for path in ("/", "/_stcore/health", "/_stcore/host-config", "/favicon.png"):
            status, replica, set_route, _ = get(port, path, route)
            assert (status, replica, set_route) == (200, route, None), path   # no new cookie: it is right


def test_a_forged_cookie_falls_back_to_the_pool(served):
    port = served["port"]
    for forged in ("r3", "r0", "r1x", "127.0.0.1:1", "genlab_pool", "genlab_r1", "evil.example:80", ""):
        answers = [get(port, "/_stcore/health", forged) for _ in range(3)]
        for status, replica, set_route, body in answers:
            assert (status, body) == (200, b"ok"), forged
            assert replica in ("r1", "r2") and set_route == replica, forged   # and it gets a real route
        assert len({a[1] for a in answers}) == 2, f"{forged!r} was pinned instead of going round the pool"


def open_websocket(port: int, route: str, key: str) -> tuple[socket.socket, list[str]]:
    """A websocket handshake through the proxy: the open socket and the answer's head lines."""
    request = (f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Protocol: streamlit\r\nOrigin: http://127.0.0.1:{port}\r\n"
               f"Cookie: genlab_route={route}\r\n\r\n")
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    s.sendall(request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, f"the connection closed during the handshake: {head!r}"
        head += chunk
    return s, head.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")


def test_one_address_holds_at_most_its_share_of_open_pages(served):
    """--tabs-per-address: the next websocket from the same address is refused (429) while TABS are open."""
    sockets = []
    try:
        for _ in range(TABS):
            s, lines = open_websocket(served["port"], "r1", base64.b64encode(os.urandom(16)).decode())
            sockets.append(s)
            assert lines[0] == "HTTP/1.1 101 Switching Protocols", lines
        s, lines = open_websocket(served["port"], "r1", base64.b64encode(os.urandom(16)).decode())
        sockets.append(s)
        assert lines[0].startswith("HTTP/1.1 429"), lines
    finally:
        for s in sockets:
            s.close()
    # nginx frees an address's slots once it has seen the closes: wait for that, so later tests get theirs.
    deadline = time.monotonic() + 15
    while True:
        s, lines = open_websocket(served["port"], "r1", base64.b64encode(os.urandom(16)).decode())
        s.close()
        if lines[0] == "HTTP/1.1 101 Switching Protocols" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert lines[0] == "HTTP/1.1 101 Switching Protocols", lines


def test_the_websocket_upgrades_through_the_proxy_on_the_cookies_replica(served):
    port = served["port"]
    for route in ("r1", "r2"):
        key = base64.b64encode(os.urandom(16)).decode()
        s, lines = open_websocket(port, route, key)
        s.close()
        assert lines[0] == "HTTP/1.1 101 Switching Protocols", lines
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
        assert headers["sec-websocket-accept"] == accept.decode()
        assert headers["x-genlab-replica"] == route


def test_stopping_the_script_stops_nginx_and_every_replica(served):
    process, port = served["process"], served["port"]
    started = descendants(process.pid)
    commands = {pid: cmdline(pid) for pid in started}
    replica_ports = [int(c.split("--server.port ", 1)[1].split()[0]) for c in commands.values() if "streamlit" in c]
    assert len(replica_ports) == 2, commands
    assert sum("nginx: master" in c for c in commands.values()) == 1, commands
    assert all(listening(p) for p in replica_ports)

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert "stopping nginx and the replicas" in served["log"].read_text()
    left = {pid: commands[pid] for pid, start in started.items() if alive(pid, start)}
    assert not left, f"still running after serve.sh ended: {left}"
    strays = [c for c in map(cmdline, (int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()))
              if str(served["folder"]) in c or any(f"--server.port {p} " in c for p in replica_ports)]
    assert not strays, strays
    assert not listening(port) and not any(listening(p) for p in replica_ports)
