// tools/testenv/kustomize-controller/tools.go - blank import of Flux's kustomize-controller main
// package this harness builds, so go.mod/go.sum pin everything it needs. No logic lives here.

//go:build tools

package tools

import _ "github.com/fluxcd/kustomize-controller"
