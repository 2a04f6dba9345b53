// Jest's node environment runs tests in a separate V8 context, so typed arrays made by native
// addons (onnxruntime-node's outputs) fail `instanceof Float32Array` checks inside the sandbox.
// Sharing the outer realm's typed-array constructors makes the sandbox behave like plain Node.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = ['ArrayBuffer', 'SharedArrayBuffer', 'Uint8Array', 'Uint8ClampedArray', 'Int8Array', 'Uint16Array', 'Int16Array',
  'Uint32Array', 'Int32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'DataView'];

module.exports = class SharedTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
};
