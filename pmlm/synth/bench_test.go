package synth

import "testing"

func BenchmarkGenerateDefault(b *testing.B) {
	opts := DefaultOptions()
	for i := 0; b.Loop(); i++ {
		opts.Seed = uint64(i)
		if _, err := Generate(opts); err != nil {
			b.Fatal(err)
		}
	}
}
