// Parses multipart bodies with @expo/multipart-body-parser, the parser Expo's
// own tools use for manifest responses.
//
// stdin:  JSON [{ "contentType": string, "body": base64 }]
// stdout: JSON [{ "ok": true, "parts": [{ "name", "headers": {name: value | [values]}, "body": string }] }
//               | { "ok": false, "error": string }]
'use strict';

const { parseMultipartMixedResponseAsync } = require('@expo/multipart-body-parser');

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = [];
  for (const { contentType, body } of cases) {
    try {
      const parts = await parseMultipartMixedResponseAsync(contentType, Buffer.from(body, 'base64'));
      results.push({
        ok: true,
        parts: parts.map((part) => ({
          name: part.name,
          headers: Object.fromEntries(part.headers),
          body: part.body,
        })),
      });
    } catch (error) {
      results.push({ ok: false, error: String(error && error._tag ? error._tag : error) });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
