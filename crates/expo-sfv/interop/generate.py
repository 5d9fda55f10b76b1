#!/usr/bin/env python3
"""Records what two independent implementations of RFC 8941 answer for a table
of dictionary header values, for the differential tests of expo-sfv.

    cd crates/expo-sfv/interop && npm ci && pip install -r requirements.txt
    python3 generate.py            # rewrites recorded.json

Peers: the npm package structured-headers and the PyPI package http-sfv.
The cases follow the httpwg structured-field-tests (dictionary, string,
number, key, boolean, token, binary, list and parameter cases) plus the
headers Expo clients and servers send.
"""
import json
import pathlib
import subprocess

import http_sfv

HERE = pathlib.Path(__file__).parent

CASES = [
    # Expo headers as sent by clients and servers
    'sig, keyid="main", alg="rsa-v1_5-sha256"',
    'sig, keyid="root", alg="rsa-v1_5-sha256"',
    'sig',
    'sig=?1',
    'sig=?0, keyid="main"',
    'sig="c2lnbmF0dXJl", keyid="main", alg="rsa-v1_5-sha256"',
    'sig="ab+/cd==", keyid="main"',
    'branch="main"',
    'branchname="production", updategroup="d8f0"',
    'expo-channel-name="staging"',
    'release="2024.1", build=42',
    'a="", b=""',
    'k=3.14, n=-42',
    'keyid="my key with spaces"',
    # httpwg dictionary.json
    'en="Applepie", da=:w4ZibGV0w6ZydGUK:',
    'a=1, b=2, c=3',
    'a=1,b=2,c=3',
    'a=1 ,  b=2',
    '',
    'a=1, b=2, a=3',
    'a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid',
    'a=1;foo, b=2',
    'a=1 , b=2',
    'a=1\t,\tb=2',
    'a=1,',
    'a=1, ',
    'a=1,,b=2',
    'a=1,b',
    'a,b=1',
    'a, b, c',
    'a=?0, b',
    'a=1;q=0.5',
    'a=()',
    'a=(1 2 3)',
    'a=((1))',
    'A=1',
    'a=1, B=2',
    '1a=1',
    '*a=1',
    'a*=1',
    'a_b-c.d*=1',
    '_a=1',
    '-a=1',
    'a=1 b=2',
    'a==1',
    'a=',
    '=1',
    ' a=1',
    'a=1 ',
    # strings
    'a="foo"',
    'a="foo\\"bar"',
    'a="foo\\\\bar"',
    'a="foo\\bar"',
    'a="foo',
    'a="\u00e9"',
    'a="foo\tbar"',
    'a="~!@#$%^&*()_+"',
    'a=" leading space"',
    'a="a,b"',
    'a="a=b"',
    # numbers
    'a=0',
    'a=-0',
    'a=00',
    'a=-1',
    'a=999999999999999',
    'a=-999999999999999',
    'a=1000000000000000',
    'a=1.5',
    'a=1.555',
    'a=1.5555',
    'a=-1.5',
    'a=1.',
    'a=.5',
    'a=123456789012.1',
    'a=1234567890123.1',
    'a=1.0',
    'a=1.50',
    'a=0.001',
    'a=1e5',
    'a=+1',
    'a=1a',
    'a=--1',
    # booleans
    'a=?1',
    'a=?0',
    'a=?2',
    'a=?',
    'a=?1;x',
    'a=?T',
    # tokens
    'a=foo',
    'a=foo/bar',
    'a=*foo',
    'a=foo:bar',
    'a=F00',
    'a=%foo',
    # byte sequences
    'a=:aGVsbG8=:',
    'a=::',
    'a=:aGVsbG8',
    'a=:a$b:',
    # parameters
    'a;b',
    'a=1;b=2;c=3',
    'a=1;b="x"',
    'a=1;B=2',
    'a=1;b=2;b=3',
    'a=1; b=2',
    'a=1 ;b=2',
    # other structures and junk
    '"a"',
    '1',
    '(a b)',
    'a=1, "b"=2',
    'a=1, b=2, c=3, d=4, e=5, f=6, g=7, h=8',
    ','.join(f'k{i}={i}' for i in range(70)),
    'a=@',
    'a=1;',
    'a=(1;a 2)',
    'a=1\x00',
    'a=\u00fc',
    'a="x", b=?1, c=3, d=4.5',
    'k="0754dad0-d200-d634-113c-ef1f26106028"',
    'x="1", y="2", x="3"',
    'a=1,b=?1,c="s"',
]


def http_sfv_answer(value):
    d = http_sfv.Dictionary()
    try:
        d.parse(value.encode('latin-1'))
        return {'ok': True, 'canonical': str(d)}
    except Exception:  # noqa: BLE001 - any refusal is an answer
        return {'ok': False}
    

def main():
    assert len(CASES) >= 100, len(CASES)
    node = subprocess.run(
        ['node', str(HERE / 'structured_headers.js')],
        input=json.dumps(CASES), capture_output=True, text=True, check=True,
    )
    sh = json.loads(node.stdout)
    records = [
        {'input': value, 'structured_headers': s, 'http_sfv': http_sfv_answer(value)}
        for value, s in zip(CASES, sh)
    ]
    (HERE / 'recorded.json').write_text(json.dumps(records, indent=1, ensure_ascii=False) + '\n')
    agree = sum(r['structured_headers']['ok'] == r['http_sfv']['ok'] for r in records)
    print(f'{len(records)} cases recorded; the peers agree on validity for {agree}')


if __name__ == '__main__':
    main()
