// tools/testenv/source-controller/tools.go - blank import of Flux's source-controller main package this
// harness builds, so go.mod/go.sum pin everything it needs. No logic lives here.

//go:build tools

package tools

import _ "github.com/fluxcd/source-controller"
