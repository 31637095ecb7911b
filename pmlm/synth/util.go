package synth

import "slices"

func sortSlice[T any](xs []T, cmp func(a, b T) int) { slices.SortStableFunc(xs, cmp) }
