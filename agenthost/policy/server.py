"""The agenthost-docker-policy service: the Docker API as agents may use it, on the agent host.

Runs on the host (stdlib only; the deploy copies this package there), one process per policy
socket, started by systemd's socket activation (agenthost-docker-policy@.socket). Agents and
their builds reach Docker only through such a socket; root and the deploy keep the real one.

Each connection carries one request: it is parsed strictly (one Content-Length or chunked, never
both; HTTP/1.0 and 1.1; no pipelining: what follows the body is not forwarded), the path decoded
and its API version prefix removed, then checked. An allowed request goes to dockerd with
`Connection: close`; a refusal answers 403 with a message naming the setting that would allow it.
Streams that Docker hijacks (attach, exec, BuildKit's session) are piped both ways only after
dockerd switched protocols. JSON bodies are read as Go reads them: keys case-insensitively
(Unicode simple folding), repeated objects merged.
"""


from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys

from .rules import Policy, Refused, folded, parse_json, route

UPSTREAM = "/run/docker.sock"
MAX_HEAD = 64 * 1024
MAX_JSON = 4 * 1024 * 1024  # a create request's body; build contexts and archives stream
HEAD_TIMEOUT = 30  # seconds for a client to send its request head
_REQUEST_LINE = re.compile(r"^([A-Z]+) (\S+) HTTP/1\.([01])$")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te",
        "proxy-connection", "expect", "trailer"}  # fmt: skip
_HIJACK = re.compile(r"^/(containers/[^/]+/attach(/ws)?|exec/[^/]+/start|session|grpc)$")
_STREAMS = (b"application/vnd.docker.raw-stream", b"application/vnd.docker.multiplexed-stream")


class Request:
    """One request's head, read strictly."""

    def __init__(self, head: bytes):
        try:
            lines = head.decode("ascii").split("\r\n")
        except UnicodeDecodeError:
            raise Refused("a request head that is not ASCII", status=400) from None
        line = _REQUEST_LINE.match(lines[0])
        if not line:
            raise Refused(f"request line {lines[0][:80]!r}", status=400)
        self.method, self.target, self.minor = line[1], line[2], line[3]
        self.headers: list[tuple[str, str]] = []
        for raw in filter(None, lines[1:]):
            name, sep, value = raw.partition(":")
            if not sep or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name):
                raise Refused(f"header line {raw[:80]!r}", status=400)
            self.headers.append((name.lower(), value.strip()))
        lengths = self.all("content-length")
        encodings = self.all("transfer-encoding")
        if len(lengths) > 1 or (lengths and encodings) or not all(v.isdigit() for v in lengths):
            raise Refused("an ambiguous body length", status=400)
        if encodings and [e.lower() for e in encodings] != ["chunked"]:
            raise Refused(f"transfer encoding {encodings}", status=400)
        self.chunked = bool(encodings)
        self.length = int(lengths[0]) if lengths else 0
        self.upgrade = self.all("upgrade")[:1]

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    def head(self, length: int | None, upgrade: bool) -> bytes:
        """The head sent to dockerd: hop-by-hop headers replaced by ours."""
        lines = [f"{self.method} {self.target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in self.headers if k not in _HOP]
        if upgrade and self.upgrade:
            lines += ["Connection: Upgrade", f"Upgrade: {self.upgrade[0]}"]
        else:
            lines += ["Connection: close"]
        lines += [f"Content-Length: {length}"] if length is not None else []
        lines += ["Transfer-Encoding: chunked"] if length is None else []
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


async def chunks(reader: asyncio.StreamReader):
    """The chunks of a chunked body, as they come (trailers read and dropped)."""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise Refused("a malformed chunk", status=400) from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return
        data = await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise Refused("a malformed chunk", status=400)
        yield data


async def read_body(reader: asyncio.StreamReader, request: Request) -> bytes:
    if not request.chunked:
        if request.length > MAX_JSON:
            raise Refused("a JSON body over 4 MiB", status=413)
        return await reader.readexactly(request.length)
    body = b""
    async for data in chunks(reader):
        body += data
        if len(body) > MAX_JSON:
            raise Refused("a JSON body over 4 MiB", status=413)
    return body


async def upstream_json(path: str) -> dict | None:
    """GET `path` from dockerd; None when it answers 404."""
    reader, writer = await asyncio.open_unix_connection(UPSTREAM)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n".encode())
        response = await reader.read()
    finally:
        writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status == 404:
        return None
    if b"transfer-encoding: chunked" in head.lower():
        body = b"".join([c async for c in chunks(_feed(body))])
    return json.loads(body, object_pairs_hook=folded)


def _feed(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def check_targets(policy: Policy, targets: list[str], depth: int = 0) -> None:
    """Containers, execs and volumes a request touches pass the policy themselves."""
    paths = {"c": "/containers/{}/json", "e": "/exec/{}/json", "v": "/volumes/{}"}
    for target in targets:
        kind, name = target.split(":", 1)
        if depth > 3:
            raise Refused(f"a chain of containers through {name}")
        found = await upstream_json(paths[kind].format(quote_name(name)))
        if found is not None:
            await check_targets(policy, policy.inspected(kind, found), depth + 1)


def quote_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.:@/-]+", name) or ".." in name:
        raise Refused(f"the name {name!r}", status=400)
    return name


def answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    body = json.dumps({"message": message}).encode()
    reason = {400: "Bad Request", 403: "Forbidden", 413: "Payload Too Large",
              502: "Bad Gateway"}.get(status, "Error")  # fmt: skip
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)


