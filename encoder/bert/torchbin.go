package bert

import (
	"archive/zip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// torchFile holds a pytorch_model.bin state dict. The zip format (torch
// ≥ 1.6) is unpickled with gopickle's pickle machine but with this
// package's own storage handling: storages are read lazily from the zip,
// their sizes checked against the records, and every float dtype decoded
// exactly (gopickle's own HalfStorage decodes subnormals wrongly, and
// cybertron's converter skips non-fp32 tensors altogether). The legacy
// pre-1.6 format goes through gopickle's pytorch.Load, fp32 only.
type torchFile struct {
	path    string
	zr      *zip.ReadCloser
	records map[string]*zip.File // storage key -> record
	tensors map[string]*torchView
	cache   map[string][]float32 // decoded storages by key, while views remain unread
	unread  map[string]int       // storage key -> views not yet read
}

// torchView is a tensor: a strided view of a storage.
type torchView struct {
	storage *torchStorageRef
	offset  int
	size    []int
	stride  []int
	legacy  []float32 // legacy format: the storage, already decoded
}

type torchStorageRef struct {
	dtype string // safetensors spelling: F32, F16, BF16, F64, I64, ...
	key   string
	numel int
}

// torchStorageClass is what the pickle's GLOBAL torch.XxxStorage resolves to.
type torchStorageClass struct{ dtype string }

var torchStorageDTypes = map[string]string{
	"FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16", "DoubleStorage": "F64",
	"LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
	"ByteStorage": "U8", "BoolStorage": "BOOL",
}

type rebuildTensor struct{}

// Call implements torch._utils._rebuild_tensor_v2(storage, offset, size,
// stride, requires_grad, backward_hooks[, metadata]).
func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments", len(args))
	}
	st, ok := args[0].(*torchStorageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: storage is %T", args[0])
	}
	off, ok := args[1].(int)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: offset is %T", args[1])
	}
	size, err := intTuple(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: size: %w", err)
	}
	stride, err := intTuple(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2: stride: %w", err)
	}
	return &torchView{storage: st, offset: off, size: size, stride: stride}, nil
}

// rebuildParameter implements torch._utils._rebuild_parameter(data, ...).
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("_rebuild_parameter: no arguments")
	}
	return args[0], nil
}

func intTuple(v any) ([]int, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("%T is not a tuple", v)
	}
	out := make([]int, t.Len())
	for i := range out {
		if out[i], ok = t.Get(i).(int); !ok {
			return nil, fmt.Errorf("element %d is %T, not an int", i, t.Get(i))
		}
	}
	return out, nil
}

func openTorch(path string) (tf *torchFile, err error) {
	// The pickle machine can panic on hostile input; report it as an error.
	defer func() {
		if r := recover(); r != nil {
			tf, err = nil, fmt.Errorf("%w: %s: unpickling: %v", ErrBadWeights, path, r)
		}
	}()
	zr, err := zip.OpenReader(path)
	if err != nil {
		if errors.Is(err, zip.ErrFormat) {
			return openLegacyTorch(path)
		}
		return nil, wrapf(err, "%s", path)
	}
	tf = &torchFile{path: path, zr: zr, records: map[string]*zip.File{}, tensors: map[string]*torchView{}, cache: map[string][]float32{}, unread: map[string]int{}}
	var dataPkl *zip.File
	for _, f := range zr.File {
		switch {
		case strings.HasSuffix(f.Name, "/data.pkl") || f.Name == "data.pkl":
			dataPkl = f
		case strings.Contains(f.Name, "/data/"):
			tf.records[f.Name[strings.LastIndex(f.Name, "/")+1:]] = f
		case strings.HasSuffix(f.Name, "/constants.pkl"):
			zr.Close()
			return nil, fmt.Errorf("%w: %s: TorchScript archive, not a state dict", ErrUnsupported, path)
		}
	}
	if dataPkl == nil {
		zr.Close()
		return nil, fmt.Errorf("%w: %s: no data.pkl in the zip", ErrBadWeights, path)
	}
	obj, err := tf.unpickle(dataPkl)
	if err != nil {
		zr.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrBadWeights, path, err)
	}
	if err := tf.collect(obj); err != nil {
		zr.Close()
		return nil, wrapf(err, "%s", path)
	}
	return tf, nil
}

