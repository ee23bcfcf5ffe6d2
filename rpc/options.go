package rpc

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"time"
)

// Defaults applied to zero-valued option fields.
const (
	DefaultHeartbeatInterval   = 2 * time.Second
	DefaultMaxMissedHeartbeats = 3
	DefaultDialTimeout         = 3 * time.Second
	DefaultTCPKeepAlive        = 15 * time.Second
	DefaultIdleTimeout         = 30 * time.Second
	DefaultHandshakeTimeout    = 10 * time.Second
)

// ClientOptions configure a client connection. The zero value is ready to
// use: every zero field means the default it documents.
type ClientOptions struct {
	// HeartbeatInterval is how often the connection checks that it has read
	// something from the peer; after an interval of silence it sends a ping.
	// Any bytes read count as liveness. Default 2 s; negative disables
	// heartbeats (TCP keepalive alone then guards the connection).
	HeartbeatInterval time.Duration
	// MaxMissedHeartbeats is how many consecutive silent intervals declare
	// the connection dead (ErrHeartbeatTimeout). A silent peer is detected
	// after between MaxMissedHeartbeats and MaxMissedHeartbeats+1 intervals.
	// Default 3.
	MaxMissedHeartbeats int
	// MaxFrameSize is the largest frame body sent or accepted, in bytes.
	// Default 8 MiB (DefaultMaxFrameSize).
	MaxFrameSize int
	// DialTimeout bounds Dial when ctx has no earlier deadline. Default 3 s.
	DialTimeout time.Duration
	// TCPKeepAlive is the idle time and probe interval of the socket's TCP
	// keepalive (3 probes), a second line of defence under the heartbeats.
	// Default 15 s; negative disables it.
	TCPKeepAlive time.Duration
	// Dial opens the underlying connection, for fault injection or custom
	// transports. Default: a net.Dialer with DialTimeout and TCPKeepAlive.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLS, if set, makes the connection TLS: the handshake runs within Dial
	// and a server whose certificate does not verify is refused. If its
	// ServerName is empty, the host of the dialled address is used. For
	// mutual TLS, set Certificates. Default nil: plain TCP.
	TLS *tls.Config
	// Token, if set, is sent with every request as the metadata pair
	// "authorization: Bearer <Token>", for servers that Authenticate.
	// Default: none.
	Token string
	// Logger receives connection lifecycle records (debug) and failures
	// (warn). Default slog.Default().
	Logger *slog.Logger
	// OnStateChange, if set, is called when the connection becomes Draining
	// (the peer announced shutdown) or Closed (err says why). It runs on the
	// connection's own goroutines and must not block or call Close.
	OnStateChange func(c *Conn, s ConnState, err error)
	// OnHeartbeatMissed, if set, is called on the heartbeat goroutine after
	// each interval in which nothing was read, with the number of such
	// intervals in a row (the last call before a heartbeat timeout has
	// missed == MaxMissedHeartbeats). missed == 1 is routine on an idle
	// link: it is what sends a ping; from 2 on, a ping went unanswered. It
	// must not block.
	OnHeartbeatMissed func(c *Conn, missed int)
}

func (o ClientOptions) withDefaults() ClientOptions {
	if o.HeartbeatInterval == 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.MaxMissedHeartbeats <= 0 {
		o.MaxMissedHeartbeats = DefaultMaxMissedHeartbeats
	}
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = DefaultMaxFrameSize
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.TCPKeepAlive == 0 {
		o.TCPKeepAlive = DefaultTCPKeepAlive
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// ServerOptions configure a Server. The zero value is ready to use.
type ServerOptions struct {
	// MaxFrameSize is the largest frame body accepted or sent, in bytes.
	// Default 8 MiB (DefaultMaxFrameSize).
	MaxFrameSize int
	// Executes caps concurrent executions of each method (Dubbo's
	// "executes"); a request over the cap is answered StatusOverloaded at
	// once, never queued. Default 0: no cap.
	Executes int
	// IdleTimeout closes a connection that has sent nothing, not even a
	// heartbeat, for this long. Clients ping about every two heartbeat
	// intervals when idle, so keep it well above twice theirs. Default 30 s;
	// negative disables it.
	IdleTimeout time.Duration
	// TCPKeepAlive is the idle time and probe interval of TCP keepalive on
	// accepted connections (3 probes). Default 15 s; negative disables it.
	TCPKeepAlive time.Duration
	// Logger receives connection records (debug), rejected input (warn) and
	// handler panics (error). Default slog.Default().
	Logger *slog.Logger
	// Interceptors wrap every request, the first outermost. Default none.
	Interceptors []ServerInterceptor
	// TLS, if set, makes every accepted connection TLS; the handshake runs
	// on the connection's own goroutine within HandshakeTimeout. For mutual
	// TLS set ClientAuth to tls.RequireAndVerifyClientCert and ClientCAs.
	// Default nil: plain TCP.
	TLS *tls.Config
	// HandshakeTimeout bounds a TLS handshake. Default 10 s.
	HandshakeTimeout time.Duration
	// MaxConnections caps the connections served at once; one over the cap
	// is closed as soon as it is accepted (the client sees it fail and backs
	// off). Default 0: no cap.
	MaxConnections int
	// MaxRequestsPerConn caps the requests running at once per connection; a
	// request over the cap is answered StatusOverloaded at once. Default 0:
	// no cap.
	MaxRequestsPerConn int
	// Authenticate, if set, is asked about every request before its argument
	// is decoded, with the caller's metadata; an error refuses the request
	// with StatusUnauthenticated and the error's text. TokenAuth returns one
	// for bearer tokens. Default nil: every request is accepted.
	Authenticate func(info *ServerInfo, md Metadata) error
}

func (o ServerOptions) withDefaults() ServerOptions {
	if o.MaxFrameSize <= 0 {
		o.MaxFrameSize = DefaultMaxFrameSize
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.TCPKeepAlive == 0 {
		o.TCPKeepAlive = DefaultTCPKeepAlive
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	return o
}

// setKeepAlive configures TCP keepalive on c if it is a TCP connection.
func setKeepAlive(c net.Conn, period time.Duration) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	if period < 0 {
		_ = tc.SetKeepAlive(false)
		return
	}
	_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: period, Interval: period, Count: 3})
}
