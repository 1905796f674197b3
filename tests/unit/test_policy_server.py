"""agenthost.policy.server: the HTTP it reads from agents and what reaches dockerd, with a
recording stand-in for dockerd on a unix socket."""

from __future__ import annotations

import asyncio
import gc
import json
from pathlib import Path

import pytest

from agenthost.policy import server
from agenthost.policy.rules import Policy

PRIVILEGED = json.dumps({"Image": "x", "HostConfig": {"Privileged": True}}).encode()
PLAIN = json.dumps({"Image": "x", "HostConfig": {}}).encode()


class Dockerd:
    """Answers each connection with `reply` after its request, echoing a hijacked stream."""

    def __init__(self, reply: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"):
        self.reply, self.received = reply, []

    async def handle(self, reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")]  # fmt: skip
        body = await reader.readexactly(length[0]) if length else b""
        self.received.append(head + body)
        writer.write(self.reply)
        await writer.drain()
        if self.reply.startswith(b"HTTP/1.1 101"):
            while data := await reader.read(100):
                writer.write(data.upper())
                await writer.drain()
        writer.close()


def exchange(tmp_path: Path, data: bytes, dockerd: Dockerd, half_close: bool = True) -> bytes:
    async def run() -> bytes:
        upstream = str(tmp_path / "docker.sock")
        server.UPSTREAM = upstream
        policy = Policy({"socket": "/p.sock", "setting": "docker_policy", "binds": ["/ws"],
                         "allow": {}})  # fmt: skip
        up = await asyncio.start_unix_server(dockerd.handle, path=upstream)
        listening = await asyncio.start_unix_server(
            lambda r, w: server.serve(policy, r, w), path=str(tmp_path / "p.sock"))
        reader, writer = await asyncio.open_unix_connection(str(tmp_path / "p.sock"))
        writer.write(data)
        if half_close:
            writer.write_eof()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        for s in (up, listening):
            s.close()
        return answer

    return asyncio.run(run())


@pytest.fixture(autouse=True)
def upstream_restored():
    saved = server.UPSTREAM
    yield
    server.UPSTREAM = saved


def post(path: str, body: bytes, extra: bytes = b"") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: d\r\nContent-Length: {len(body)}\r\n".encode()
            + extra + b"\r\n" + body)  # fmt: skip


def chunked(path: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:7], body[7:]))
            + b"0\r\n\r\n")  # fmt: skip


def test_an_allowed_request_reaches_dockerd_once_with_connection_close(tmp_path):
    dockerd = Dockerd()
    answer = exchange(tmp_path, post("/v1.41/containers/create", PLAIN), dockerd)
    assert answer.endswith(b"ok") and len(dockerd.received) == 1
    head = dockerd.received[0].split(b"\r\n\r\n")[0].lower()
    assert b"connection: close" in head and f"content-length: {len(PLAIN)}".encode() in head


def test_a_refusal_is_a_403_that_docker_prints(tmp_path):
    dockerd = Dockerd()
    answer = exchange(tmp_path, chunked("/v1.41/containers/create", PRIVILEGED), dockerd)
    assert answer.startswith(b"HTTP/1.1 403") and dockerd.received == []
    message = json.loads(answer.split(b"\r\n\r\n", 1)[1])["message"]
    assert message.startswith("agenthost docker policy refuses a privileged container")


def test_a_chunked_body_is_read_whole_and_sent_with_its_length(tmp_path):
    dockerd = Dockerd()
    exchange(tmp_path, chunked("/v1.41/containers/create", PLAIN), dockerd)
    assert dockerd.received[0].endswith(b"\r\n\r\n" + PLAIN)
    assert b"transfer-encoding" not in dockerd.received[0].lower()


def test_a_pipelined_request_is_never_forwarded(tmp_path):
    dockerd = Dockerd()
    data = b"GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n" + post("/containers/create", PRIVILEGED)
    exchange(tmp_path, data, dockerd)
    assert len(dockerd.received) == 1 and dockerd.received[0].startswith(b"GET /_ping")


@pytest.mark.parametrize(
    "extra", [b"Transfer-Encoding: chunked\r\n", b"Content-Length: 3\r\n", b"bad header\r\n"]
)
def test_ambiguous_heads_are_refused_before_dockerd(tmp_path, extra):
    dockerd = Dockerd()
    answer = exchange(tmp_path, post("/containers/create", PLAIN, extra), dockerd)
    assert answer.startswith(b"HTTP/1.1 400") and dockerd.received == []


def test_a_stream_is_piped_both_ways_only_once_dockerd_switched(tmp_path):
    switched = Dockerd(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
    data = (b"POST /v1.41/exec/abc/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\n"
            b"Upgrade: tcp\r\nContent-Length: 2\r\n\r\n{}stdin")  # fmt: skip
    server_json = server.upstream_json

    async def no_exec(path):  # the exec's container is checked by its own test
        return None

    server.upstream_json = no_exec
    try:
        answer = exchange(tmp_path, data, switched)
    finally:
        server.upstream_json = server_json
    assert answer.endswith(b"STDIN")
    assert b"upgrade: tcp" in switched.received[0].lower()


class LateDockerd(Dockerd):
    """Switches protocols, then writes only after a pause: an exec's output, no stdin."""

    async def handle(self, reader, writer):
        self.received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 101 UPGRADED\r\nUpgrade: tcp\r\n\r\n")
        for _ in range(3):
            await asyncio.sleep(0.05)
            gc.collect()  # what a busy process does meanwhile
        writer.write(b"late output")
        await writer.drain()
        writer.close()


def test_a_stream_whose_client_closed_its_side_is_kept_to_the_end(tmp_path, monkeypatch):
    async def no_exec(path):
        return None

    monkeypatch.setattr(server, "upstream_json", no_exec)
    data = (b"POST /v1.41/exec/abc/start HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\n"
            b"Upgrade: tcp\r\nContent-Length: 2\r\n\r\n{}")  # fmt: skip
    assert exchange(tmp_path, data, LateDockerd()).endswith(b"late output")


def test_a_refused_request_still_sending_its_body_sees_the_403(tmp_path):
    """The body arrives after the head was refused (a client writing as it goes)."""

    async def run() -> bytes:
        server.UPSTREAM = str(tmp_path / "absent.sock")
        policy = Policy({"socket": "/p", "setting": "docker_policy", "binds": [], "allow": {}})
        listening = await asyncio.start_unix_server(
            lambda r, w: server.serve(policy, r, w), path=str(tmp_path / "p.sock"))
        reader, writer = await asyncio.open_unix_connection(str(tmp_path / "p.sock"))
        body = b"x" * 300_000
        writer.write(f"POST /v1.45/swarm/init HTTP/1.1\r\nHost: d\r\nContent-Length: {len(body)}"
                     "\r\n\r\n".encode())
        await asyncio.sleep(0.05)
        writer.write(body)  # would reset the connection if the refusal had closed it
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        listening.close()
        return answer

    assert asyncio.run(run()).startswith(b"HTTP/1.1 403")
