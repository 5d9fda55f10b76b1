#!/usr/bin/env python3
"""A hostile client for the load benchmark, run beside wrk until killed.

  hostile.py slowloris HOST:PORT [CONNECTIONS]   # keep CONNECTIONS connections trickling
                                                 # one request-head byte every 2 s, and
                                                 # reopen the ones the server closes
  hostile.py flood HOST:PORT [RATE]              # RATE manifest requests/s, each for a
                                                 # made-up runtime version (a new scope)

Prints one line of counters to stderr when killed (SIGTERM).
"""
import asyncio
import signal
import sys
import uuid

HEAD = b"GET /manifest HTTP/1.1\r\nHost: x\r\nexpo-platform: ios\r\nexpo-runtime-version: 1\r\n"


async def slowloris(host, port, connections, stats):
    async def one():
        while True:
            try:
                _, writer = await asyncio.open_connection(host, port)
                stats["opened"] += 1
                for i in range(10_000):
                    writer.write(HEAD[i % len(HEAD) : i % len(HEAD) + 1])
                    await writer.drain()
                    await asyncio.sleep(2)
            except (ConnectionError, OSError):
                stats["closed by server"] += 1
                await asyncio.sleep(0.1)

    await asyncio.gather(*(one() for _ in range(connections)))


async def flood(host, port, rate, stats):
    workers = 16
    delay = workers / rate

    async def one():
        while True:
            try:
                reader, writer = await asyncio.open_connection(host, port)
                while True:
                    request = (
                        "GET /manifest HTTP/1.1\r\nHost: x\r\nexpo-protocol-version: 1\r\n"
                        f"expo-platform: ios\r\nexpo-runtime-version: made-up-{uuid.uuid4()}\r\n\r\n"
                    ).encode()
                    writer.write(request)
                    await writer.drain()
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = head.split(b" ", 2)[1].decode()
                    stats[status] = stats.get(status, 0) + 1
                    length = 0
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":")[1])
                    if length:
                        await reader.readexactly(length)
                    await asyncio.sleep(delay)
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                stats["reconnects"] = stats.get("reconnects", 0) + 1
                await asyncio.sleep(0.1)

    await asyncio.gather(*(one() for _ in range(workers)))


def main():
    mode, address = sys.argv[1], sys.argv[2]
    host, port = address.rsplit(":", 1)
    stats = {"opened": 0, "closed by server": 0} if mode == "slowloris" else {}
    loop = asyncio.new_event_loop()
    if mode == "slowloris":
        task = slowloris(host, int(port), int(sys.argv[3]) if len(sys.argv) > 3 else 1000, stats)
    elif mode == "flood":
        task = flood(host, int(port), float(sys.argv[3]) if len(sys.argv) > 3 else 2000, stats)
    else:
        sys.exit(f"unknown mode {mode}")

    def stop(*_):
        print(f"hostile {mode}: {stats}", file=sys.stderr, flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        loop.run_until_complete(task)
    except SystemExit:
        raise


if __name__ == "__main__":
    main()