async def linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """After a refusal, reads what the client still sends (a body not read yet) for a while: a
    socket closed with unread data resets the connection, and the client never sees the 403."""
    try:
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        left = MAX_JSON
        while left > 0 and (data := await asyncio.wait_for(reader.read(65536), 2)):
            left -= len(data)
    except (TimeoutError, ConnectionError, OSError):
        pass


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


async def send_body(request: Request, body: bytes | None, reader, up_writer) -> None:
    """The body as read (JSON), or streamed: re-chunked, or exactly Content-Length bytes."""
    if body is not None:
        up_writer.write(body)
    elif request.chunked:
        async for data in chunks(reader):
            up_writer.write(b"%x\r\n%s\r\n" % (len(data), data))
            await up_writer.drain()
        up_writer.write(b"0\r\n\r\n")
    else:
        left = request.length
        while left:
            data = await reader.read(min(left, 65536))
            if not data:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(data)
            up_writer.write(data)
            await up_writer.drain()
    await up_writer.drain()


async def forward(request: Request, body: bytes | None, reader, writer, path: str) -> None:
    """Sends the request on, then the response back; both ways only once Docker hijacked."""
    up_reader, up_writer = await asyncio.open_unix_connection(UPSTREAM)
    hijack = bool(_HIJACK.match(path))
    streamed = body is None and request.chunked
    length = len(body) if body is not None else (None if streamed else request.length)
    try:
        up_writer.write(request.head(length, hijack))
        await send_body(request, body, reader, up_writer)
        head = await up_reader.readuntil(b"\r\n\r\n")
        writer.write(head)
        status = head.split(b" ", 2)[1]
        switched = status == b"101" or any(s in head.lower() for s in _STREAMS)
        if hijack and switched:
            await asyncio.gather(pipe(up_reader, writer), pipe(reader, up_writer))
        else:
            await pipe(up_reader, writer)
    finally:
        up_writer.close()


# asyncio holds tasks weakly: a stream whose client has half-closed (an exec without stdin) is
# referenced by nothing else, and would be collected mid-stream.
_serving: set[asyncio.Task] = set()


async def serve(policy: Policy, reader, writer) -> None:
    task = asyncio.current_task()
    _serving.add(task)
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        if len(head) > MAX_HEAD:
            raise Refused("a request head over 64 KiB", status=400)
        request = Request(head[:-4])
        path, query = route(request.method, request.target)
        json_body = request.method == "POST" and not re.match(
            r"^/(build|images/create|images/load|session|grpc)$", path)
        raw = await read_body(reader, request) if json_body else None
        body = parse_json(raw) if raw is not None else {}
        await check_targets(policy, policy.request(request.method, path, query, body))
        await forward(request, raw, reader, writer, path)
    except Refused as refusal:
        answer(writer, refusal.status, policy.message(refusal))
        await linger(reader, writer)
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        pass
    except OSError as error:
        answer(writer, 502, f"agenthost docker policy: Docker is not reachable ({error})")
    finally:
        _serving.discard(task)
        try:
            await writer.drain()
            writer.close()
        except (ConnectionError, OSError):
            pass


def main(config_path: str) -> None:
    """Serves the sockets systemd passes (LISTEN_FDS) with the policy in `config_path`."""
    with open(config_path) as file:
        policy = Policy(json.load(file))
    count = int(os.environ.get("LISTEN_FDS", "0"))
    if os.environ.get("LISTEN_PID") not in (None, str(os.getpid())) or count < 1:
        sys.exit("agenthost-docker-policy: start it through its .socket unit")

    async def run() -> None:
        servers = [
            await asyncio.start_unix_server(
                lambda r, w: serve(policy, r, w),
                sock=socket.socket(fileno=3 + n),
                limit=MAX_HEAD,
            )
            for n in range(count)
        ]
        await asyncio.gather(*(server.serve_forever() for server in servers))

    asyncio.run(run())


if __name__ == "__main__":
    main(sys.argv[1])
