package bert

// Test-only writers for HuggingFace model directories: config files, a
// safetensors writer and a torch zip pickle writer (protocol 2, an
// OrderedDict of torch._utils._rebuild_tensor_v2 over persistent-id
// storages, as torch.save writes it). No torch is needed.

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// tinyVocab ends with "zebra" so that the last row (which cybertron's
// converter drops) is exercised by the tests that tokenize "zebra".
var tinyVocab = []string{
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
	"the", "patient", "high", "dose", "-", "cafe", "caf", "##e", ".", ",", "!", "?", "(", ")", ":",
	"中", "文", "un", "##believ", "##able", "a", "b", "c", "##s", "blood", "pressure", "is", "was",
	"and", "to", "of", "in", "for", "with", "risk", "pre", "##ec", "##lamp", "##sia", "week", "weeks",
	"3", "##0", "1", "2", "'", "%", "/", "$", "σ", "ς", "αβ", "##γ", "i", "zebra",
}

type tinySpec struct {
	layers, hidden, heads, inter, maxPos int
	eps                                  float64
	act                                  string
	lower                                bool
	prefix                               string // "bert." as in BertForMaskedLM checkpoints, or ""
	noPooler                             bool
}

func defaultTinySpec() tinySpec {
	return tinySpec{layers: 2, hidden: 32, heads: 4, inter: 64, maxPos: 512, eps: 1e-3, act: "gelu", lower: true}
}

// tensor is one named weight in row-major order.
type tensor struct {
	name  string
	shape []int
	data  []float32
}

// randomWeights draws a BERT state dict (canonical names) for spec.
// Linear weights have std 0.2 so that activations are O(1): the erf/tanh
// GELU difference and the LayerNorm epsilon are then visible.
func randomWeights(spec tinySpec, vocab int, seed uint64) []tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	h, in := spec.hidden, spec.inter
	norm := func(n int, std, mean float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + std*rng.NormFloat64())
		}
		return v
	}
	var ts []tensor
	add := func(name string, std, mean float64, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		ts = append(ts, tensor{name, shape, norm(n, std, mean)})
	}
	add("embeddings.word_embeddings.weight", 0.5, 0, vocab, h)
	add("embeddings.position_embeddings.weight", 0.5, 0, spec.maxPos, h)
	add("embeddings.token_type_embeddings.weight", 0.5, 0, 2, h)
	add("embeddings.LayerNorm.weight", 0.1, 1, h)
	add("embeddings.LayerNorm.bias", 0.1, 0, h)
	for i := 0; i < spec.layers; i++ {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		for _, proj := range []string{"query", "key", "value"} {
			add(p+"attention.self."+proj+".weight", 0.2, 0, h, h)
			add(p+"attention.self."+proj+".bias", 0.1, 0, h)
		}
		add(p+"attention.output.dense.weight", 0.2, 0, h, h)
		add(p+"attention.output.dense.bias", 0.1, 0, h)
		add(p+"attention.output.LayerNorm.weight", 0.1, 1, h)
		add(p+"attention.output.LayerNorm.bias", 0.1, 0, h)
		add(p+"intermediate.dense.weight", 0.2, 0, in, h)
		add(p+"intermediate.dense.bias", 0.1, 0, in)
		add(p+"output.dense.weight", 0.2, 0, h, in)
		add(p+"output.dense.bias", 0.1, 0, h)
		add(p+"output.LayerNorm.weight", 0.1, 1, h)
		add(p+"output.LayerNorm.bias", 0.1, 0, h)
	}
	if !spec.noPooler {
		add("pooler.dense.weight", 0.2, 0, h, h)
		add("pooler.dense.bias", 0.1, 0, h)
	}
	return ts
}

func weightMap(ts []tensor) map[string][]float32 {
	m := make(map[string][]float32, len(ts))
	for _, t := range ts {
		m[t.name] = t.data
	}
	return m
}

// writeModelFiles writes config.json, vocab.txt and tokenizer_config.json.
func writeModelFiles(t testing.TB, dir string, spec tinySpec, vocab []string) {
	t.Helper()
	cfg := map[string]any{
		"architectures": []string{"BertModel"}, "model_type": "bert",
		"hidden_size": spec.hidden, "num_hidden_layers": spec.layers, "num_attention_heads": spec.heads,
		"intermediate_size": spec.inter, "hidden_act": spec.act, "max_position_embeddings": spec.maxPos,
		"type_vocab_size": 2, "vocab_size": len(vocab), "layer_norm_eps": spec.eps,
		"position_embedding_type": "absolute", "pad_token_id": 0,
	}
	raw, err := json.MarshalIndent(cfg, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), raw, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, VocabFile), []byte(strings.Join(vocab, "\n")+"\n"), 0o644))
	tc := fmt.Sprintf(`{"do_lower_case": %v, "model_max_length": 1000000000000000019884624838656,
  "unk_token": "[UNK]", "cls_token": {"content": "[CLS]", "lstrip": false}, "sep_token": "[SEP]",
  "pad_token": "[PAD]", "mask_token": "[MASK]", "tokenize_chinese_chars": true, "strip_accents": null}`, spec.lower)
	require.NoError(t, os.WriteFile(filepath.Join(dir, TokenizerConfigFile), []byte(tc), 0o644))
}

