package main

import (
	"fmt"
	"io"
	"os"
)

// maxInputFile bounds the text files the commands read whole (a prompt
// template, score inputs, a reading note): 64 MiB, far beyond any real one.
const maxInputFile = 64 << 20

// readInputFile reads a text file named on the command line, refusing
// what is not a regular file (a FIFO or /dev/zero would block or never
// end) and what exceeds maxInputFile, with the file named.
func readInputFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxInputFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxInputFile {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, maxInputFile>>20)
	}
	return b, nil
}
