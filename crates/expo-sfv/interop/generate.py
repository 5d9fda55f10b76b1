#!/usr/bin/env python3
"""Records what two independent implementations of RFC 8941 answer for a table
of header values, for the differential tests of expo-sfv (tests/differential.rs).

    cd crates/expo-sfv/interop && npm ci && pip install -r requirements.txt
    python3 generate.py            # rewrites recorded.json
    python3 generate.py --check    # fails if recorded.json is not what the peers answer now

Peers: the npm package structured-headers and the PyPI package http-sfv.
The table is written from the rules of RFC 8941 (the httpwg
structured-field-tests are published neither on npm nor inside either peer's
package) along the lines of those tests (dictionary, string, number, key, boolean, token,
binary, list and parameter cases, one generated row per ASCII character in a
string and in a key) plus the headers Expo clients and servers send.

Each answer is `{"ok": false}` or `{"ok": true, "canonical": <serialization>,
"members": [...]}`, a member being `[key, type, value, parameter count]` for a
dictionary and `[type, value, parameter count]` for a list; types are boolean,
integer, decimal, string, token, binary (base64), date, displaystring and
inner-list.
"""
import base64
import datetime
import decimal
import json
import pathlib
import subprocess
import sys

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
    # more dictionary structure (RFC 8941 4.2.2)
    '     a=1 ,  b=2',
    'a =1, b=2',
    'a= 1, b=2',
    'a=1, b, c=3',
    'a, b=2',
    'a=1, b;foo=9, c=3',
    'a=1, b=?1;foo=9, c=3',
    'a=1, b=2,',
    'a=1,1b=2,a=1',
    'a=1,B=2,a=1',
    'a=1,b!=2,a=1',
    'a=(1)',
    'a=(1 2);p=3',
    'a=("x" "y")',
    'a=( 1 2 )',
    'a=(1  2)',
    'a=(1\t2)',
    'a=1;p=?0;q=1.5;r="s";t=tok;u=:aGk=:',
    'a;p=1',
    'a=1;p',
    'a=1;p=(1)',
    'a=tok, a=1',
    'a=1, a=tok',
    'a=(1), b=2, a=3',
    'a=1, b="x", a="y", b=?0',
    # strings (RFC 8941 3.3.3)
    'a="foo bar"',
    'a="   "',
    'a="' + 'x' * 1000 + '"',
    'a="foo \\"bar\\""',
    'a="foo \\,"',
    'a="foo \\"',
    'a="foo \\',
    "a='foo'",
    'a="f\u00fc\u00fc"',
    'a="\U0001F600"',
    'a="line\nbreak"',
    'a="\\\\"',
    'a="\\""',
    'a="x"y',
    'a=""""',
    # integers and decimals (RFC 8941 3.3.1, 3.3.2)
    'a=42',
    'a=--0',
    'a=-42',
    'a=042',
    'a=-042',
    'a=-a23',
    'a=4-2',
    'a=- 42',
    'a=123456789012345',
    'a=-123456789012345',
    'a=1234567890123456',
    'a=-1234567890123456',
    'a=1.23',
    'a=-1.23',
    'a=1. 23',
    'a=1 .23',
    'a=- 1.23',
    'a=1.5.4',
    'a=1..4',
    'a=1.123',
    'a=-1.123',
    'a=1.1234',
    'a=-1.1234',
    'a=1234567890123.0',
    'a=-1234567890123.0',
    'a=123456789012.123',
    'a=-123456789012.123',
    'a=0.0',
    'a=-0.0',
    'a=1.100',
    'a=007.500',
    # keys (RFC 8941 3.1.2)
    'abcdefghijklmnopqrstuvwxyz0123456789_-.*=1',
    '*=1',
    'a-=1',
    'a.b=1',
    'a b=1',
    'a' * 100 + '=1',
    'sig="x", SIG="y"',
    # RFC 9651 additions, not RFC 8941
    'a=@1659578233',
    'a=%"x"',
    'a=@1.5',
]