// roundTo returns data as the dtype stores it, back in float32.
func roundTo(dtype string, data []float32) []float32 {
	out := make([]float32, len(data))
	for i, v := range data {
		switch dtype {
		case "F16":
			out[i] = float16to32(float32to16(v))
		case "BF16":
			out[i] = math.Float32frombits(uint32(float32toBF16(v)) << 16)
		default:
			out[i] = v
		}
	}
	return out
}

// float32to16 rounds to nearest even (finite, normal-range inputs; the
// test weights are all well inside that range or subnormal).
func float32to16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	frac := b & 0x7fffff
	if exp >= 0x1f {
		return sign | 0x7c00
	}
	if exp <= 0 {
		if exp < -10 {
			return sign
		}
		frac |= 0x800000
		shift := uint32(14 - exp)
		half := uint32(1) << (shift - 1)
		r := frac >> shift
		rem := frac & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(exp)<<10 | frac>>13
	rem := frac & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++
	}
	return sign | uint16(r)
}

func float32toBF16(f float32) uint16 {
	b := math.Float32bits(f)
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// encodeSafetensors builds a safetensors image; extra lets a test corrupt
// the header entries before they are serialised.
func encodeSafetensors(ts []tensor, dtype string, extra func(h map[string]any)) []byte {
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data bytes.Buffer
	for _, t := range ts {
		begin := data.Len()
		for _, v := range t.data {
			switch dtype {
			case "F32":
				binary.Write(&data, binary.LittleEndian, v)
			case "F16":
				binary.Write(&data, binary.LittleEndian, float32to16(v))
			case "BF16":
				binary.Write(&data, binary.LittleEndian, float32toBF16(v))
			}
		}
		header[t.name] = map[string]any{"dtype": dtype, "shape": t.shape, "data_offsets": []int{begin, data.Len()}}
	}
	// An int64 buffer, as real checkpoints carry embeddings.position_ids.
	begin := data.Len()
	binary.Write(&data, binary.LittleEndian, []int64{0, 1, 2, 3})
	header["embeddings.position_ids"] = map[string]any{"dtype": "I64", "shape": []int{1, 4}, "data_offsets": []int{begin, data.Len()}}
	if extra != nil {
		extra(header)
	}
	hj, _ := json.Marshal(header)
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, uint64(len(hj)))
	out.Write(hj)
	out.Write(data.Bytes())
	return out.Bytes()
}

// pickler writes the pickle opcodes torch.save uses.
type pickler struct{ bytes.Buffer }

func (p *pickler) global(module, name string) {
	p.WriteByte('c')
	p.WriteString(module + "\n" + name + "\n")
}

func (p *pickler) str(s string) {
	p.WriteByte('X')
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
}

func (p *pickler) int(v int) {
	if v >= 0 && v < 256 {
		p.WriteByte('K')
		p.WriteByte(byte(v))
		return
	}
	p.WriteByte('J')
	binary.Write(p, binary.LittleEndian, int32(v))
}

func (p *pickler) tuple(vs []int) {
	p.WriteByte('(')
	for _, v := range vs {
		p.int(v)
	}
	p.WriteByte('t')
}

// torchTensor is one state-dict entry: a view (offset, size, stride) of
// a storage.
type torchTensor struct {
	name    string
	storage string // key of the storage record
	offset  int
	size    []int
	stride  []int
}

type torchStorage struct {
	class string // "FloatStorage", "HalfStorage" or "LongStorage"
	f32   []float32
	i64   []int64
	numel int // when > 0, the element count the pickle claims
}

