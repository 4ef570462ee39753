// Command pulumi-resource-kubernetes serves the Kubernetes provider. The two embedded files are made at
// build time (scripts/install-peers.sh) from the schema and Terraform mapping in the provider module,
// with the schema's version set to the release.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
