// An independent implementation of the payload encryption formats, written from their description only
// (docs/SECURITY.md "Payload encryption"), to check that payloads interoperate with the TypeScript codec.
//
// Format 1 (Temporal's samples):
//
//	metadata: encoding = "binary/encrypted", encryption-key-id = <id>
//	data:     12-byte nonce || AES-256-GCM ciphertext || 16-byte tag, over the serialized temporal.api.common.v1.Payload
//	          (message Payload { map<string, bytes> metadata = 1; bytes data = 2; }), no associated data
//
// Format 2 (bound to a Temporal namespace): format 1's metadata plus encryption-format = "2" and
// encryption-namespace = <namespace>; the same data, sealed with the associated data
//
//	"secure-temporal/payload-encryption" 0x00 "2" 0x00 <namespace> 0x00 <key id> 0x00 <"gzip" or nothing>
//
// where the namespace is the one the reader decodes for, never read from the metadata.
// Either format may gzip the serialized Payload before sealing it, marked encryption-compression = "gzip".
//
// Usage (payloads as proto3 JSON on stdin and stdout: {"metadata": {k: base64}, "data": base64}):
//
//	codecinterop encrypt <base64 key> <key id> [<namespace>]   < plain payload     > encrypted payload
//	codecinterop decrypt <base64 key> <key id> [<namespace>]   < encrypted payload > plain payload
//
// With a namespace, encrypt writes format 2 bound to it, and decrypt accepts format 2 of that namespace only (and
// format 1). Without one, encrypt writes format 1 and decrypt refuses format 2.
//
// Standard library only. Exits 1 with a message on stderr on any failure (a tag that does not verify included).
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
)

// Temporal namespace names as the format accepts them: never a NUL byte, the separator of the associated data.
var namespaceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

// associatedData is format 2's associated data for a namespace, a key id and a compression marker ("" for none).
func associatedData(namespace, keyID, compression string) []byte {
	var b bytes.Buffer
	for i, field := range []string{"secure-temporal/payload-encryption", "2", namespace, keyID, compression} {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(field)
	}
	return b.Bytes()
}

func gunzip(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 64<<20))
}

type payload struct {
	Metadata map[string][]byte `json:"metadata"`
	Data     []byte            `json:"data"`
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendBytesField(b []byte, field int, value []byte) []byte {
	b = appendVarint(b, uint64(field<<3|2))
	b = appendVarint(b, uint64(len(value)))
	return append(b, value...)
}

func marshal(p payload) []byte {
	var out []byte
	keys := make([]string, 0, len(p.Metadata))
	for k := range p.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var entry []byte
		entry = appendBytesField(entry, 1, []byte(k))
		entry = appendBytesField(entry, 2, p.Metadata[k])
		out = appendBytesField(out, 1, entry)
	}
	if len(p.Data) > 0 {
		out = appendBytesField(out, 2, p.Data)
	}
	return out
}

func readVarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("bad varint")
}

// fields returns the length-delimited fields of a message (other wire types are skipped).
func fields(b []byte) (map[int][][]byte, error) {
	out := map[int][][]byte{}
	for len(b) > 0 {
		tag, n, err := readVarint(b)
		if err != nil {
			return nil, err
		}
		b = b[n:]
		switch tag & 7 {
		case 0:
			_, n, err = readVarint(b)
			if err != nil {
				return nil, err
			}
			b = b[n:]
		case 2:
			l, n, err := readVarint(b)
			if err != nil || uint64(len(b)-n) < l {
				return nil, errors.New("truncated field")
			}
			out[int(tag>>3)] = append(out[int(tag>>3)], b[n:n+int(l)])
			b = b[n+int(l):]
		default:
			return nil, fmt.Errorf("unsupported wire type %d", tag&7)
		}
	}
	return out, nil
}

func unmarshal(b []byte) (payload, error) {
	f, err := fields(b)
	if err != nil {
		return payload{}, err
	}
	p := payload{Metadata: map[string][]byte{}}
	for _, entry := range f[1] {
		e, err := fields(entry)
		if err != nil {
			return payload{}, err
		}
		var key, value []byte
		if len(e[1]) > 0 {
			key = e[1][0]
		}
		if len(e[2]) > 0 {
			value = e[2][0]
		}
		p.Metadata[string(key)] = value
	}
	if len(f[2]) > 0 {
		p.Data = f[2][0]
	}
	return p, nil
}

func run() error {
	if len(os.Args) != 4 && len(os.Args) != 5 {
		return errors.New("usage: codecinterop encrypt|decrypt <base64 key> <key id> [<namespace>]")
	}
	key, err := base64.StdEncoding.DecodeString(os.Args[2])
	if err != nil || len(key) != 32 {
		return errors.New("the key must be 32 bytes in base64")
	}
	keyID := os.Args[3]
	namespace := ""
	if len(os.Args) == 5 {
		namespace = os.Args[4]
		if !namespaceName.MatchString(namespace) {
			return fmt.Errorf("%q is not a Temporal namespace name", namespace)
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	var p payload
	if err := json.Unmarshal(in, &p); err != nil {
		return fmt.Errorf("stdin is not a JSON payload: %w", err)
	}
	var out payload
	switch os.Args[1] {
	case "encrypt":
		nonce := make([]byte, gcm.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return err
		}
		metadata := map[string][]byte{"encoding": []byte("binary/encrypted"), "encryption-key-id": []byte(keyID)}
		var aad []byte
		if namespace != "" {
			metadata["encryption-format"] = []byte("2")
			metadata["encryption-namespace"] = []byte(namespace)
			aad = associatedData(namespace, keyID, "")
		}
		out = payload{Metadata: metadata, Data: gcm.Seal(nonce, nonce, marshal(p), aad)}
	case "decrypt":
		if string(p.Metadata["encoding"]) != "binary/encrypted" {
			return errors.New("not an encrypted payload")
		}
		if string(p.Metadata["encryption-key-id"]) != keyID {
			return fmt.Errorf("encrypted with key %q, not %q", p.Metadata["encryption-key-id"], keyID)
		}
		compression, compressed := p.Metadata["encryption-compression"]
		if compressed && string(compression) != "gzip" {
			return fmt.Errorf("unknown compression %q", compression)
		}
		var aad []byte
		if format, ok := p.Metadata["encryption-format"]; ok {
			if string(format) != "2" {
				return fmt.Errorf("unknown format %q", format)
			}
			if namespace == "" {
				return fmt.Errorf("bound to namespace %q: name the namespace to decrypt for", p.Metadata["encryption-namespace"])
			}
			if string(p.Metadata["encryption-namespace"]) != namespace {
				return fmt.Errorf("wrong namespace: bound to %q, not %q", p.Metadata["encryption-namespace"], namespace)
			}
			aad = associatedData(namespace, keyID, string(compression))
		}
		if len(p.Data) < gcm.NonceSize()+gcm.Overhead() {
			return errors.New("too short")
		}
		plain, err := gcm.Open(nil, p.Data[:gcm.NonceSize()], p.Data[gcm.NonceSize():], aad)
		if err != nil {
			return fmt.Errorf("decrypt: %w", err)
		}
		if compressed {
			if plain, err = gunzip(plain); err != nil {
				return fmt.Errorf("the plaintext does not decompress: %w", err)
			}
		}
		if out, err = unmarshal(plain); err != nil {
			return fmt.Errorf("the plaintext is not a Payload: %w", err)
		}
	default:
		return fmt.Errorf("unknown command %q", os.Args[1])
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "codecinterop:", err)
		os.Exit(1)
	}
}
