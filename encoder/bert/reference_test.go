package bert

// An independent BERT forward in plain float64, written from the
// HuggingFace BertModel definition (modeling_bert.py): embeddings =
// LayerNorm(word + token_type + position); per layer, self-attention with
// softmax(QKᵀ/√d_k)V per head, output dense, residual + LayerNorm, then
// intermediate dense + activation, output dense, residual + LayerNorm.

import (
	"math"
	"strconv"
)

type refOpts struct {
	eps     float64
	erfGELU bool // false: the tanh approximation (spago's GELU)
}

// refForward returns hidden_states[0..layers] for ids.
func refForward(w map[string][]float32, spec tinySpec, ids []int, o refOpts) [][][]float64 {
	h := spec.hidden
	get := func(name string) []float64 {
		src := w[name]
		if src == nil {
			panic("reference: missing " + name)
		}
		out := make([]float64, len(src))
		for i, v := range src {
			out[i] = float64(v)
		}
		return out
	}
	ln := func(x, g, b []float64) []float64 {
		mean, vr := 0.0, 0.0
		for _, v := range x {
			mean += v
		}
		mean /= float64(len(x))
		for _, v := range x {
			vr += (v - mean) * (v - mean)
		}
		vr /= float64(len(x))
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = (v-mean)/math.Sqrt(vr+o.eps)*g[i] + b[i]
		}
		return out
	}
	// dense computes W x + b with W [out, in] row-major.
	dense := func(W, b, x []float64) []float64 {
		out := make([]float64, len(b))
		in := len(x)
		for r := range out {
			s := b[r]
			for c := 0; c < in; c++ {
				s += W[r*in+c] * x[c]
			}
			out[r] = s
		}
		return out
	}
	act := func(v float64) float64 {
		if o.erfGELU {
			return 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
		}
		return 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
	}

	word, pos, typ := get("embeddings.word_embeddings.weight"), get("embeddings.position_embeddings.weight"), get("embeddings.token_type_embeddings.weight")
	g, b := get("embeddings.LayerNorm.weight"), get("embeddings.LayerNorm.bias")
	n := len(ids)
	x := make([][]float64, n)
	for i, id := range ids {
		v := make([]float64, h)
		for j := range v {
			v[j] = word[id*h+j] + typ[j] + pos[i*h+j]
		}
		x[i] = ln(v, g, b)
	}
	states := [][][]float64{x}
	dk := h / spec.heads
	for l := 0; l < spec.layers; l++ {
		p := "encoder.layer." + strconv.Itoa(l) + "."
		wq, bq := get(p+"attention.self.query.weight"), get(p+"attention.self.query.bias")
		wk, bk := get(p+"attention.self.key.weight"), get(p+"attention.self.key.bias")
		wv, bv := get(p+"attention.self.value.weight"), get(p+"attention.self.value.bias")
		q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for i := range x {
			q[i], k[i], v[i] = dense(wq, bq, x[i]), dense(wk, bk, x[i]), dense(wv, bv, x[i])
		}
		ctx := make([][]float64, n)
		for i := range ctx {
			ctx[i] = make([]float64, h)
			for hd := 0; hd < spec.heads; hd++ {
				lo := hd * dk
				scores := make([]float64, n)
				mx := math.Inf(-1)
				for j := range scores {
					s := 0.0
					for c := lo; c < lo+dk; c++ {
						s += q[i][c] * k[j][c]
					}
					scores[j] = s / math.Sqrt(float64(dk))
					mx = math.Max(mx, scores[j])
				}
				z := 0.0
				for j := range scores {
					scores[j] = math.Exp(scores[j] - mx)
					z += scores[j]
				}
				for j := range scores {
					for c := lo; c < lo+dk; c++ {
						ctx[i][c] += scores[j] / z * v[j][c]
					}
				}
			}
		}
		wo, bo := get(p+"attention.output.dense.weight"), get(p+"attention.output.dense.bias")
		g1, b1 := get(p+"attention.output.LayerNorm.weight"), get(p+"attention.output.LayerNorm.bias")
		wi, bi := get(p+"intermediate.dense.weight"), get(p+"intermediate.dense.bias")
		wo2, bo2 := get(p+"output.dense.weight"), get(p+"output.dense.bias")
		g2, b2 := get(p+"output.LayerNorm.weight"), get(p+"output.LayerNorm.bias")
		next := make([][]float64, n)
		for i := range x {
			a := dense(wo, bo, ctx[i])
			for c := range a {
				a[c] += x[i][c]
			}
			x1 := ln(a, g1, b1)
			inter := dense(wi, bi, x1)
			for c := range inter {
				inter[c] = act(inter[c])
			}
			out := dense(wo2, bo2, inter)
			for c := range out {
				out[c] += x1[c]
			}
			next[i] = ln(out, g2, b2)
		}
		x = next
		states = append(states, x)
	}
	return states
}

// maxAbsDiff compares a float32 model output with a float64 reference.
func maxAbsDiff(got [][]float32, want [][]float64) float64 {
	d := 0.0
	for i := range got {
		for j := range got[i] {
			d = math.Max(d, math.Abs(float64(got[i][j])-want[i][j]))
		}
	}
	return d
}
