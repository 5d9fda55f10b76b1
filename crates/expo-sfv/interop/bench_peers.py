#!/usr/bin/env python3
"""Time per parse of a typical expo-expect-signature with http-sfv, for the
side-by-side figure in BENCHMARKS.md (expo-sfv): python3 bench_peers.py"""
import statistics
import timeit

import http_sfv

VALUE = b'sig, keyid="main", alg="rsa-v1_5-sha256"'
N = 20_000


def parse():
    http_sfv.Dictionary().parse(VALUE)


runs = [timeit.timeit(parse, number=N) / N * 1e9 for _ in range(5)]
print(f'http-sfv Dictionary.parse: median {statistics.median(runs):.0f} ns/parse (5 runs of {N})')
