package bert

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
)

// maxSafetensorsHeader is the format's own limit on the JSON header (100 MB).
const maxSafetensorsHeader = 100 << 20

// dtypeSize is the element size of every dtype the safetensors format
// defines. Only the floating ones can be loaded as weights.
var dtypeSize = map[string]int{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1,
	"U64": 8, "U32": 4, "U16": 2, "U8": 1,
	"BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
}

type stEntry struct {
	DType       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// safetensorsFile reads tensors on demand from a .safetensors file.
type safetensorsFile struct {
	path      string
	r         io.ReaderAt
	closer    io.Closer
	dataStart int64
	entries   map[string]stEntry
}

func openSafetensors(path string) (*safetensorsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, wrapf(err, "")
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, wrapf(err, "")
	}
	st, err := parseSafetensors(f, info.Size())
	if err != nil {
		f.Close()
		return nil, wrapf(err, "%s", path)
	}
	st.path, st.closer = path, f
	return st, nil
}

// parseSafetensors validates the header of a safetensors image of the
// given size: every tensor must have a known dtype, a shape whose byte
// size equals its data_offsets span, and a span inside the data area that
// overlaps no other tensor.
func parseSafetensors(r io.ReaderAt, size int64) (*safetensorsFile, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, fmt.Errorf("%w: file of %d bytes is shorter than the 8-byte header length", ErrBadWeights, size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("%w: reading header length: %v", ErrBadWeights, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxSafetensorsHeader || int64(n) > size-8 {
		return nil, fmt.Errorf("%w: header length %d exceeds the file (%d bytes) or the 100 MB limit", ErrBadWeights, n, size)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return nil, fmt.Errorf("%w: reading header: %v", ErrBadWeights, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, fmt.Errorf("%w: header (JSON at byte 8): %v", ErrBadWeights, jsonPosition(header, err))
	}
	st := &safetensorsFile{r: r, dataStart: 8 + int64(n), entries: make(map[string]stEntry, len(raw))}
	dataLen := size - st.dataStart
	type span struct {
		name       string
		begin, end int64
	}
	spans := make([]span, 0, len(raw))
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrBadWeights, name, err)
		}
		es, ok := dtypeSize[e.DType]
		if !ok {
			return nil, fmt.Errorf("%w: tensor %q: unknown dtype %q", ErrBadWeights, name, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("%w: tensor %q: data_offsets has %d values, want 2", ErrBadWeights, name, len(e.DataOffsets))
		}
		numel, err := shapeNumel(e.Shape)
		if err != nil {
			return nil, fmt.Errorf("%w: tensor %q: %v", ErrBadWeights, name, err)
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin || end > dataLen {
			return nil, fmt.Errorf("%w: tensor %q: data_offsets [%d, %d] outside the data area of %d bytes",
				ErrBadWeights, name, begin, end, dataLen)
		}
		if want := numel * int64(es); end-begin != want {
			return nil, fmt.Errorf("%w: tensor %q: shape %v of %s needs %d bytes, data_offsets [%d, %d] give %d",
				ErrBadWeights, name, e.Shape, e.DType, want, begin, end, end-begin)
		}
		st.entries[name] = e
		spans = append(spans, span{name, begin, end})
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].name < spans[j].name
	})
	for i := 1; i < len(spans); i++ {
		if spans[i].begin < spans[i-1].end {
			return nil, fmt.Errorf("%w: tensors %q and %q overlap", ErrBadWeights, spans[i-1].name, spans[i].name)
		}
	}
	return st, nil
}

func shapeNumel(shape []int) (int64, error) {
	numel := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d > 0 && numel > math.MaxInt32*int64(1<<16)/int64(d) {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		numel *= int64(d)
	}
	return numel, nil
}

func (s *safetensorsFile) names() []string {
	out := make([]string, 0, len(s.entries))
	for k := range s.entries {
		out = append(out, k)
	}
	return out
}

func (s *safetensorsFile) shape(name string) ([]int, bool) {
	e, ok := s.entries[name]
	return e.Shape, ok
}

// read returns the tensor as row-major float32, converting F16, BF16 and
// F64.
func (s *safetensorsFile) read(name string) ([]float32, error) {
	e, ok := s.entries[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrMissingTensor, name)
	}
	numel, _ := shapeNumel(e.Shape)
	buf := make([]byte, e.DataOffsets[1]-e.DataOffsets[0])
	if _, err := s.r.ReadAt(buf, s.dataStart+e.DataOffsets[0]); err != nil {
		return nil, wrapf(err, "%s: tensor %q", s.path, name)
	}
	out := make([]float32, numel)
	switch e.DType {
	case "F32":
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
	case "F16":
		for i := range out {
			out[i] = float16to32(binary.LittleEndian.Uint16(buf[2*i:]))
		}
	case "BF16":
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(buf[2*i:])) << 16)
		}
	case "F64":
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(buf[8*i:])))
		}
	default:
		return nil, fmt.Errorf("%w: tensor %q has dtype %s, want F32, F16, BF16 or F64", ErrBadWeights, name, e.DType)
	}
	return out, nil
}

func (s *safetensorsFile) close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

// float16to32 converts IEEE 754 half precision to single precision exactly
// (subnormals, infinities and NaNs included).
func float16to32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0:
		if frac == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value = frac * 2^-24.
		v := float32(frac) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	}
}
