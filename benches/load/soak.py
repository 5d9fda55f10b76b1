#!/usr/bin/env python3
"""The steady client of the soak test (benches/load/soak.sh): manifest and asset requests
at a fixed modest rate over keep-alive connections, until killed (SIGTERM) or DURATION
seconds have passed.

  soak.py HOST:PORT RATE DURATION

Half the requests are manifests (signed multipart and JSON in turn), half the launch
asset the last JSON manifest named (brotli, gzip or identity in turn), so every publish and
rollback is followed. Every answer is read whole. Counts answers by status class and
failures (connection errors, short bodies) and writes them as one JSON line to stdout at
the end; an answer with status 400 or above, or a failure, is an error.
"""
import http.client
import json
import signal
import sys
import threading
import time

COMMON = {
    "expo-protocol-version": "1",
    "expo-platform": "ios",
    "expo-runtime-version": "1.0.0",
}
MANIFESTS = [
    {"accept": "multipart/mixed", "expo-expect-signature": 'sig, keyid="main", alg="rsa-v1_5-sha256"'},
    {"accept": "application/expo+json"},
]
ENCODINGS = ["br", "gzip", "identity"]
WORKERS = 4


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    rate = float(sys.argv[2])
    duration = float(sys.argv[3])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lock = threading.Lock()
    counts = {"requests": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0, "failures": 0}
    asset = {"path": None}
    deadline = time.monotonic() + duration

    def count(key):
        with lock:
            counts["requests"] += 1
            counts[key] += 1

    def worker(index):
        connection = None
        n = index
        interval = WORKERS / rate
        next_at = time.monotonic() + index * interval / WORKERS
        while not stop.is_set() and time.monotonic() < deadline:
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            next_at += interval
            n += 1
            if n % 2 == 0 or asset["path"] is None:
                path, headers = "/manifest", {**COMMON, **MANIFESTS[(n // 2) % 2]}
            else:
                path = asset["path"]
                headers = {"accept-encoding": ENCODINGS[(n // 2) % 3]}
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(host, int(port), timeout=10)
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                length = response.getheader("content-length")
                if length is not None and int(length) != len(body):
                    raise OSError("short body")
                count(f"{response.status // 100}xx")
                if response.status >= 400:
                    print(f"{response.status} {path}: {body[:200]!r}", file=sys.stderr)
                if path == "/manifest" and headers["accept"] == "application/expo+json" and response.status == 200:
                    url = json.loads(body)["launchAsset"]["url"]
                    asset["path"] = "/" + url.split("/", 3)[3]
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                count("failures")
                print(f"failure {path}: {e}", file=sys.stderr)
                connection = None

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