# RFC 8941 character rules, one row per ASCII character: inside a string, at
# the start of a key, inside a key.
GENERATED = (
    [f'a="x{chr(c)}y"' for c in range(0x80)]
    + [f'{chr(c)}a=1' for c in range(0x80)]
    + [f'a{chr(c)}b=1' for c in range(0x80)]
)

CASES = CASES + [c for c in GENERATED if c not in CASES]

# Lists, for parse_string_list (expo-recent-failed-update-ids).
LIST_CASES = [
    '"0754dad0-d200-d634-113c-ef1f26106028"',
    '"0754dad0-d200-d634-113c-ef1f26106028", "9a1e0000-d200-d634-113c-ef1f26106028"',
    '"a","b"',
    '"a" ,  "b"',
    '',
    '"a",',
    ',"a"',
    '"a",,"b"',
    '"a" "b"',
    '"a", 1',
    '"a", tok',
    '"a", ?1',
    '"a", :aGk=:',
    '"a";p=1',
    '("a" "b")',
    '"a", ("b")',
    '"unterminated',
    '"\u00e9"',
    '"x\\"y"',
    '1, 2.5, ?0',
    ', '.join(['"x"'] * 70),
]


def bare(value):
    """[type, value] of an http-sfv bare item."""
    # Order matters: bool is an int, Token and DisplayString are str.
    if isinstance(value, bool):
        return ['boolean', value]
    if isinstance(value, int):
        return ['integer', value]
    if isinstance(value, (decimal.Decimal, float)):
        return ['decimal', float(value)]
    if isinstance(value, http_sfv.types.Token):
        return ['token', str(value)]
    if isinstance(value, http_sfv.types.DisplayString):
        return ['displaystring', str(value)]
    if isinstance(value, str):
        return ['string', value]
    if isinstance(value, bytes):
        return ['binary', base64.b64encode(value).decode('ascii')]
    if isinstance(value, datetime.datetime):
        return ['date', int(value.timestamp())]
    return ['unknown', repr(value)]


def member(m):
    if isinstance(m, http_sfv.item.InnerList):
        return ['inner-list', None, len(m.params)]
    return [*bare(m.value), len(m.params)]


def http_sfv_answer(structure, value, members):
    parsed = structure()
    try:
        parsed.parse(value.encode('utf-8'))
    except Exception:  # noqa: BLE001 - any refusal is an answer
        return {'ok': False}
    try:
        canonical = str(parsed)
    except Exception:  # noqa: BLE001 - it refuses to write an empty value
        canonical = None
    return {'ok': True, 'canonical': canonical, 'members': members(parsed)}


def main():
    assert len(CASES) >= 100, len(CASES)
    assert len(set(CASES)) == len(CASES), 'duplicate rows'
    node = subprocess.run(
        ['node', str(HERE / 'structured_headers.js')],
        input=json.dumps({'dictionaries': CASES, 'lists': LIST_CASES}),
        capture_output=True, text=True, check=True,
    )
    sh = json.loads(node.stdout)
    records = {
        'dictionaries': [
            {
                'input': value,
                'structured_headers': s,
                'http_sfv': http_sfv_answer(
                    http_sfv.Dictionary, value,
                    lambda d: [[k, *member(m)] for k, m in d.items()]),
            }
            for value, s in zip(CASES, sh['dictionaries'])
        ],
        'lists': [
            {
                'input': value,
                'structured_headers': s,
                'http_sfv': http_sfv_answer(
                    http_sfv.List, value, lambda l: [member(m) for m in l]),
            }
            for value, s in zip(LIST_CASES, sh['lists'])
        ],
    }
    text = json.dumps(records, indent=1, ensure_ascii=False) + '\n'
    if '--check' in sys.argv[1:]:
        if (HERE / 'recorded.json').read_text() != text:
            sys.exit('recorded.json differs from what the peers answer now: run generate.py')
        print('recorded.json is up to date')
        return
    (HERE / 'recorded.json').write_text(text)
    for kind, rows in records.items():
        agree = sum(r['structured_headers'] == r['http_sfv'] for r in rows)
        print(f'{kind}: {len(rows)} cases recorded; the peers give the same answer for {agree}')


if __name__ == '__main__':
    main()
