package rpc

import (
	"crypto/subtle"
	"errors"
	"strings"
)

// TokenAuth returns a ServerOptions.Authenticate that accepts requests whose
// "authorization" metadata is "Bearer <t>" for one of tokens, as clients with
// ClientOptions.Token send. Tokens are compared in constant time.
func TokenAuth(tokens ...string) func(*ServerInfo, Metadata) error {
	want := make([][]byte, len(tokens))
	for i, t := range tokens {
		want[i] = []byte(t)
	}
	return func(_ *ServerInfo, md Metadata) error {
		got, ok := strings.CutPrefix(md[metaAuthorization], "Bearer ")
		if !ok {
			return errors.New("missing bearer token")
		}
		match := 0
		for _, w := range want {
			match |= subtle.ConstantTimeCompare([]byte(got), w)
		}
		if match != 1 {
			return errors.New("invalid token")
		}
		return nil
	}
}
