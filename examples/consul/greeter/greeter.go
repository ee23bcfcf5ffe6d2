// Package greeter is the service of the Consul examples.
package greeter

import (
	"context"
	"errors"
)

// Service is the name the provider registers and the consumer calls.
const Service = "Greeter"

// Greeter answers greetings and says which provider it is.
type Greeter struct{ Name string }

type HelloRequest struct{ Name string }
type HelloReply struct{ Message, From string }

// Hello greets req.Name.
func (g *Greeter) Hello(_ context.Context, req *HelloRequest) (*HelloReply, error) {
	if req.Name == "" {
		return nil, errors.New("name is required")
	}
	return &HelloReply{Message: "hello, " + req.Name, From: g.Name}, nil
}
