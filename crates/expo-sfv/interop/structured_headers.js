// Reads a JSON array of header values on stdin; prints, for each, what the
// npm package structured-headers makes of it as a Dictionary.
const { parseDictionary, serializeDictionary, Token, ByteSequence } = require('structured-headers');

const typeOf = (v) => {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'decimal';
  if (typeof v === 'string') return 'string';
  if (v instanceof Token) return 'token';
  if (v instanceof ByteSequence) return 'binary';
  if (v instanceof Date) return 'date';
  return 'other';
};

let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((value) => {
    try {
      const dict = parseDictionary(value);
      const expoSubset = [...dict.values()].every(
        ([item, params]) =>
          !Array.isArray(item) && params.size === 0 &&
          ['boolean', 'integer', 'decimal', 'string'].includes(typeOf(item))
      );
      return { ok: true, canonical: serializeDictionary(dict), expo_subset: expoSubset };
    } catch (e) {
      return { ok: false };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
