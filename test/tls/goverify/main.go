// Command goverify verifies a certificate chain the way the Temporal server (Go crypto/x509) does:
// every certificate in the anchors file is a trust root, even when it is not self-signed, and the
// extended key usage is checked along the whole chain.
//
//	goverify <chain.pem: leaf then intermediates> <anchors.pem> <client|server> [dns-name]
//
// Prints "OK" and exits 0, or prints the error and exits 1.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

func load(path string) []*x509.Certificate {
	data, err := os.ReadFile(path)
	if err != nil {
		fail(err)
	}
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			fail(err)
		}
		out = append(out, cert)
	}
}

func fail(err error) {
	fmt.Println(err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 4 {
		fail(fmt.Errorf("usage: goverify <chain.pem> <anchors.pem> <client|server> [dns-name]"))
	}
	chain := load(os.Args[1])
	roots := x509.NewCertPool()
	for _, c := range load(os.Args[2]) {
		roots.AddCert(c)
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	usage := x509.ExtKeyUsageClientAuth
	if os.Args[3] == "server" {
		usage = x509.ExtKeyUsageServerAuth
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: intermediates, KeyUsages: []x509.ExtKeyUsage{usage}}
	if len(os.Args) > 4 {
		opts.DNSName = os.Args[4]
	}
	if _, err := chain[0].Verify(opts); err != nil {
		fail(err)
	}
	fmt.Println("OK")
}
