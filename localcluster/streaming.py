"""The API server's ``pods/exec`` and ``pods/log`` subresources, served from the pod's node.

``exec``: like kube-apiserver proxying to kubelet, we ask the pod's node for a CRI ``Exec`` URL on
containerd's streaming server and relay WebSocket frames both ways. kubectl 1.32 offers
``v5.channel.k8s.io`` first (then v4 ...); the frames of v4 and v5 are the same (one channel byte,
then data: 0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize), so they pass through unchanged to
containerd's v4 server. v5's close signal (channel 255: end of stdin) has no v4 equivalent, so a
v5 session with stdin and no TTY runs as a containerd task exec on local pipes instead (``ctr tasks
exec``, the same runc exec into the container), whose stdin we close when kubectl closes it.
``portforward``: SPDY over a WebSocket, served here (``portforwarding``).
``log``: reads the CRI log file (``<time> <stream> <P|F> <text>``) of the container or of its
previous instance, with ``tailLines``, ``timestamps`` and ``follow``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from aiohttp import web

from localcluster import portforwarding, spdy
from localcluster.apiserver import ApiServer
from localcluster.errors import ApiError, bad_request, not_found
from localcluster.node import netdial

log = logging.getLogger(__name__)
PROTOCOLS = (
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
)
UPSTREAM_PROTOCOL = "v4.channel.k8s.io"
CLOSE_CHANNEL = 255


class StreamingNode(Protocol):
    def exec_url(self, uid: str, container: str, cmd: list[str], stdin: bool, tty: bool) -> str: ...

    def log_file(self, uid: str, container: str, previous: bool) -> Path: ...

    def exec_argv(self, uid: str, container: str, cmd: list[str]) -> list[str]: ...


def parse_log_line(line: bytes) -> tuple[str, str, bool, bytes] | None:
    """``(time, stream, partial, text)`` of one CRI log line, None when malformed (pure)."""
    parts = line.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 3:
        return None
    text = parts[3] if len(parts) == 4 else b""
    return parts[0].decode(), parts[1].decode(), parts[2] == b"P", text


def render_log(data: bytes, timestamps: bool) -> bytes:
    """What kubectl prints for CRI log lines: text, partial lines joined (pure)."""
    out = bytearray()
    for raw in data.splitlines():
        parsed = parse_log_line(raw)
        if parsed is None:
            continue
        when, _stream, partial, text = parsed
        if timestamps and (not out or out.endswith(b"\n")):
            out += when.encode() + b" "
        out += text if partial else text + b"\n"
    return bytes(out)


def tail(data: bytes, lines: int) -> bytes:
    if lines < 0:
        return data
    kept = data.splitlines(keepends=True)
    return b"".join(kept[len(kept) - lines :]) if lines else b""


class Streaming:
    """aiohttp handlers for exec and log; ``nodes`` maps a node name to its runtime."""

    def __init__(self, api: ApiServer, nodes: Callable[[], dict[str, Any]]) -> None:
        self.api = api
        self.nodes = nodes

    def routes(self) -> list[web.RouteDef]:
        base = "/api/v1/namespaces/{namespace}/pods/{name}"
        return [
            web.route("GET", f"{base}/exec", self.exec),
            web.route("POST", f"{base}/exec", self.exec),
            web.route("GET", f"{base}/log", self.log),
            web.route("GET", f"{base}/portforward", self.portforward),
            web.route("POST", f"{base}/portforward", self.portforward),
        ]

    def _target(self, request: web.Request) -> tuple[dict[str, Any], str, StreamingNode]:
        ns, name = request.match_info["namespace"], request.match_info["name"]
        pod = self.api.store.find(self.api.res("", "pods"), ns, name)
        if pod is None:
            raise not_found("", "pods", name)
        containers = [c["name"] for c in pod.get("spec", {}).get("containers") or []]
        container = request.query.get("container") or (containers[0] if containers else "")
        if container not in containers:
            raise bad_request(f"container {container} is not valid for pod {name}")
        node = self.nodes().get(pod.get("spec", {}).get("nodeName") or "")
        if node is None or not hasattr(node, "exec_url"):
            raise bad_request(f"pod {name} does not run on a node with a container runtime")
        return pod, container, node

    async def exec(self, request: web.Request) -> web.StreamResponse:
        try:
            pod, container, node = self._target(request)
            cmd = request.query.getall("command", [])
            if not cmd:
                raise bad_request("you must specify at least 1 command")
            flags = {k: request.query.get(k, "") in ("1", "true") for k in ("stdin", "tty")}
            piped = flags["stdin"] and not flags["tty"] and PROTOCOLS[0] in _offered(request)
            uid = pod["metadata"]["uid"]
            if piped:
                target = await asyncio.to_thread(node.exec_argv, uid, container, cmd)
            else:
                url = await asyncio.to_thread(
                    node.exec_url, uid, container, cmd, flags["stdin"], flags["tty"]
                )
        except LookupError as err:
            return web.json_response(ApiError(400, "BadRequest", str(err)).body(), status=400)
        except ApiError as err:
            return web.json_response(err.body(), status=err.code)
        except Exception as err:  # a CRI failure: the runtime's message
            return web.json_response(ApiError(500, "InternalError", str(err)).body(), status=500)
        client = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True)
        if not client.can_prepare(request).ok:
            status = ApiError(400, "BadRequest", "exec needs a WebSocket upgrade (v5.channel.k8s.io)")
            return web.json_response(status.body(), status=400)
        await client.prepare(request)
        if piped:
            await _serve_process(client, target)
        else:
            await _relay(client, url)
        return client

    async def portforward(self, request: web.Request) -> web.StreamResponse:
        """``kubectl port-forward``: SPDY streams tunnelled in a WebSocket (``portforwarding``)."""
        ns, name = request.match_info["namespace"], request.match_info["name"]
        pod = self.api.store.find(self.api.res("", "pods"), ns, name)
        address = ((pod or {}).get("status") or {}).get("podIP")
        if pod is None:
            err = not_found("", "pods", name)
            return web.json_response(err.body(), status=err.code)
        phase = (pod.get("status") or {}).get("phase", "Pending")
        if phase != "Running" or not address:
            message = f"unable to forward port because pod is not running. Current status={phase}"
            return web.json_response(ApiError(400, "BadRequest", message).body(), status=400)
        protocols = (portforwarding.PROTOCOL, *portforwarding.CHANNEL_PROTOCOLS)
        client = web.WebSocketResponse(protocols=protocols, autoping=True)
        if not client.can_prepare(request).ok:
            body = ApiError(
                400, "BadRequest", f"port-forward needs a WebSocket upgrade ({portforwarding.PROTOCOL})"
            ).body()
            return web.json_response(body, status=400)
        await client.prepare(request)
        dial, target = await self._dialer(pod, str(address))
        if client.ws_protocol != portforwarding.PROTOCOL:
            ports = [int(p) for v in request.query.getall("ports", []) for p in v.split(",") if p.isdigit()]
            await portforwarding.serve_channels(client, dial, target, ports, f"{name}_{ns}")
            await client.close()
            return client
        session = portforwarding.PortForwardSession(client.send_bytes, dial, target, f"{name}_{ns}")
        try:
            async for msg in client:
                if msg.type != aiohttp.WSMsgType.BINARY or not await session.feed(msg.data):
                    break
        except spdy.SpdyError as err:
            log.warning("Port forward ended pod=%s/%s error=%s", ns, name, err)
        finally:
            await session.close()
        await client.close()
        return client

    async def _dialer(self, pod: dict[str, Any], address: str) -> tuple[portforwarding.Dial, str]:
        """Connections to the pod's loopback, inside its network namespace (the host's for
        ``hostNetwork``), as the CRI's PortForward makes them; the pod IP on nodes without one."""
        node = self.nodes().get(pod.get("spec", {}).get("nodeName") or "")
        netns = None
        if node is not None and hasattr(node, "netns"):
            with contextlib.suppress(Exception):
                netns = await asyncio.to_thread(node.netns, pod["metadata"]["uid"])

        async def dial(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            if netns:
                sock = await asyncio.to_thread(netdial.connect_in, netns, port)
                return await asyncio.open_connection(sock=sock)
            return await asyncio.open_connection("127.0.0.1" if netns == "" else address, port)

        return dial, address if netns is None else "127.0.0.1"

    async def log(self, request: web.Request) -> web.StreamResponse:
        try:
            pod, container, node = self._target(request)
            previous = request.query.get("previous") in ("1", "true")
            path = await asyncio.to_thread(node.log_file, pod["metadata"]["uid"], container, previous)
            lines = int(request.query.get("tailLines", "-1"))
        except LookupError as err:
            return web.json_response(ApiError(400, "BadRequest", str(err)).body(), status=400)
        except ValueError:
            return web.json_response(bad_request("tailLines must be an integer").body(), status=400)
        except ApiError as err:
            return web.json_response(err.body(), status=err.code)
        stamps = request.query.get("timestamps") in ("1", "true")
        data = path.read_bytes() if path.exists() else b""
        body = tail(render_log(data, stamps), lines)
        if request.query.get("follow") not in ("1", "true"):
            return web.Response(body=body, content_type="text/plain")
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await response.prepare(request)
        await response.write(body)
        await _follow(response, path, len(data), stamps, lambda: self._alive(pod))
        return response

    def _alive(self, pod: dict[str, Any]) -> bool:
        meta = pod["metadata"]
        now = self.api.store.find(self.api.res("", "pods"), meta.get("namespace"), meta["name"])
        return now is not None and now["metadata"]["uid"] == meta["uid"]


async def _follow(
    response: web.StreamResponse, path: Path, offset: int, stamps: bool, alive: Callable[[], bool]
) -> None:
    """Send what the container writes until the pod goes or the client leaves."""
    pending = b""
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        while alive():
            try:
                with path.open("rb") as f:
                    f.seek(offset)
                    chunk = f.read()
            except FileNotFoundError:
                chunk = b""
            if chunk:
                offset += len(chunk)
                pending += chunk
                complete, _, pending = pending.rpartition(b"\n")
                if complete:
                    await response.write(render_log(complete + b"\n", stamps))
            await asyncio.sleep(0.2)


def _offered(request: web.Request) -> list[str]:
    header = request.headers.get("Sec-WebSocket-Protocol", "")
    return [p.strip() for p in header.split(",") if p.strip()]


def exit_status(code: int) -> dict[str, Any]:
    """The v4/v5 status frame for an exit code, as kubelet sends it (pure)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


async def _serve_process(client: web.WebSocketResponse, argv: list[str]) -> None:
    """Run ``argv`` with pipes: channel 0 feeds stdin (255 closes it), 1/2 carry output, 3 the end."""
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdin and proc.stdout and proc.stderr

    async def pump(stream: asyncio.StreamReader, channel: int) -> None:
        while chunk := await stream.read(65536):
            await client.send_bytes(bytes([channel]) + chunk)

    async def feed() -> None:
        assert proc.stdin
        async for msg in client:  # the kubernetes Python client sends stdin as TEXT frames
            if msg.type not in (aiohttp.WSMsgType.BINARY, aiohttp.WSMsgType.TEXT) or not msg.data:
                break
            data = msg.data.encode() if isinstance(msg.data, str) else msg.data
            if data[0] == 0:
                proc.stdin.write(data[1:])
                await proc.stdin.drain()
            elif data[0] == CLOSE_CHANNEL and data[1:2] == b"\x00":
                proc.stdin.close()
        if proc.returncode is None:
            proc.kill()

    feeder = asyncio.create_task(feed())
    with contextlib.suppress(ConnectionError):
        await asyncio.gather(pump(proc.stdout, 1), pump(proc.stderr, 2))
        code = await proc.wait()
        await client.send_bytes(b"\x03" + json.dumps(exit_status(code)).encode())
    feeder.cancel()
    with contextlib.suppress(asyncio.CancelledError, ConnectionError):
        await feeder
    await client.close()


async def _relay(client: web.WebSocketResponse, url: str) -> None:
    """Copy frames between kubectl and containerd's streaming server until either side ends."""
    async with aiohttp.ClientSession() as session:
        try:
            upstream = await session.ws_connect(url, protocols=(UPSTREAM_PROTOCOL,), autoping=True)
        except aiohttp.ClientError as err:
            await client.close(message=f"cannot reach the container runtime: {err}".encode())
            return
        async with upstream:
            to_runtime = asyncio.create_task(_client_to_runtime(client, upstream))
            async for msg in upstream:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    await client.send_bytes(msg.data)
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    await client.send_str(msg.data)
                else:
                    break
            to_runtime.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await to_runtime
    await client.close()


async def _client_to_runtime(
    client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse
) -> None:
    async for msg in client:
        if msg.type == aiohttp.WSMsgType.BINARY:
            if msg.data[:1] == bytes([CLOSE_CHANNEL]):
                continue
            await upstream.send_bytes(msg.data)
        elif msg.type == aiohttp.WSMsgType.TEXT:
            await upstream.send_str(msg.data)
        else:
            break
    await upstream.close()