func (t *torchFile) unpickle(f *zip.File) (any, error) {
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	storages := map[string]*torchStorageRef{}
	u := pickle.NewUnpickler(r)
	u.FindClass = func(module, name string) (any, error) {
		switch module + "." + name {
		case "torch._utils._rebuild_tensor_v2":
			return rebuildTensor{}, nil
		case "torch._utils._rebuild_parameter":
			return rebuildParameter{}, nil
		}
		if module == "torch" {
			if dt, ok := torchStorageDTypes[name]; ok {
				return &torchStorageClass{dtype: dt}, nil
			}
		}
		return nil, fmt.Errorf("unsupported class %s.%s in the pickle", module, name)
	}
	u.PersistentLoad = func(id any) (any, error) {
		tup, ok := id.(*types.Tuple)
		if !ok || tup.Len() < 5 {
			return nil, fmt.Errorf("persistent id %v is not ('storage', class, key, location, numel)", id)
		}
		kind, _ := tup.Get(0).(string)
		class, okC := tup.Get(1).(*torchStorageClass)
		key, okK := tup.Get(2).(string)
		numel, okN := tup.Get(4).(int)
		if kind != "storage" || !okC || !okK || !okN || numel < 0 {
			return nil, fmt.Errorf("persistent id %v is not ('storage', class, key, location, numel)", id)
		}
		if s, seen := storages[key]; seen {
			return s, nil
		}
		rec, ok := t.records[key]
		if !ok {
			return nil, fmt.Errorf("storage %q has no data record in the zip", key)
		}
		if want := uint64(numel) * uint64(dtypeSize[class.dtype]); rec.UncompressedSize64 != want {
			return nil, fmt.Errorf("storage %q: %d elements of %s need %d bytes, the record has %d",
				key, numel, class.dtype, want, rec.UncompressedSize64)
		}
		s := &torchStorageRef{dtype: class.dtype, key: key, numel: numel}
		storages[key] = s
		return s, nil
	}
	return u.Load()
}

// collect walks the state dict (an OrderedDict or a dict of tensors).
func (t *torchFile) collect(obj any) error {
	add := func(k, v any) error {
		name, ok := k.(string)
		if !ok {
			return fmt.Errorf("%w: state dict key %v is %T, not a string", ErrBadWeights, k, k)
		}
		x, ok := v.(*torchView)
		if !ok {
			return fmt.Errorf("%w: state dict entry %q is %T, not a tensor", ErrBadWeights, name, v)
		}
		t.tensors[name] = x
		if x.storage != nil {
			t.unread[x.storage.key]++
		}
		return nil
	}
	switch d := obj.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			if err := add(entry.Key, entry.Value); err != nil {
				return err
			}
		}
	case *types.Dict:
		for _, entry := range *d {
			if err := add(entry.Key, entry.Value); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%w: top-level object is %T, not a state dict", ErrBadWeights, obj)
	}
	return nil
}

// openLegacyTorch reads the pre-1.6 (non-zip) format with gopickle's
// loader. Only fp32 storages are accepted there: gopickle decodes fp16
// subnormals wrongly.
func openLegacyTorch(path string) (*torchFile, error) {
	// gopickle loops forever on inputs its tar probe sees as empty (an
	// empty file, as a failed download leaves), so only hand it files that
	// start like a legacy torch.save: pickle protocol 2, then the magic
	// number 0x1950a86a20f9469cfc6c as a LONG1.
	head := make([]byte, len(legacyMagic))
	f, err := os.Open(path)
	if err != nil {
		return nil, wrapf(err, "")
	}
	n, _ := io.ReadFull(f, head)
	f.Close()
	if n == 0 {
		return nil, fmt.Errorf("%w: %s: empty file", ErrBadWeights, path)
	}
	if string(head[:n]) != legacyMagic {
		return nil, fmt.Errorf("%w: %s: neither a torch zip archive nor a legacy torch.save file", ErrBadWeights, path)
	}
	obj, err := pytorch.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadWeights, path, err)
	}
	tf := &torchFile{path: path, tensors: map[string]*torchView{}}
	conv := func(v any) any {
		x, ok := v.(*pytorch.Tensor)
		if !ok {
			return v
		}
		tv := &torchView{offset: x.StorageOffset, size: x.Size, stride: x.Stride, storage: &torchStorageRef{}}
		switch s := x.Source.(type) {
		case *pytorch.FloatStorage:
			tv.storage.dtype, tv.legacy = "F32", s.Data
		default:
			tv.storage.dtype = fmt.Sprintf("%T", x.Source)
		}
		tv.storage.numel = len(tv.legacy)
		return tv
	}
	switch d := obj.(type) {
	case *types.OrderedDict:
		for e := d.List.Front(); e != nil; e = e.Next() {
			entry := e.Value.(*types.OrderedDictEntry)
			entry.Value = conv(entry.Value)
		}
	case *types.Dict:
		for _, entry := range *d {
			entry.Value = conv(entry.Value)
		}
	}
	if err := tf.collect(obj); err != nil {
		return nil, wrapf(err, "%s", path)
	}
	return tf, nil
}

