#!/usr/bin/env node
// Cross-checks with @expo/code-signing-certificates (node-forge), the library the Expo
// tooling uses to make and check code signing keys and certificates.
//
//   node codesign.js verify   CERT.pem BODY_FILE SIG_BASE64   exit 0 when the signature verifies
//   node codesign.js sign     KEY.pem CERT.pem BODY_FILE      print a base64 signature
//   node codesign.js validate KEY.pem CERT.pem                exit 0 when the pair passes
//                                                             validateSelfSignedCertificate
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const forge = require('node-forge');
const {
  convertCertificatePEMToCertificate,
  convertPrivateKeyPEMToPrivateKey,
  convertKeyPairPEMToKeyPair,
  signBufferRSASHA256AndVerify,
  validateSelfSignedCertificate,
} = require('@expo/code-signing-certificates');

function readText(path) {
  return fs.readFileSync(path, 'utf8');
}

function verify(certPath, bodyPath, sigBase64) {
  const certificatePEM = readText(certPath);
  const body = fs.readFileSync(bodyPath);
  const signature = Buffer.from(sigBase64, 'base64');

  // node-forge, as @expo/code-signing-certificates uses it.
  const certificate = convertCertificatePEMToCertificate(certificatePEM);
  const digest = forge.md.sha256.create().update(body.toString('binary'));
  let forgeOk;
  try {
    forgeOk = certificate.publicKey.verify(digest.digest().getBytes(), signature.toString('binary'));
  } catch (e) {
    forgeOk = false;
  }

  // Node's own crypto (OpenSSL), as a second opinion.
  const nodeOk = crypto.verify('sha256', body, new crypto.X509Certificate(certificatePEM).publicKey, signature);

  if (forgeOk !== nodeOk) {
    console.error(`disagreement: node-forge=${forgeOk} node:crypto=${nodeOk}`);
    process.exit(2);
  }
  if (!forgeOk) {
    console.error('signature does not verify');
    process.exit(1);
  }
}

function sign(keyPath, certPath, bodyPath) {
  const privateKey = convertPrivateKeyPEMToPrivateKey(readText(keyPath));
  const certificate = convertCertificatePEMToCertificate(readText(certPath));
  process.stdout.write(signBufferRSASHA256AndVerify(privateKey, certificate, fs.readFileSync(bodyPath)));
}

function validate(keyPath, certPath) {
  const privateKeyPEM = readText(keyPath);
  const publicKeyPEM = crypto.createPublicKey(privateKeyPEM).export({ type: 'spki', format: 'pem' });
  const keyPair = convertKeyPairPEMToKeyPair({ privateKeyPEM, publicKeyPEM });
  validateSelfSignedCertificate(convertCertificatePEMToCertificate(readText(certPath)), keyPair);
}

const [command, ...args] = process.argv.slice(2);
try {
  switch (command) {
    case 'verify':
      verify(...args);
      break;
    case 'sign':
      sign(...args);
      break;
    case 'validate':
      validate(...args);
      break;
    default:
      console.error('usage: codesign.js verify|sign|validate ...');
      process.exit(64);
  }
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
