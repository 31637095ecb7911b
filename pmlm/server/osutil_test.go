package server_test

import "os"

func mkdirTemp() (string, error) { return os.MkdirTemp("", "pmlm-server-test") }
func removeAll(dir string)       { _ = os.RemoveAll(dir) }
func exit(code int)              { os.Exit(code) }
