//go:build tools

// The command this module builds (go build -o BIN github.com/pulumi/pulumi/pkg/v3/cmd/pulumi).
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
