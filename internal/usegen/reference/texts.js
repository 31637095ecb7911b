// texts.js writes the input strings of reference.js: sentences and whole
// replies of the synthetic cohort (REPLIES, a JSON array of
// {"Label","Response"} dumped from pmlm/synth with default options), fixed
// edge cases, and seeded random strings mixing vocabulary pieces with
// characters the vocabulary lacks.
//
//   node texts.js REPLIES VOCAB OUT
'use strict';
const fs = require('fs');
const seedrandom = require('seedrandom');

const [repliesFile, vocabFile, out] = process.argv.slice(2);
const replies = JSON.parse(fs.readFileSync(repliesFile, 'utf8'));
const vocab = JSON.parse(fs.readFileSync(vocabFile, 'utf8'));
const rng = seedrandom('pmlm-use-reference-1');
const pick = (a) => a[Math.floor(rng() * a.length)];

const edge = [
  '', ' ', '  ', '\t', '\n', 'a', 'A', '.', 'the', ' the', 'the ', '  two  spaces  ',
  'tab\tseparated\twords', 'new\nline', 'Hello, world!', 'HELLO WORLD', 'don\'t', 'e.g. 37+6 weeks',
  'platelet count 112 ×10⁹/L', 'total bile acid 12.5 µmol/L', 'red cell count 3.85 ×10¹²/L',
  'ﬁne ﬂow', 'Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３', 'café naïve résumé', 'cafe\u0301', '①②③ ⅸ ㎏',
  '😀 emoji 👍🏽 here', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '中文字符 日本語 한국어', 'Ελληνικά кириллица', '\u00a0non-breaking\u00a0space',
  '\u3000ideographic space', 'zero\u200bwidth', '””5', '”5', '” 5 ”5', '\u2581already\u2581marked', '▁', '▁▁',
  'x'.repeat(300), 'ab'.repeat(200), '0123456789'.repeat(10), '????!!!!', '\u0000nul', '\u2028sep',
];

const sentences = [];
for (const r of replies) for (const s of r.Response.split(/(?<=[.;:])\s+/)) sentences.push(s);
const uniq = [...new Set(sentences)];

const chars = [' ', ' ', ' ', '\t', 'é', 'ß', '×', '⁹', '¹', '²', 'µ', '°', '±', '≥', '≤', '–', '—', '’', '“', '”', '😀', '中',
  '\u0301', 'ﬁ', 'Ａ', '①', '\u00a0', '\u200b', '\u2581', '�', '<s>', '</s>'];
const rand = [];
for (let i = 0; i < 1500; i++) {
  let s = '';
  const n = 1 + Math.floor(rng() * 12);
  for (let j = 0; j < n; j++) {
    const u = rng();
    if (u < 0.6) s += pick(vocab)[0].replace(/\u2581/g, ' ');
    else if (u < 0.85) s += pick(chars);
    else s += String.fromCodePoint(0x20 + Math.floor(rng() * 0x2fe0));
  }
  rand.push(s);
}

// Every 3rd unique sentence, 200 whole replies, the edge cases, the random strings.
const tokenizer = [...edge, ...uniq.filter((_, i) => i % 3 === 0), ...replies.slice(0, 200).map((r) => r.Response), ...rand];

// Model texts: each run alone through the graph; a mix of lengths, one over 128 pieces.
const model = [...edge.slice(5, 40), ...uniq.filter((_, i) => i % 40 === 0).slice(0, 40), ...replies.slice(0, 6).map((r) => r.Response), ...rand.slice(0, 10)];

// States texts: full per-token states; kept few to keep the test data small.
const states = ['Hello, world!', 'platelet count 112 ×10⁹/L', '😀 emoji 👍🏽 here', 'zero\u200bwidth and café', uniq[1], replies[3].Response];

fs.writeFileSync(out, JSON.stringify({ tokenizer, model, states }));
console.log('tokenizer', tokenizer.length, 'model', model.length, 'states', states.length);
