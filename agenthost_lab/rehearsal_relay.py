"""A slow network in user space: a TCP relay on 127.0.0.1 in front of each host's SSH port that
holds what it forwards for a while in each direction.

This machine's kernel has no netem, so `tc qdisc ... netem delay` is not available. With a
25 ms delay each way, every round trip through the relay takes 50 ms more, as over a WAN; the
delay is a pipeline, not a throttle: what arrives while earlier data waits is not held longer.

    agenthost rehearsal relay --set bench --delay-ms 25

writes the set `bench-delayed` (same hosts, the relay's ports) and serves until stopped, so that
`AGENTHOST_REHEARSAL_SET=bench-delayed pyinfra inventory/rehearsal.py deploy.py` goes through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
from collections.abc import Callable
from dataclasses import replace

from agenthost_lab import state

LOOPBACK = "127.0.0.1"
CHUNK = 65536


async def _delayed_pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
) -> None:
    """Copy reader to writer, each chunk `delay` seconds after it arrived; EOF likewise."""
    loop = asyncio.get_running_loop()
    held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def receive() -> None:
        while True:
            data = await reader.read(CHUNK)
            held.put_nowait((loop.time() + delay, data))
            if not data:
                return

    async def send() -> None:
        while True:
            due, data = await held.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(receive(), send())


async def _relay_connection(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    target_port: int,
    delay: float,
) -> None:
    try:
        target_reader, target_writer = await asyncio.open_connection(LOOPBACK, target_port)
    except OSError:
        client_writer.close()
        return
    try:
        await asyncio.gather(
            _delayed_pump(client_reader, target_writer, delay),
            _delayed_pump(target_reader, client_writer, delay),
        )
    except (ConnectionError, OSError):
        pass  # one side went away: close both
    finally:
        for writer in (client_writer, target_writer):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def start_relay(target_port: int, delay: float, listen_port: int = 0) -> asyncio.Server:
    """A server on 127.0.0.1 (a free port unless `listen_port`) that relays every connection
    to 127.0.0.1:`target_port`, holding data `delay` seconds each way."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Open connections are cancelled when the relay stops; Python 3.11's streams would then
        # log each cancelled handler with a traceback, as if it had failed.
        with contextlib.suppress(asyncio.CancelledError):
            await _relay_connection(reader, writer, target_port, delay)

    return await asyncio.start_server(handle, LOOPBACK, listen_port)


def listen_port(server: asyncio.Server) -> int:
    return server.sockets[0].getsockname()[1]


def delayed_set_name(set_name: str) -> str:
    return f"{set_name}-delayed"


async def serve_set(set_name: str, delay: float, ready: Callable[[str], None]) -> None:
    """Relay every host of `set_name`, write the set `<set>-delayed` that goes through the
    relays and call `ready` with its name; serve until cancelled, then remove that set's state."""
    hosts = state.load_hosts(set_name)
    servers = {h.name: await start_relay(h.port, delay) for h in hosts}
    delayed = delayed_set_name(set_name)
    relayed = [replace(h, port=listen_port(servers[h.name])) for h in hosts]
    state.write_state(delayed, relayed)
    try:
        ready(delayed)
        await asyncio.gather(*(s.serve_forever() for s in servers.values()))
    finally:
        for server in servers.values():
            server.close()
        shutil.rmtree(state.state_dir(delayed), ignore_errors=True)


def run(set_name: str, delay: float) -> None:
    """Serve `set_name`'s relays in the foreground until SIGINT or SIGTERM."""

    async def main() -> None:
        task = asyncio.current_task()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
        # The benchmark waits for this line before it uses the set.
        await serve_set(set_name, delay, lambda name: print(name, flush=True))

    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(main())
