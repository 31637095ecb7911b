// Package decimal parses numbers written in plain decimal notation, the
// only notation the project's data files accept: an optional sign, digits
// with an optional decimal point, and an optional exponent ("-1.5",
// "3e-2"). strconv.ParseFloat alone also accepts hexadecimal floats
// ("0x1p3"), "Inf", "NaN" and underscores after a base prefix, which in a
// lab value are typing accidents or tampering, never data.
package decimal

import (
	"errors"
	"math"
	"strconv"
)

// ErrSyntax is returned for a string that is not a plain decimal number.
var ErrSyntax = errors.New("not a decimal number")

// ErrRange is returned for a decimal number too large for a float64.
var ErrRange = errors.New("decimal number out of range")

// Valid reports whether s is a plain decimal number: [+-]digits[.digits]
// or [+-][digits].digits, optionally followed by e or E, an optional sign
// and digits. No spaces are allowed.
func Valid(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

// Parse returns the value of the plain decimal number s: ErrSyntax when s
// is not one (Valid), ErrRange when it overflows a float64. The result is
// always finite.
func Parse(s string) (float64, error) {
	if !Valid(s) {
		return 0, ErrSyntax
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return 0, ErrRange
	}
	return v, nil
}
