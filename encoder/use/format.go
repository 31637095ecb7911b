package use

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// The model file (what internal/usegen writes and Default embeds) is
// gzip-compressed:
//
//	magic "PMLMUSE\x00", version byte 1
//	uint32 little-endian length of the JSON header, the header (Header)
//	the tensors' values in Header.Tensors order, little-endian, each
//	float16 or float32 as its TensorInfo.DType (or else Header.DType) says
const (
	fileMagic   = "PMLMUSE\x00"
	fileVersion = 1
)

// ErrFormat marks a model file that cannot be decoded or does not hold
// the model this package runs.
var ErrFormat = errors.New("use: bad model file")

// Header describes a model file.
type Header struct {
	// Source names what the weights were converted from.
	Source string `json:"source"`
	// DType is "float16" or "float32".
	DType string `json:"dtype"`
	// Tensors lists the weights in file order.
	Tensors []TensorInfo `json:"tensors"`
	// Constants are the graph's scalar settings (see the const* names).
	Constants map[string]float64 `json:"constants"`
	// Pieces and Scores are the SentencePiece vocabulary.
	Pieces []string  `json:"pieces"`
	Scores []float64 `json:"scores"`
}

// TensorInfo names one stored tensor and its shape.
type TensorInfo struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	// DType overrides Header.DType for this tensor when set: the
	// float16 file keeps the vectors (layer-norm scales, biases, the
	// timing signal's timescales: 0.1 % of the values) in float32, since
	// rounding the timescales alone moves token states by 0.26.
	DType string `json:"dtype,omitempty"`
}

// dtype is the tensor's storage type in a file of type fileType.
func (t TensorInfo) dtype(fileType string) string {
	if t.DType != "" {
		return t.DType
	}
	return fileType
}

// Names of Header.Constants.
const (
	ConstLayerNormEps  = "layer_norm_eps"  // added to the variance
	ConstMaxLen        = "max_len"         // positions kept by the graph
	ConstQueryScale0   = "query_scale_0"   // layer 0's query scale
	ConstQueryScale1   = "query_scale_1"   // layer 1's query scale
	ConstMaskBias      = "mask_bias"       // added to padding keys' logits (no padding here)
	ConstPaddingID     = "padding_id"      // the dense input's fill: ids ≥ 0 are all tokens
	ConstL2Floor       = "l2_norm_floor"   // floor of the squared norm
	ConstAttentionHead = "attention_heads" // heads per layer
)

// Size returns the number of values in the tensor.
func (t TensorInfo) Size() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// WriteFile writes a model file with the tensors' values (in
// h.Tensors order) stored as h.DType.
func WriteFile(w io.Writer, h Header, values [][]float32) error {
	if len(values) != len(h.Tensors) {
		return fmt.Errorf("use: %d tensors described, %d given", len(h.Tensors), len(values))
	}
	for _, ti := range append([]TensorInfo{{Name: "file", DType: h.DType}}, h.Tensors...) {
		if dt := ti.dtype(h.DType); dt != "float16" && dt != "float32" {
			return fmt.Errorf("use: %s: dtype %q, want float16 or float32", ti.Name, dt)
		}
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("use: header: %w", err)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(zw)
	bw.WriteString(fileMagic)
	bw.WriteByte(fileVersion)
	binary.Write(bw, binary.LittleEndian, uint32(len(hdr)))
	bw.Write(hdr)
	buf := make([]byte, 4)
	for i, v := range values {
		if len(v) != h.Tensors[i].Size() {
			return fmt.Errorf("use: tensor %s has %d values, want %d", h.Tensors[i].Name, len(v), h.Tensors[i].Size())
		}
		half := h.Tensors[i].dtype(h.DType) == "float16"
		for _, x := range v {
			if half {
				binary.LittleEndian.PutUint16(buf, float32ToHalf(x))
				bw.Write(buf[:2])
			} else {
				binary.LittleEndian.PutUint32(buf, math.Float32bits(x))
				bw.Write(buf)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// maxHeader bounds the JSON header (the vocabulary is most of it).
const maxHeader = 16 << 20

// readFile decodes a model file into its header and tensors by name.
func readFile(r io.Reader) (*Header, map[string][]float32, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 1<<16)
	head := make([]byte, len(fileMagic)+1+4)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	if string(head[:len(fileMagic)]) != fileMagic {
		return nil, nil, fmt.Errorf("%w: not a USE model file", ErrFormat)
	}
	if v := head[len(fileMagic)]; v != fileVersion {
		return nil, nil, fmt.Errorf("%w: version %d, want %d", ErrFormat, v, fileVersion)
	}
	n := binary.LittleEndian.Uint32(head[len(fileMagic)+1:])
	if n > maxHeader {
		return nil, nil, fmt.Errorf("%w: header of %d bytes", ErrFormat, n)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	tensors := make(map[string][]float32, len(h.Tensors))
	for _, ti := range h.Tensors {
		width := 0
		switch ti.dtype(h.DType) {
		case "float16":
			width = 2
		case "float32":
			width = 4
		default:
			return nil, nil, fmt.Errorf("%w: tensor %s: dtype %q", ErrFormat, ti.Name, ti.dtype(h.DType))
		}
		size := ti.Size()
		if size <= 0 || size > 1<<26 {
			return nil, nil, fmt.Errorf("%w: tensor %s has shape %v", ErrFormat, ti.Name, ti.Shape)
		}
		if _, dup := tensors[ti.Name]; dup {
			return nil, nil, fmt.Errorf("%w: tensor %s twice", ErrFormat, ti.Name)
		}
		buf := make([]byte, size*width)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, nil, fmt.Errorf("%w: tensor %s: %v", ErrFormat, ti.Name, err)
		}
		v := make([]float32, size)
		for i := range v {
			if width == 2 {
				v[i] = halfToFloat32(binary.LittleEndian.Uint16(buf[2*i:]))
			} else {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			}
			if math.IsNaN(float64(v[i])) || math.IsInf(float64(v[i]), 0) {
				return nil, nil, fmt.Errorf("%w: tensor %s value %d is %v", ErrFormat, ti.Name, i, v[i])
			}
		}
		tensors[ti.Name] = v
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, nil, fmt.Errorf("%w: data after the last tensor", ErrFormat)
	}
	return &h, tensors, nil
}
