// The peer figures for BENCHMARKS.md (expo-accept): negotiator choosing among
// the same offers for the same headers as benches/benches/accept.rs.
//
//   cd crates/expo-accept/interop && npm ci && node bench.js
'use strict';
const Negotiator = require('negotiator');

const FORMATS = ['multipart/mixed', 'application/expo+json', 'application/json'];
const CODINGS = ['br', 'gzip', 'identity'];
const CASES = [
  ['accept/client', 'accept', 'multipart/mixed,application/expo+json,application/json'],
  ['accept/spec_example', 'accept', 'application/expo+json;q=0.9, application/json;q=0.8, multipart/mixed'],
  ['accept/browser', 'accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
  ['accept_encoding/okhttp', 'accept-encoding', 'br,gzip'],
  ['accept_encoding/urlsession', 'accept-encoding', 'gzip, deflate, br'],
  ['accept_encoding/weighted', 'accept-encoding', 'br;q=1.0, gzip;q=0.9, deflate;q=0.8'],
];

function run(name, value) {
  const request = { headers: { [name]: value } };
  const pick =
    name === 'accept'
      ? () => new Negotiator(request).mediaType(FORMATS)
      : () => new Negotiator(request).encoding(CODINGS, { preferred: CODINGS });
  let sink;
  for (let i = 0; i < 100000; i++) sink = pick(); // warm up the JIT
  const n = 200000;
  const samples = [];
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink = pick();
    samples.push(Number(process.hrtime.bigint() - start) / n);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[3], chosen: sink };
}

console.log(`negotiator ${require('negotiator/package.json').version}, node ${process.version}`);
for (const [label, name, value] of CASES) {
  const { median, chosen } = run(name, value);
  console.log(`${label.padEnd(28)} ${median.toFixed(0).padStart(6)} ns  -> ${chosen}`);
}
