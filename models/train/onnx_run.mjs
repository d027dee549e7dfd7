// Runs an ONNX model with onnxruntime-node on float32/int64 inputs read from a .bin and writes
// the outputs back, so export.py can check ONNX-vs-PyTorch parity without a Python onnxruntime.
// usage: node onnx_run.mjs model.onnx spec.json   (spec: {inputs:[{name,dtype,shape,offset}], out})
import fs from 'node:fs';
import ort from 'onnxruntime-node';

const [model, specPath] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
const buf = fs.readFileSync(spec.bin);
const feeds = {};
for (const inp of spec.inputs) {
  const n = inp.shape.reduce((a, b) => a * b, 1);
  const bytes = buf.buffer.slice(buf.byteOffset + inp.offset, buf.byteOffset + inp.offset + n * (inp.dtype === 'int64' ? 8 : 4));
  const data = inp.dtype === 'int64' ? new BigInt64Array(bytes) : new Float32Array(bytes);
  feeds[inp.name] = new ort.Tensor(inp.dtype, data, inp.shape);
}
const session = await ort.InferenceSession.create(model);
const out = await session.run(feeds);
const parts = [];
const meta = [];
let offset = 0;
for (const name of session.outputNames) {
  const t = out[name];
  const b = Buffer.from(new Float32Array(t.data).buffer);
  meta.push({ name, shape: t.dims, offset });
  parts.push(b);
  offset += b.length;
}
fs.writeFileSync(spec.out + '.bin', Buffer.concat(parts));
fs.writeFileSync(spec.out + '.json', JSON.stringify(meta));