// encodeTorchZip writes a torch zip checkpoint (the format torch.save has
// used since 1.6).
func encodeTorchZip(entries []torchTensor, storages map[string]torchStorage) []byte {
	var p pickler
	p.Write([]byte{0x80, 0x02})
	p.global("collections", "OrderedDict")
	p.WriteString(")R")
	p.WriteByte('(')
	for _, e := range entries {
		st := storages[e.storage]
		p.str(e.name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.WriteByte('(')
		p.WriteByte('(')
		p.str("storage")
		p.global("torch", st.class)
		p.str(e.storage)
		p.str("cpu")
		if st.numel > 0 {
			p.int(st.numel)
		} else {
			p.int(len(st.f32) + len(st.i64))
		}
		p.WriteByte('t')
		p.WriteByte('Q') // BINPERSID
		p.int(e.offset)
		p.tuple(e.size)
		p.tuple(e.stride)
		p.WriteByte(0x89) // NEWFALSE: requires_grad
		p.global("collections", "OrderedDict")
		p.WriteString(")R") // backward hooks
		p.WriteByte('t')
		p.WriteByte('R')
	}
	p.WriteByte('u')
	p.WriteByte('.')

	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	put := func(name string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			panic(err)
		}
		w.Write(b)
	}
	put("archive/data.pkl", p.Bytes())
	keys := make([]string, 0, len(storages))
	for k := range storages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var b bytes.Buffer
		if s := storages[k]; s.class == "LongStorage" {
			binary.Write(&b, binary.LittleEndian, s.i64)
		} else if s.class == "HalfStorage" {
			for _, v := range s.f32 {
				binary.Write(&b, binary.LittleEndian, float32to16(v))
			}
		} else {
			binary.Write(&b, binary.LittleEndian, s.f32)
		}
		put("archive/data/"+k, b.Bytes())
	}
	put("archive/version", []byte("3\n"))
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return out.Bytes()
}

// torchStateDict lays ts out as torch would, with two twists that a real
// checkpoint can have: the pooler weight is stored transposed (a strided
// view) and each layer's query/key/value biases share one storage at
// different offsets.
func torchStateDict(ts []tensor, prefix string) ([]torchTensor, map[string]torchStorage) {
	var entries []torchTensor
	storages := map[string]torchStorage{}
	next := 0
	newKey := func() string { k := fmt.Sprint(next); next++; return k }
	shared := map[string]string{} // layer prefix -> storage key of its q/k/v biases
	for _, t := range ts {
		stride := make([]int, len(t.shape))
		acc := 1
		for d := len(t.shape) - 1; d >= 0; d-- {
			stride[d] = acc
			acc *= t.shape[d]
		}
		switch {
		case t.name == "pooler.dense.weight":
			h := t.shape[0]
			tr := make([]float32, len(t.data))
			for i := 0; i < h; i++ {
				for j := 0; j < h; j++ {
					tr[j*h+i] = t.data[i*h+j]
				}
			}
			k := newKey()
			storages[k] = torchStorage{class: "FloatStorage", f32: tr}
			entries = append(entries, torchTensor{prefix + t.name, k, 0, t.shape, []int{1, h}})
		case strings.Contains(t.name, "attention.self.") && strings.HasSuffix(t.name, ".bias"):
			layer := t.name[:strings.Index(t.name, "attention.self.")]
			k, ok := shared[layer]
			if !ok {
				k = newKey()
				shared[layer] = k
			}
			st := storages[k]
			st.class = "FloatStorage"
			off := len(st.f32)
			st.f32 = append(st.f32, t.data...)
			storages[k] = st
			entries = append(entries, torchTensor{prefix + t.name, k, off, t.shape, stride})
		default:
			k := newKey()
			storages[k] = torchStorage{class: "FloatStorage", f32: slices.Clone(t.data)}
			entries = append(entries, torchTensor{prefix + t.name, k, 0, t.shape, stride})
		}
	}
	k := newKey()
	storages[k] = torchStorage{class: "LongStorage", i64: []int64{0, 1, 2, 3}}
	entries = append(entries, torchTensor{prefix + "embeddings.position_ids", k, 0, []int{1, 4}, []int{4, 1}})
	return entries, storages
}

// writeTiny writes a complete model directory with the given weights
// format ("F32", "F16", "BF16" safetensors, or "bin") and returns the
// weights as stored (rounded for F16/BF16), by canonical name.
func writeTiny(t testing.TB, dir string, spec tinySpec, format string, seed uint64) map[string][]float32 {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	writeModelFiles(t, dir, spec, tinyVocab)
	ts := randomWeights(spec, len(tinyVocab), seed)
	switch format {
	case "bin":
		entries, storages := torchStateDict(ts, spec.prefix)
		require.NoError(t, os.WriteFile(filepath.Join(dir, PytorchFile), encodeTorchZip(entries, storages), 0o644))
	default:
		named := make([]tensor, len(ts))
		for i, x := range ts {
			named[i] = tensor{spec.prefix + x.name, x.shape, x.data}
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, SafetensorsFile), encodeSafetensors(named, format, nil), 0o644))
	}
	stored := make(map[string][]float32, len(ts))
	for _, x := range ts {
		stored[x.name] = roundTo(format, x.data)
	}
	return stored
}
