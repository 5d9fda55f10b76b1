// The smallest app entry: enough for a real bundle with a source map.
globalThis.greeting = function greeting(name) {
  return `Hello, ${name}!`;
};
