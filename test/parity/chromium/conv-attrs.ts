/**
 * onnxruntime-web 1.30's WebGPU (JSEP) Conv refuses a Conv node that leaves out `dilations`,
 * `strides` or `pads` ("dilations should be 2D"): its validateInputs compares the attribute
 * arrays' lengths with the spatial rank before any default is filled in. ONNX makes all three
 * optional (defaults: ones, ones, zeros); onnxruntime's CPU EP and WASM accept them left out, and
 * exporters such as torch.onnx always write them, so only hand-built models (our fixture packs)
 * hit it. `withConvDefaults` writes the defaults into such nodes — the same model by the ONNX
 * spec — so the rest of the graph can still be compared on WebGPU.
 *
 * A minimal protobuf walk: ModelProto.graph (7) → GraphProto.node (1), GraphProto.initializer (5)
 * → NodeProto {input (1), op_type (4), attribute (5)}; AttributeProto {name (1), ints (8),
 * type (20) = INTS (7)}, TensorProto {dims (1), name (8)}. Subgraphs are left alone.
 */

interface Field {
  no: number;
  wire: number;
  /** The whole field, tag included. */
  raw: Uint8Array;
  /** LEN fields: the payload; VARINT: undefined. */
  body?: Uint8Array;
  value?: bigint;
}

function readVarint(b: Uint8Array, pos: number): [bigint, number] {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= b.length) throw new Error('protobuf: truncated varint');
    const x = b[pos++]!;
    v |= BigInt(x & 0x7f) << shift;
    if (!(x & 0x80)) return [v, pos];
    shift += 7n;
  }
}

function varint(v: bigint | number): number[] {
  let x = BigInt(v);
  const out: number[] = [];
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x) byte |= 0x80;
    out.push(byte);
  } while (x);
  return out;
}

function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  while (pos < b.length) {
    const start = pos;
    const [tag, p] = readVarint(b, pos);
    pos = p;
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    let body: Uint8Array | undefined;
    let value: bigint | undefined;
    if (wire === 0) [value, pos] = readVarint(b, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, q] = readVarint(b, pos);
      body = b.subarray(q, q + Number(len));
      pos = q + Number(len);
    } else throw new Error(`protobuf: wire type ${wire} not handled`);
    if (pos > b.length) throw new Error('protobuf: truncated field');
    out.push({ no, wire, raw: b.subarray(start, pos), body, value });
  }
  return out;
}

function lenField(no: number, body: Uint8Array): Uint8Array {
  return concat([Uint8Array.from([...varint((no << 3) | 2), ...varint(body.length)]), body]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b ?? new Uint8Array());

function intsAttribute(name: string, ints: number[]): Uint8Array {
  const nameField = lenField(1, new TextEncoder().encode(name));
  const intsFields = ints.map((i) => Uint8Array.from([...varint((8 << 3) | 0), ...varint(i)]));
  const typeField = Uint8Array.from([...varint((20 << 3) | 0), ...varint(7)]);
  return lenField(5, concat([nameField, ...intsFields, typeField]));
}

function packedOrPlainInts(f: Field[], no: number): number[] {
  const out: number[] = [];
  for (const x of f.filter((y) => y.no === no)) {
    if (x.wire === 0) out.push(Number(x.value));
    else if (x.body) {
      let p = 0;
      while (p < x.body.length) {
        const [v, q] = readVarint(x.body, p);
        out.push(Number(v));
        p = q;
      }
    }
  }
  return out;
}

/** The Conv nodes of a model that leave out dilations, strides or pads: [node name, missing]. */
export function convsWithoutDefaults(model: Uint8Array): { node: string; missing: string[] }[] {
  return rewrite(model).changed;
}

/** The model with every Conv's left-out dilations/strides/pads written as their ONNX defaults. */
export function withConvDefaults(model: Uint8Array): Uint8Array {
  return rewrite(model).bytes;
}

function rewrite(model: Uint8Array): { bytes: Uint8Array; changed: { node: string; missing: string[] }[] } {
  const changed: { node: string; missing: string[] }[] = [];
  const top = fields(model);
  const parts = top.map((f) => {
    if (f.no !== 7 || !f.body) return f.raw;
    const graph = fields(f.body);
    const rank = new Map<string, number>();
    for (const init of graph.filter((g) => g.no === 5 && g.body)) {
      const t = fields(init.body!);
      rank.set(text(t.find((x) => x.no === 8)?.body), packedOrPlainInts(t, 1).length - 2);
    }
    const graphParts = graph.map((g) => {
      if (g.no !== 1 || !g.body) return g.raw;
      const node = fields(g.body);
      if (text(node.find((x) => x.no === 4)?.body) !== 'Conv') return g.raw;
      const attrs = new Map(node.filter((x) => x.no === 5 && x.body).map((x) => {
        const a = fields(x.body!);
        return [text(a.find((y) => y.no === 1)?.body), a] as const;
      }));
      const inputs = node.filter((x) => x.no === 1).map((x) => text(x.body));
      const kernel = attrs.get('kernel_shape');
      const n = kernel ? packedOrPlainInts(kernel, 8).length : rank.get(inputs[1] ?? '');
      const name = text(node.find((x) => x.no === 3)?.body) || `Conv(${inputs.join(',')})`;
      if (n === undefined || n <= 0) throw new Error(`${name}: cannot tell the spatial rank (no kernel_shape, weight not an initializer)`);
      const autoPad = attrs.get('auto_pad');
      const autoPadValue = autoPad ? text(autoPad.find((y) => y.no === 4)?.body) : 'NOTSET';
      const defaults: [string, number[]][] = [
        ['dilations', Array<number>(n).fill(1)],
        ['strides', Array<number>(n).fill(1)],
        // pads and a set auto_pad exclude each other
        ...(autoPadValue === 'NOTSET' || autoPadValue === '' ? [['pads', Array<number>(2 * n).fill(0)] as [string, number[]]] : []),
      ];
      const missing = defaults.filter(([k]) => !attrs.has(k));
      if (!missing.length) return g.raw;
      const add = missing.map(([k, v]) => intsAttribute(k, v));
      changed.push({ node: name, missing: missing.map(([k]) => k) });
      return lenField(1, concat([g.body, ...add]));
    });
    return lenField(7, concat(graphParts));
  });
  return { bytes: concat(parts), changed };
}
