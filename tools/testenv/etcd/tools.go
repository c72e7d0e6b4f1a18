// tools/testenv/etcd/tools.go - blank import of the etcd server main package this harness builds, so
// go.mod/go.sum pin everything it needs. No logic lives here.

//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
