// Records what negotiator 1.1.0 (the content negotiation of Node servers,
// including Expo's dev server) answers for a table of Accept and
// Accept-Encoding headers, for the differential tests of expo-accept.
//
//   cd crates/expo-accept/interop && npm ci && node record.js   # rewrites recorded.json
//   node record.js --stdout   # prints it instead (the Rust tests compare it with the file)
'use strict';
const fs = require('fs');
const path = require('path');
const Negotiator = require('negotiator');

const FORMATS = ['multipart/mixed', 'application/expo+json', 'application/json'];
const OFFER_SETS = [FORMATS, ['application/expo+json', 'application/json'], ['multipart/mixed']];
const CODINGS = ['br', 'gzip', 'identity'];
const CODING_SETS = [CODINGS, ['gzip', 'identity'], ['identity'], ['br', 'gzip']];

const ACCEPT = [
  null, // header absent
  // what expo-updates sends (Android FileDownloader.kt, iOS FileDownloader.swift),
  // what older Android clients and Expo Go send, and the spec's example
  'multipart/mixed,application/expo+json,application/json',
  'multipart/mixed, application/expo+json, application/json',
  'application/expo+json,application/json',
  'application/expo+json, application/json, multipart/mixed',
  'application/expo+json;q=0.9, application/json;q=0.8, multipart/mixed',
  'application/expo+json', 'application/json', 'multipart/mixed',
  '*/*', 'application/*', 'multipart/*', 'text/*', 'image/png', '', ' ',
  'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  '*/*;q=0.1, application/json', 'application/json;q=0.5, */*;q=0.6',
  'application/*;q=0.5, application/json', 'application/*, application/json;q=0',
  'multipart/mixed;q=0, */*', 'multipart/mixed;q=0', '*/*;q=0',
  'application/expo+json;q=0.5, application/json;q=0.5, multipart/mixed;q=0.5',
  'application/json, application/expo+json', 'application/json;q=1, application/expo+json;q=0.999',
  'application/json;q=0.001', 'application/json;q=0.000', 'application/json;q=1.000',
  'application/json;q=0.5555', 'application/json;q=1.5', 'application/json;q=-1',
  'application/json;q=abc', 'application/json;q=', 'application/json;q=.5', 'application/json;q=0.',
  'application/json; q=0.5', 'application/json ;q=0.5', 'application/json\t;\tq=0.5',
  'APPLICATION/JSON', 'Multipart/Mixed', 'application/EXPO+json', 'application/json;Q=0.5',
  'application/json;charset=utf-8', 'application/json;charset="utf-8"', 'multipart/mixed;boundary=x',
  'application/json;q=0.5;ext=1', 'application/json;ext=1;q=0.5',
  'application/json,', ',application/json', 'application/json,,multipart/mixed',
  'application', 'application/', '/json', 'application/json/x', '*/json', 'application/json;',
  'application/json;charset', 'application/json;=x', 'a b/c', '"application/json"',
  'application/json, garbage', 'garbage, multipart/mixed', 'garbage',
  'text/plain;q=0.9, application/json;q=0.3', 'text/plain', 'text/plain, */*;q=0.01',
  'application/json;q=0.3, multipart/mixed;q=0.3', 'multipart/*;q=0.9, application/*;q=0.8',
  'application/*;q=0.9, multipart/*;q=0.8', '*/*, multipart/mixed;q=0.1',
  '*/*;q=0.5, application/expo+json;q=0.5', 'application/expo+json;q=0.2, */*;q=0.3',
  'multipart/mixed;q=0.01, application/json;q=0.02', 'application/json;q=0.9, application/json;q=0.1',
  'application/json;q=0.1, application/json;q=0.9', 'application/*;q=0, application/json',
  'application/json;q=0, application/*', 'application/expo+json, application/*;q=0.1',
  'multipart/mixed;foo=bar', 'multipart/mixed;foo=bar, application/json;q=0.5',
  'application/json;q=0.5, application/expo+json;q=0.5', 'application/json, multipart/mixed',
  'image/*, application/json;q=0.2', 'text/*;q=1, */*;q=0.2', 'application/vnd.api+json',
  'application/json ', ' application/json', 'application/json;q=0.5 ', 'application/json;q=0.5,',
  'application/json;q=1;q=0.5', 'application/json;p="a,b";q=0.5', 'application/json;p="a;b"',
  'multipart/mixed;q=0.001, */*;q=0.002', '*/*;q=0.001', 'application/expo+json;q=0.001',
  'x/y, z/w', 'multipart/form-data', 'multipart/related, application/json;q=0.5',
  'application/expo+json;q=1, application/json;q=1, multipart/mixed;q=1',
  'application/json;level=1, multipart/mixed;q=0.5', 'application/*;level=1',
  '*/*;level=1', 'application/json, text/plain, */*', 'application/json;q=0.9,*/*;q=0.9',
  'multipart/mixed;q=0.7, application/json;q=0.7, */*;q=0.8', 'application/json;q=1.0',
  'multipart/mixed; q=0.9, application/expo+json; q=1', 'application/expo+json ; q=0.4 , multipart/mixed ; q=0.3',
  // browsers, curl and fetch pointed at a manifest URL
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  'text/html, */*; q=0.01', '*/*;q=0.8, application/signed-exchange;v=b3;q=0.7',
  // quoted parameter values and escapes
  'multipart/mixed;boundary="a b"', 'application/json;p="\\""', 'application/json;p="\\x";q=0.5',
  'application/json;p="unterminated', 'MULTIPART/MIXED;Q=0.5, APPLICATION/JSON;Q=0.4',
  // a range listed twice, against a competing offer
  'application/json;q=0.1, application/json;q=0.9, application/expo+json;q=0.5',
  'application/json;q=0.9, application/json;q=0.1, application/expo+json;q=0.5',
];

