package main

import (
	"context"
	"time"

	"github.com/longlink/longlink/rpc"
)

// The long connection against a connection per call: the same provider,
// called through longlink's shared connection, or by dialling, calling once
// and closing (rpc.Dial + Call + Close) every time.

// dialPerCallSystem is a provider whose callers dial it anew for every call.
type dialPerCallSystem struct {
	prov *provider
}

var dialPerCallSpec = systemSpec{
	name:  "dial-per-call",
	label: "rpc.Dial + Call + Close for every call",
	start: func() (system, error) {
		prov, err := startProvider(nil, rpc.ServerOptions{})
		if err != nil {
			return nil, err
		}
		return &dialPerCallSystem{prov: prov}, nil
	},
}

func (s *dialPerCallSystem) caller(ctx context.Context, msg string) (func() error, error) {
	method, req, reply, err := newMessages(msg)
	if err != nil {
		return nil, err
	}
	opts := rpc.ClientOptions{Logger: quiet, DialTimeout: 10 * time.Second}
	return func() error {
		c, err := rpc.Dial(ctx, s.prov.addr, opts)
		if err != nil {
			return err
		}
		err = c.Call(ctx, "Echo", method, req, reply)
		_ = c.Close()
		return err
	}, nil
}

func (s *dialPerCallSystem) close() { s.prov.close() }

// perconnPlan compares the two on the tiny message.
func perconnPlan(concs []int, rounds int, warmup, duration time.Duration) *roundsPlan {
	p := &roundsPlan{
		suite:    "long vs per-call",
		systems:  []systemSpec{longlinkSpec("longlink", 0), dialPerCallSpec},
		rounds:   rounds,
		warmup:   warmup,
		duration: duration,
	}
	for _, c := range concs {
		p.cases = append(p.cases, benchCase{msg: msgTiny, conc: c})
	}
	return p
}
