package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/longlink/longlink/internal/benchmsg"
)

// A system is one RPC stack under test: a server and a client, started on
// loopback by its spec and stopped by close.
type system interface {
	// caller returns a function that makes one echo call of msg and waits
	// for the reply. Each measuring goroutine gets its own caller, with its
	// own request and reply values: a caller is not safe for concurrent use.
	caller(ctx context.Context, msg string) (func() error, error)
	// close stops the client and the server; every goroutine the system
	// started has exited when it returns.
	close()
}

// systemSpec names a system and starts it.
type systemSpec struct {
	name  string
	label string // for tables: what exactly runs
	start func() (system, error)
}

// Message kinds, as flags and tables name them.
const (
	msgLarge = "1KiB" // benchmsg.New(): about 1 KiB of MessagePack
	msgTiny  = "tiny" // benchmsg.Tiny: one short string
)

// newMessages returns a request and an empty reply of the given kind, and
// the name of the echo method that carries it.
func newMessages(msg string) (method string, req, reply any, err error) {
	switch msg {
	case msgLarge:
		return "Message", benchmsg.New(), new(benchmsg.Message), nil
	case msgTiny:
		return "Tiny", &benchmsg.Tiny{S: "hello longlink"}, new(benchmsg.Tiny), nil
	}
	return "", nil, nil, fmt.Errorf("unknown message %q (want %s or %s)", msg, msgLarge, msgTiny)
}

// quiet is the logger given to every library under test: the harness prints
// only its own progress and report.
var quiet = slog.New(slog.DiscardHandler)
