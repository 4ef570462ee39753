//go:build tools

// The commands this module builds (go build -o BIN k8s.io/kubernetes/cmd/NAME).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
