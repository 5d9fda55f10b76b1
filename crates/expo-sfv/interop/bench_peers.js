// Time per parse of a typical expo-expect-signature with structured-headers,
// for the side-by-side figure in BENCHMARKS.md (expo-sfv): node bench_peers.js
const { parseDictionary } = require('structured-headers');

const value = 'sig, keyid="main", alg="rsa-v1_5-sha256"';
const n = 1_000_000;
const runs = [];
for (let r = 0; r < 5; r++) {
  let keep = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) keep += parseDictionary(value).size;
  const ns = Number(process.hrtime.bigint() - start) / n;
  if (keep !== 3 * n) throw new Error('unexpected parse');
  runs.push(ns);
}
runs.sort((a, b) => a - b);
console.log(`structured-headers parseDictionary: median ${runs[2].toFixed(0)} ns/parse (5 runs of ${n})`);