// legacyMagic is how a legacy torch.save file begins.
const legacyMagic = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"

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
	return x.size, true
}

// storageData decodes a storage to float32, once.
func (t *torchFile) storageData(x *torchView, name string) ([]float32, error) {
	if x.legacy != nil {
		return x.legacy, nil
	}
	s := x.storage
	if d, ok := t.cache[s.key]; ok {
		return d, nil
	}
	if t.zr == nil {
		return nil, fmt.Errorf("%w: %s: tensor %q has a %s storage (legacy checkpoints: fp32 only)", ErrBadWeights, t.path, name, s.dtype)
	}
	es := dtypeSize[s.dtype]
	switch s.dtype {
	case "F32", "F16", "BF16", "F64":
	default:
		return nil, fmt.Errorf("%w: %s: tensor %q has dtype %s, want a float type", ErrBadWeights, t.path, name, s.dtype)
	}
	r, err := t.records[s.key].Open()
	if err != nil {
		return nil, wrapf(err, "%s: storage %q", t.path, s.key)
	}
	defer r.Close()
	raw := make([]byte, s.numel*es)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, wrapf(err, "%s: storage %q", t.path, s.key)
	}
	out := make([]float32, s.numel)
	for i := range out {
		switch s.dtype {
		case "F32":
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		case "F16":
			out[i] = float16to32(binary.LittleEndian.Uint16(raw[2*i:]))
		case "BF16":
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		case "F64":
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	}
	t.cache[s.key] = out
	return out, nil
}

// read gathers the tensor (any strides, any storage offset) into a
// row-major float32 slice, checking every index against the storage.
func (t *torchFile) read(name string) ([]float32, error) {
	x, ok := t.tensors[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrMissingTensor, name)
	}
	data, err := t.storageData(x, name)
	if err != nil {
		return nil, err
	}
	// Keep a decoded storage only while other views of it are unread.
	if t.unread[x.storage.key]--; t.unread[x.storage.key] <= 0 {
		delete(t.cache, x.storage.key)
	}
	if len(x.stride) != len(x.size) {
		return nil, fmt.Errorf("%w: %s: tensor %q: %d strides for %d dimensions", ErrBadWeights, t.path, name, len(x.stride), len(x.size))
	}
	numel, err := shapeNumel(x.size)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: tensor %q: %v", ErrBadWeights, t.path, name, err)
	}
	out := make([]float32, numel)
	if numel == 0 {
		return out, nil
	}
	last := x.offset
	for d, n := range x.size {
		if x.stride[d] < 0 {
			return nil, fmt.Errorf("%w: %s: tensor %q: negative stride", ErrBadWeights, t.path, name)
		}
		last += (n - 1) * x.stride[d]
	}
	if x.offset < 0 || last >= len(data) {
		return nil, fmt.Errorf("%w: %s: tensor %q (shape %v, stride %v, offset %d) reaches past its storage of %d elements",
			ErrBadWeights, t.path, name, x.size, x.stride, x.offset, len(data))
	}
	if isContiguous(x.size, x.stride) {
		copy(out, data[x.offset:])
		return out, nil
	}
	idx := make([]int, len(x.size))
	for i := range out {
		off := x.offset
		for d, v := range idx {
			off += v * x.stride[d]
		}
		out[i] = data[off]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < x.size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

func (t *torchFile) close() error {
	if t.zr == nil {
		return nil
	}
	return t.zr.Close()
}

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
