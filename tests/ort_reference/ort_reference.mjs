#!/usr/bin/env node
// ort_reference.mjs — the ONNX tests' reference: run an ONNX model with ONNX Runtime (onnxruntime-node, CPU)
// on one float32 input read from a raw little-endian .bin file, and write the
// output(s) as raw little-endian float32 .bin. Used as a reference tool.
//
// Usage:
//   node ort_reference.mjs MODEL.onnx INPUT(name|index) IN.bin N,C,H,W OUT.bin [--runs K] [--threads T]
//
// Writes the first output to OUT.bin; further outputs (if any) go to
// OUT.1.bin, OUT.2.bin, ... Prints one JSON line to stdout:
//   {"input":{...},"outputs":[{"name","dims","type","file"}],"ms":[...],"median_ms":x}
// With --runs K the model is run K times (after one warm-up run) and the
// per-run wall time is reported; outputs come from the last run.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

function usage(msg) {
  if (msg) console.error(`error: ${msg}`);
  console.error('usage: node ort_reference.mjs MODEL.onnx INPUT(name|index) IN.bin N,C,H,W OUT.bin [--runs K] [--threads T]');
  process.exit(2);
}

const pos = [];
const opt = { runs: 1, threads: 0 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--runs') opt.runs = parseInt(argv[++i], 10);
  else if (argv[i] === '--threads') opt.threads = parseInt(argv[++i], 10);
  else pos.push(argv[i]);
}
if (pos.length !== 5) usage('expected 5 positional arguments');
const [modelPath, inputSel, inPath, shapeStr, outPath] = pos;

const dims = shapeStr.split(',').map((s) => parseInt(s, 10));
if (dims.some((d) => !Number.isInteger(d) || d < 0)) usage(`bad shape "${shapeStr}"`);
const count = dims.reduce((a, b) => a * b, 1);

const buf = readFileSync(inPath);
if (buf.length !== count * 4) usage(`${inPath} has ${buf.length} bytes, shape needs ${count * 4}`);
// Copy into an aligned Float32Array (Buffer offsets need not be 4-aligned).
const data = new Float32Array(count);
for (let i = 0; i < count; i++) data[i] = buf.readFloatLE(i * 4);

const sessOpts = {};
if (opt.threads > 0) { sessOpts.intraOpNumThreads = opt.threads; sessOpts.interOpNumThreads = 1; }
const session = await ort.InferenceSession.create(modelPath, sessOpts);

const inputName = /^\d+$/.test(inputSel) ? session.inputNames[parseInt(inputSel, 10)] : inputSel;
if (!session.inputNames.includes(inputName)) usage(`no input "${inputSel}" (inputs: ${session.inputNames.join(', ')})`);

const feeds = { [inputName]: new ort.Tensor('float32', data, dims) };
let results = await session.run(feeds); // warm-up (and the only run when runs == 1)
const ms = [];
if (opt.runs > 1) {
  for (let r = 0; r < opt.runs; r++) {
    const t0 = process.hrtime.bigint();
    results = await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}

const outputs = session.outputNames.map((name, i) => {
  const t = results[name];
  const file = i === 0 ? outPath : outPath.replace(/(\.bin)?$/, `.${i}.bin`);
  const f32 = t.type === 'float32' ? t.data : Float32Array.from(t.data, Number);
  const out = Buffer.alloc(f32.length * 4);
  for (let j = 0; j < f32.length; j++) out.writeFloatLE(f32[j], j * 4);
  writeFileSync(file, out);
  return { name, dims: t.dims.map(Number), type: t.type, file };
});

const sorted = [...ms].sort((a, b) => a - b);
const report = { input: { name: inputName, dims }, outputs };
if (ms.length) Object.assign(report, { ms: ms.map((x) => +x.toFixed(3)), median_ms: +sorted[sorted.length >> 1].toFixed(3) });
console.log(JSON.stringify(report));
