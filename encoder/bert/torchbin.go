package bert

import (
	"fmt"

	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// torchFile holds the tensors of a pytorch_model.bin state dict, read with
// gopickle (torch zip format). Unlike cybertron's converter it keeps
// half, bfloat16 and double tensors too, converting them to float32.
type torchFile struct {
	path    string
	tensors map[string]*pytorch.Tensor
}

func openTorch(path string) (tf *torchFile, err error) {
	// gopickle panics on some inputs (legacy tar checkpoints, storage views).
	defer func() {
		if r := recover(); r != nil {
			tf, err = nil, fmt.Errorf("bert: %s: %w: gopickle: %v", path, ErrBadWeights, r)
		}
	}()
	obj, err := pytorch.Load(path)
	if err != nil {
		return nil, fmt.Errorf("bert: %s: %w: %v", path, ErrBadWeights, err)
	}
	tf = &torchFile{path: path, tensors: make(map[string]*pytorch.Tensor)}
	add := func(k, v any) error {
		name, ok := k.(string)
		if !ok {
			return fmt.Errorf("%w: state dict key %v is %T, not a string", ErrBadWeights, k, k)
		}
		t, ok := v.(*pytorch.Tensor)
		if !ok {
			return fmt.Errorf("%w: state dict entry %q is %T, not a tensor", ErrBadWeights, name, v)
		}
		tf.tensors[name] = t
		return nil
	}
	switch d := obj.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			if err := add(entry.Key, entry.Value); err != nil {
				return nil, fmt.Errorf("bert: %s: %w", path, err)
			}
		}
	case *types.Dict:
		for _, entry := range *d {
			if err := add(entry.Key, entry.Value); err != nil {
				return nil, fmt.Errorf("bert: %s: %w", path, err)
			}
		}
	default:
		return nil, fmt.Errorf("bert: %s: %w: top-level object is %T, not a state dict", path, ErrBadWeights, obj)
	}
	return tf, nil
}

func (t *torchFile) names() []string {
	out := make([]string, 0, len(t.tensors))
	for k := range t.tensors {
		out = append(out, k)
	}
	return out
}

func (t *torchFile) shape(name string) ([]int, bool) {
	x, ok := t.tensors[name]
	if !ok {
		return nil, false
	}
	return x.Size, true
}

// read gathers the tensor (any strides, any storage offset) into a
// row-major float32 slice, checking every index against the storage.
func (t *torchFile) read(name string) ([]float32, error) {
	x, ok := t.tensors[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrMissingTensor, name)
	}
	var data []float32
	switch s := x.Source.(type) {
	case *pytorch.FloatStorage:
		data = s.Data
	case *pytorch.HalfStorage:
		data = s.Data
	case *pytorch.BFloat16Storage:
		data = s.Data
	case *pytorch.DoubleStorage:
		data = make([]float32, len(s.Data))
		for i, v := range s.Data {
			data[i] = float32(v)
		}
	default:
		return nil, fmt.Errorf("%w: %s: tensor %q has storage %T, want a float storage", ErrBadWeights, t.path, name, x.Source)
	}
	if len(x.Stride) != len(x.Size) {
		return nil, fmt.Errorf("%w: %s: tensor %q: %d strides for %d dimensions", ErrBadWeights, t.path, name, len(x.Stride), len(x.Size))
	}
	numel, err := shapeNumel(x.Size)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: tensor %q: %v", ErrBadWeights, t.path, name, err)
	}
	out := make([]float32, numel)
	if numel == 0 {
		return out, nil
	}
	// The largest index touched must lie inside the storage.
	last := x.StorageOffset
	for d, n := range x.Size {
		if x.Stride[d] < 0 {
			return nil, fmt.Errorf("%w: %s: tensor %q: negative stride", ErrBadWeights, t.path, name)
		}
		last += (n - 1) * x.Stride[d]
	}
	if x.StorageOffset < 0 || last >= len(data) {
		return nil, fmt.Errorf("%w: %s: tensor %q (shape %v, stride %v, offset %d) reaches past its storage of %d elements",
			ErrBadWeights, t.path, name, x.Size, x.Stride, x.StorageOffset, len(data))
	}
	if isContiguous(x.Size, x.Stride) {
		copy(out, data[x.StorageOffset:])
		return out, nil
	}
	idx := make([]int, len(x.Size))
	for i := range out {
		off := x.StorageOffset
		for d, v := range idx {
			off += v * x.Stride[d]
		}
		out[i] = data[off]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < x.Size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

func (t *torchFile) close() error { return nil }

func isContiguous(size, stride []int) bool {
	want := 1
	for d := len(size) - 1; d >= 0; d-- {
		if size[d] != 1 && stride[d] != want {
			return false
		}
		want *= size[d]
	}
	return true
}