const ENCODING = [
  null, // header absent
  // OkHttp (Android) with and without its Brotli interceptor, URLSession (iOS), Alamofire
  'br,gzip', 'gzip', 'gzip, deflate, br', 'br;q=1.0, gzip;q=0.9, deflate;q=0.8',
  '', ' ', 'br', 'identity', 'gzip, deflate', 'br, gzip', 'gzip, br',
  'br;q=1.0, gzip;q=0.8, *;q=0.1', '*', '*;q=0', 'identity;q=0', 'identity;q=0, *;q=0',
  'gzip;q=0, br;q=0', 'gzip;q=0', 'br;q=0', 'br;q=0, gzip;q=0, identity;q=0', '*;q=0, identity',
  '*;q=0, gzip', 'gzip;q=0.5', 'gzip;q=0.5, br;q=0.5', 'br;q=0.5, gzip;q=0.5', 'br;q=0.4, gzip;q=0.5',
  'gzip;q=0.5, identity;q=0.6', 'identity;q=0.5, gzip', 'GZIP', 'Br', 'x-gzip', 'deflate',
  'compress', 'zstd', 'zstd, br', 'deflate, identity;q=0', 'gzip;q=1.5', 'gzip;q=abc',
  'gzip;q=0.5555', 'gzip;q=', 'gzip; q=0.5', 'gzip ;q=0.5', 'gzip;level=1', 'gzip, garbage value',
  'gzip,,br', ',gzip', 'gzip,', 'br;q=0.001', 'br;q=0.001, identity;q=0.002', '*;q=0.5, br',
  '*;q=0.5, gzip;q=0.1', 'br, *;q=0', 'IDENTITY;Q=0', 'identity, gzip;q=0.5', 'identity;q=1, br;q=1',
  'gzip, identity;q=0.5, *;q=0', 'br;q=0.9, gzip;q=0.9, identity;q=0.9', 'deflate;q=0.9, gzip;q=0.1',
  'deflate, *;q=0', 'gzip;q=0.000', 'gzip;q=1.000', 'gzip;q=0.', 'gzip;Q=0.5', 'br;q=0.3, *',
  '*, br;q=0', '*, gzip;q=0', '*;q=0.2, identity;q=0.1', 'gzip;q=0.2, *;q=0.3', 'br gzip',
  'br;gzip', 'gzip\t,\tbr', 'br;q=0.99, gzip;q=0.999', 'gzip;q=0.999, br;q=0.99', 'identity;q=0.001',
  'sdch, gzip', 'gzip, deflate, br, zstd', 'br;q=1, gzip;q=1, *;q=1', '*;q=1, identity;q=0',
  'identity;q=0, gzip;q=0.5', 'identity;q=0, br;q=0.5, gzip;q=0.5', 'x-gzip;q=0.5, br;q=0.4',
  'gzip;q=0.5, x-gzip;q=0.9', '"gzip"', 'gzip;q="0.5"', 'gzip;q=0.5;x=1', 'br, br;q=0',
  'br;q=0, br', 'identity, identity;q=0', 'gzip, deflate, br;q=0', 'gzip;q=0.8, deflate, br;q=0.9',
  'br;q=0.7, gzip;q=0.7, identity;q=0.8', '*;q=0.001', 'br;q=0.5, *;q=0.5', 'gzip;q=0.3, *;q=0.3',
  'identity;q=0.3, *;q=0.3', 'unknown;q=1, identity;q=0', 'gzip;q=0.01, br;q=0.001',
  'br;q=1, gzip;q=0.9, deflate;q=0.8, identity;q=0.1',
  'gzip;q=0.9, br;q=0.8', 'br, identity;q=0', 'gzip, identity;q=0', '*;q=0.9, br;q=0.1',
  'deflate, gzip;q=0.5, *;q=0.1',
];

const unique = (list, name) => {
  const seen = new Set();
  for (const value of list) {
    if (seen.has(value)) throw new Error(`${name} lists ${JSON.stringify(value)} twice`);
    seen.add(value);
  }
};
unique(ACCEPT, 'ACCEPT');
unique(ENCODING, 'ENCODING');

const headers = (name, value) => (value === null ? {} : { [name]: value });
const accept = [];
for (const value of ACCEPT) {
  for (const offers of OFFER_SETS) {
    const chosen = new Negotiator({ headers: headers('accept', value) }).mediaType(offers);
    accept.push({ header: value, offers, chosen: chosen === undefined ? null : chosen });
  }
}
const encoding = [];
for (const value of ENCODING) {
  for (const available of CODING_SETS) {
    const neg = new Negotiator({ headers: headers('accept-encoding', value) });
    const chosen = neg.encoding(available, { preferred: available });
    encoding.push({ header: value, available, chosen: chosen === undefined ? null : chosen });
  }
}
if (ACCEPT.length < 100 || ENCODING.length < 100) throw new Error('need at least 100 headers of each');
const version = require('negotiator/package.json').version;
const json = JSON.stringify({ peer: `negotiator@${version}`, accept, encoding }, null, 1) + '\n';
if (process.argv.includes('--stdout')) {
  process.stdout.write(json);
} else {
  fs.writeFileSync(path.join(__dirname, 'recorded.json'), json);
  console.log(`${ACCEPT.length} Accept and ${ENCODING.length} Accept-Encoding headers recorded`);
}
