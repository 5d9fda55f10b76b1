// Reads {"dictionaries": [...], "lists": [...]} (header values) on stdin and
// prints, for each value, what the npm package structured-headers makes of
// it: an error, or its members and canonical serialization.
const {
  parseDictionary,
  parseList,
  serializeDictionary,
  serializeList,
  Token,
  DisplayString,
  arrayBufferToBase64,
} = require('structured-headers');

// [type, value] of a bare item, in the vocabulary shared with generate.py.
const bare = (v) => {
  if (typeof v === 'boolean') return ['boolean', v];
  if (typeof v === 'number') return [Number.isInteger(v) ? 'integer' : 'decimal', v];
  if (typeof v === 'string') return ['string', v];
  if (v instanceof Token) return ['token', v.toString()];
  if (v instanceof DisplayString) return ['displaystring', v.toString()];
  if (v instanceof Date) return ['date', Math.round(v.getTime() / 1000)];
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return ['binary', arrayBufferToBase64(v)];
  return ['unknown', String(v)];
};

// [type, value, parameter count] of a dictionary or list member.
const member = ([value, params]) =>
  Array.isArray(value) ? ['inner-list', null, params.size] : [...bare(value), params.size];

const answer = (parse, serialize, members) => (value) => {
  let parsed;
  try {
    parsed = parse(value);
  } catch (e) {
    return { ok: false };
  }
  let canonical;
  try {
    canonical = serialize(parsed);
  } catch (e) {
    canonical = null;
  }
  return { ok: true, canonical, members: members(parsed) };
};

let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const { dictionaries, lists } = JSON.parse(input);
  const out = {
    dictionaries: dictionaries.map(
      answer(parseDictionary, serializeDictionary, (d) =>
        [...d.entries()].map(([k, m]) => [k, ...member(m)])
      )
    ),
    lists: lists.map(
      answer(parseList, serializeList, (l) => l.map((m) => member(m)))
    ),
  };
  process.stdout.write(JSON.stringify(out));
});
