package rpc

import "context"

// Metadata is a set of string pairs that travels with a request, like Dubbo's
// attachments or gRPC's metadata. A request carries at most 64 pairs.
type Metadata map[string]string

type outgoingKey struct{}
type incomingKey struct{}

// WithMetadata returns a context whose calls carry md to the server. It
// replaces any metadata ctx already carried; md must not be modified after.
func WithMetadata(ctx context.Context, md Metadata) context.Context {
	return context.WithValue(ctx, outgoingKey{}, md)
}

// OutgoingMetadata returns the metadata calls made with ctx will carry.
func OutgoingMetadata(ctx context.Context) Metadata {
	md, _ := ctx.Value(outgoingKey{}).(Metadata)
	return md
}

// IncomingMetadata returns the metadata the caller sent, inside a handler.
func IncomingMetadata(ctx context.Context) Metadata {
	md, _ := ctx.Value(incomingKey{}).(Metadata)
	return md
}
