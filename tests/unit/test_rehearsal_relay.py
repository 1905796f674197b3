"""The latency relay, against an echo server on 127.0.0.1 (bounded: every wait has a timeout)."""

import asyncio
import time

import pytest

from agenthost_lab import rehearsal_relay, state
from agenthost_lab.state import Host

DELAY = 0.05
TIMEOUT = 5.0


async def echo_server() -> asyncio.Server:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(echo, "127.0.0.1", 0)


async def round_trip(port: int, payload: bytes) -> tuple[bytes, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(payload)
    await writer.drain()
    received = await reader.readexactly(len(payload))
    elapsed = time.monotonic() - started
    writer.close()
    return received, elapsed


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, TIMEOUT))


def test_a_round_trip_through_the_relay_takes_the_delay_twice_and_keeps_the_bytes():
    async def scenario():
        echo = await echo_server()
        relay = await rehearsal_relay.start_relay(rehearsal_relay.listen_port(echo), DELAY)
        async with echo, relay:
            direct = await round_trip(rehearsal_relay.listen_port(echo), b"ping")
            relayed = await round_trip(rehearsal_relay.listen_port(relay), b"ping")
        return direct, relayed

    (direct_bytes, direct_s), (relayed_bytes, relayed_s) = run(scenario())
    assert direct_bytes == relayed_bytes == b"ping"
    assert relayed_s >= 2 * DELAY
    assert relayed_s < 2 * DELAY + 1.0  # generous: the machine is shared


def test_data_is_a_pipeline_not_a_queue_of_delays_and_keeps_its_order():
    """Ten writes in a row arrive after one delay each way, not after ten of them."""

    async def scenario():
        echo = await echo_server()
        relay = await rehearsal_relay.start_relay(rehearsal_relay.listen_port(echo), DELAY)
        async with echo, relay:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", rehearsal_relay.listen_port(relay)
            )
            started = time.monotonic()
            payload = b""
            for i in range(10):
                chunk = f"{i:04d}".encode() * 1000
                payload += chunk
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.005)
            received = await reader.readexactly(len(payload))
            elapsed = time.monotonic() - started
            writer.write_eof()
            closed = await reader.read()  # the echo closes after our EOF went through
            writer.close()
        return payload, received, elapsed, closed

    payload, received, elapsed, closed = run(scenario())
    assert received == payload and closed == b""
    assert 2 * DELAY <= elapsed < 10 * 2 * DELAY


def test_a_refused_target_closes_the_client_connection():
    async def scenario():
        unused = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = rehearsal_relay.listen_port(unused)
        unused.close()
        await unused.wait_closed()
        relay = await rehearsal_relay.start_relay(port, DELAY)
        async with relay:
            reader, _ = await asyncio.open_connection(
                "127.0.0.1", rehearsal_relay.listen_port(relay)
            )
            return await reader.read()

    assert run(scenario()) == b""


def test_the_delayed_set_is_the_same_hosts_on_the_relay_ports_and_goes_away(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTHOST_REHEARSAL_DIR", str(tmp_path))

    async def scenario():
        echo = await echo_server()
        port = rehearsal_relay.listen_port(echo)
        state.write_state("bench", [Host("agenthost-bench-bookworm-1", "bookworm", port, "/k")])
        ready = asyncio.Event()
        names = []
        serving = asyncio.create_task(
            rehearsal_relay.serve_set("bench", DELAY, lambda n: (names.append(n), ready.set()))
        )
        await ready.wait()
        (relayed,) = state.load_hosts("bench-delayed")
        received, elapsed = await round_trip(relayed.port, b"hello")
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
        echo.close()
        return names, relayed, port, received, elapsed

    names, relayed, port, received, elapsed = run(scenario())
    assert names == ["bench-delayed"]
    assert relayed.name == "agenthost-bench-bookworm-1" and relayed.port != port
    assert received == b"hello" and elapsed >= 2 * DELAY
    assert not (tmp_path / "bench-delayed").exists()
