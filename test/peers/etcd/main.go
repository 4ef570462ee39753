// Command etcd starts the etcd server of go.etcd.io/etcd/server/v3 with the usual flags.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
