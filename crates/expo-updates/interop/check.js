// Reads expo-updates answers the way Expo's own tooling does:
// multipart bodies with @expo/multipart-body-parser, Expo SFV headers with
// structured-headers, expo-signature values verified with node-forge through
// @expo/code-signing-certificates (and node:crypto as a second opinion).
//
// stdin:  JSON [{ "contentType": string, "body": base64, "headers": {name: value},
//                 "certificate": PEM | null }]
// stdout: JSON [{ "ok": true, "sfv": {header: [[key, value]]}, "parts": [{ "name", "body": base64,
//                 "signature": { "keyid", "alg", "verified": bool } | null }],
//                 "signature": {...} | null,           (the response header, for JSON answers)
//                 "filtersPass": bool, "assetKeys": [key], "assetHeaderKeys": [key] }  (with a manifest)
//               | { "ok": false, "error": string }]
'use strict';

const crypto = require('crypto');
const forge = require('node-forge');
const { parseMultipartMixedResponseAsync } = require('@expo/multipart-body-parser');
const { parseDictionary } = require('structured-headers');
const { convertCertificatePEMToCertificate } = require('@expo/code-signing-certificates');

function bare(dictionary) {
  return [...dictionary].map(([key, [value]]) => [key, value]);
}

function verify(certificatePEM, header, body) {
  const fields = new Map(bare(parseDictionary(header)));
  const result = { keyid: fields.get('keyid') ?? null, alg: fields.get('alg') ?? null, verified: null };
  const sig = fields.get('sig');
  if (typeof sig !== 'string') throw new Error('sig is not an SFV string');
  if (!certificatePEM) return result;
  const signature = Buffer.from(sig, 'base64');
  const certificate = convertCertificatePEMToCertificate(certificatePEM);
  const digest = forge.md.sha256.create().update(body.toString('binary'));
  let forgeOk;
  try {
    forgeOk = certificate.publicKey.verify(digest.digest().getBytes(), signature.toString('binary'));
  } catch (e) {
    forgeOk = false;
  }
  const nodeOk = crypto.verify('sha256', body, new crypto.X509Certificate(certificatePEM).publicKey, signature);
  if (forgeOk !== nodeOk) throw new Error(`node-forge=${forgeOk} node:crypto=${nodeOk}`);
  result.verified = forgeOk;
  return result;
}

// As expo-updates' SelectionPolicies.matchesFilters: metadata keys lower-cased, a filter
// passes when the metadata lacks its key or holds the same value.
function passesFilters(filters, metadata) {
  const lower = new Map(Object.entries(metadata ?? {}).map(([key, value]) => [key.toLowerCase(), value]));
  return filters.every(([key, value]) => !lower.has(key) || lower.get(key) === value);
}

async function check({ contentType, body, headers, certificate }) {
  const bytes = Buffer.from(body, 'base64');
  const sfv = {};
  for (const name of ['expo-manifest-filters', 'expo-server-defined-headers']) {
    if (headers[name] !== undefined) sfv[name] = bare(parseDictionary(headers[name]));
  }
  const result = { ok: true, sfv, parts: [], signature: null };
  if (contentType.startsWith('multipart/')) {
    const parts = await parseMultipartMixedResponseAsync(contentType, bytes);
    for (const part of parts) {
      const partBody = Buffer.from(part.body, 'utf8');
      const signature = part.headers.get('expo-signature');
      result.parts.push({
        name: part.name,
        body: partBody.toString('base64'),
        signature: signature === undefined ? null : verify(certificate, signature, partBody),
      });
    }
  } else if (headers['expo-signature'] !== undefined) {
    result.signature = verify(certificate, headers['expo-signature'], bytes);
  }
  const manifestPart = result.parts.find((part) => part.name === 'manifest');
  const manifestBody = manifestPart ? Buffer.from(manifestPart.body, 'base64') : contentType.includes('json') ? bytes : null;
  if (manifestBody) {
    const manifest = JSON.parse(manifestBody.toString('utf8'));
    if (sfv['expo-manifest-filters']) {
      result.filtersPass = passesFilters(sfv['expo-manifest-filters'], manifest.metadata);
    }
    result.assetKeys = [manifest.launchAsset, ...(manifest.assets ?? [])].map((a) => a.key).sort();
    const extensionsPart = result.parts.find((part) => part.name === 'extensions');
    if (extensionsPart) {
      const extensions = JSON.parse(Buffer.from(extensionsPart.body, 'base64').toString('utf8'));
      result.assetHeaderKeys = Object.keys(extensions.assetRequestHeaders ?? {}).sort();
    }
  }
  return result;
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const results = [];
  for (const answer of JSON.parse(Buffer.concat(chunks).toString('utf8'))) {
    try {
      results.push(await check(answer));
    } catch (error) {
      results.push({ ok: false, error: String(error && error.message ? error.message : error) });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
