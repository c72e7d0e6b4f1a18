// tools/testenv/kube/tools.go - blank imports of the Kubernetes main packages this harness builds, so
// go.mod/go.sum pin everything they need. No logic lives here.

//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
