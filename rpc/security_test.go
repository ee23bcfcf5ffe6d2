package rpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/longlink/longlink/rpc"
)

// testCA issues certificates for TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue returns a certificate for 127.0.0.1, usable by servers and clients.
func (ca *testCA) issue(t *testing.T, name string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLS(t *testing.T) {
	ca, otherCA := newCA(t, "longlink test CA"), newCA(t, "someone else")
	serverCert, clientCert := ca.issue(t, "provider"), ca.issue(t, "consumer")
	strangerCert := otherCA.issue(t, "stranger")
	tlsServer := &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
	mutual := &tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool, MinVersion: tls.VersionTLS12}

	tests := []struct {
		name    string
		server  *tls.Config
		client  *tls.Config
		wantErr string // "" means the call succeeds
	}{
		{"TLS", tlsServer, &tls.Config{RootCAs: ca.pool}, ""},
		{"server certificate from an unknown CA", tlsServer, &tls.Config{RootCAs: otherCA.pool}, "certificate signed by unknown authority"},
		{"plain client to a TLS server", tlsServer, nil, "connection lost"},
		{"mutual TLS", mutual, &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{clientCert}}, ""},
		{"mutual TLS without a client certificate", mutual, &tls.Config{RootCAs: ca.pool}, "certificate required"},
		{"mutual TLS with a stranger's certificate", mutual, &tls.Config{RootCAs: ca.pool, Certificates: []tls.Certificate{strangerCert}}, "certificate required"}, // not from a CA the server lists, so not offered
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			_, addr := startServer(t, rpc.ServerOptions{TLS: tc.server, Logger: logs.logger()}, newArith())
			c, err := rpc.Dial(context.Background(), addr, rpc.ClientOptions{TLS: tc.client, Logger: quietLogger, HeartbeatInterval: -1})
			if err == nil {
				defer c.Close()
				var r Reply
				err = c.Call(context.Background(), "Arith", "Add", &Args{A: 20, B: 22}, &r)
				if err == nil && r.C != 42 {
					t.Fatalf("reply %d", r.C)
				}
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("call failed: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
			}
			if tc.wantErr != "" && tc.client != nil {
				waitFor(t, longWait, "the server to log the refused handshake", func() bool {
					return strings.Contains(logs.String(), "TLS handshake")
				})
			}
		})
	}
}

func TestTokenAuthentication(t *testing.T) {
	_, addr := startServer(t, rpc.ServerOptions{Authenticate: rpc.TokenAuth("s3cret", "rotated")}, newArith())
	tests := []struct {
		name, token string
		md          rpc.Metadata
		ok          bool
	}{
		{"valid token", "s3cret", nil, true},
		{"second valid token, with other metadata", "rotated", rpc.Metadata{"trace": "1"}, true},
		{"wrong token", "guess", nil, false},
		{"no token", "", nil, false},
		{"token only in call metadata", "", rpc.Metadata{"authorization": "Bearer s3cret"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr, rpc.ClientOptions{Token: tc.token})
			ctx := context.Background()
			if tc.md != nil {
				ctx = rpc.WithMetadata(ctx, tc.md)
			}
			err := c.Call(ctx, "Arith", "Add", &Args{A: 1}, new(Reply))
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok && (!errors.Is(err, rpc.ErrUnauthenticated) || rpc.Retryable(err)) {
				t.Fatalf("err = %v, want ErrUnauthenticated, not retryable", err)
			}
		})
	}
}

func TestMaxConnections(t *testing.T) {
	srv, addr := startServer(t, rpc.ServerOptions{MaxConnections: 2}, newArith())
	a := dial(t, addr, rpc.ClientOptions{})
	b := dial(t, addr, rpc.ClientOptions{})
	for _, c := range []*rpc.Conn{a, b} {
		if _, err := c.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	over := dial(t, addr, rpc.ClientOptions{HeartbeatInterval: -1})
	if _, err := over.Ping(context.Background()); !errors.Is(err, rpc.ErrConnLost) {
		t.Fatalf("a third connection: %v, want it closed by the server", err)
	}
	a.Close()
	waitFor(t, longWait, "the server to see the close", func() bool { return srv.ConnCount() == 1 })
	again := dial(t, addr, rpc.ClientOptions{})
	if _, err := again.Ping(context.Background()); err != nil {
		t.Fatalf("below the limit again: %v", err)
	}
}

func TestMaxRequestsPerConn(t *testing.T) {
	a := newArith()
	a.entered = make(chan struct{}, 2)
	_, addr := startServer(t, rpc.ServerOptions{MaxRequestsPerConn: 2}, a)
	c := dial(t, addr, rpc.ClientOptions{})
	other := dial(t, addr, rpc.ClientOptions{})
	done := make(chan *rpc.Call, 2)
	for range 2 {
		c.Go(context.Background(), "Arith", "Block", &Args{}, new(Reply), done)
	}
	receive(t, a.entered, longWait, "first")
	receive(t, a.entered, longWait, "second")
	if err := c.Call(context.Background(), "Arith", "Add", &Args{}, new(Reply)); !errors.Is(err, rpc.ErrOverloaded) {
		t.Fatalf("third request on the connection: %v, want ErrOverloaded", err)
	}
	if err := other.Call(context.Background(), "Arith", "Add", &Args{}, new(Reply)); err != nil {
		t.Fatalf("another connection is not limited: %v", err)
	}
	a.release <- struct{}{}
	a.release <- struct{}{}
	for range 2 {
		if call := <-done; call.Error != nil {
			t.Fatal(call.Error)
		}
	}
}
