//go:build !amd64

package kernels

func available() []microKernel { return []microKernel{genericKernel} }
