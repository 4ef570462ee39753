// Command tlsprobe is a TLS client that presents a certificate chain with whatever private key it is
// given, WITHOUT checking that the key belongs to the certificate (tls.X509KeyPair, OpenSSL and rustls
// all refuse such a pair before connecting). It tells whether a server verifies the client's proof of
// possession. After the handshake it sends an HTTP/2 preface; a gRPC server answers with SETTINGS only
// if it accepted the client.
//
// Usage: tlsprobe <host:port> <serverName> <ca.pem> <chain.pem> <key.pem>
// Prints {"accepted":bool,"error":"..."}; exits non-zero only on local errors.
package main

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"time"
)

type verdict struct {
	Accepted bool   `json:"accepted"`
	Error    string `json:"error,omitempty"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}

func main() {
	if len(os.Args) != 6 {
		fail("usage: tlsprobe <host:port> <serverName> <ca.pem> <chain.pem> <key.pem>")
	}
	addr, serverName, caFile, chainFile, keyFile := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]

	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		fail("%v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		fail("no certificate in %s", caFile)
	}
	chainPEM, err := os.ReadFile(chainFile)
	if err != nil {
		fail("%v", err)
	}
	var chain [][]byte
	for rest := chainPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			chain = append(chain, block.Bytes)
		}
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		fail("%v", err)
	}
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		fail("no PEM block in %s", keyFile)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		fail("%s: %v", keyFile, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		fail("%s: not a signing key", keyFile)
	}

	config := &tls.Config{
		ServerName:   serverName,
		RootCAs:      roots,
		NextProtos:   []string{"h2"},
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: chain, PrivateKey: signer}},
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", addr, config)
	out := json.NewEncoder(os.Stdout)
	if err != nil {
		_ = out.Encode(verdict{Error: err.Error()})
		return
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	preface := append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 0, 4, 0, 0, 0, 0, 0)
	if _, err := conn.Write(preface); err != nil {
		_ = out.Encode(verdict{Error: err.Error()})
		return
	}
	buf := make([]byte, 9)
	if _, err := conn.Read(buf); err != nil {
		_ = out.Encode(verdict{Error: err.Error()})
		return
	}
	if buf[3] != 4 { // HTTP/2 frame type SETTINGS
		_ = out.Encode(verdict{Error: fmt.Sprintf("unexpected HTTP/2 frame type %d", buf[3])})
		return
	}
	_ = out.Encode(verdict{Accepted: true})
}
