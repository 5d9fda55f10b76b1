// Writes multipart bodies with the npm `form-data` package, as the Expo
// reference update server does (`form.append(...)`, then `getBuffer()`).
//
// stdin:  JSON [{ "fields": [{ "name", "value": base64, "contentType"?, "header"?: {name: value} }] }]
// stdout: JSON [{ "contentType": string, "body": base64 }]
'use strict';

const FormData = require('form-data');

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = cases.map(({ fields }) => {
    const form = new FormData();
    for (const field of fields) {
      const options = {};
      if (field.contentType !== undefined) options.contentType = field.contentType;
      if (field.header !== undefined) options.header = field.header;
      form.append(field.name, Buffer.from(field.value, 'base64'), options);
    }
    return {
      contentType: `multipart/mixed; boundary=${form.getBoundary()}`,
      body: form.getBuffer().toString('base64'),
    };
  });
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
