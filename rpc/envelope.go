package rpc

import (
	"fmt"
	"time"
)

// Bodies, as rpc/PROTOCOL.md describes them:
//
//	request:  [service str, method str, timeout int (ns, 0 = none), metadata map|nil, argument]
//	response: the result (StatusOK) or an error message str (any other status)

// maxMetadataPairs bounds the metadata a request may carry.
const maxMetadataPairs = 64

// metaAuthorization is the metadata key that carries credentials.
const metaAuthorization = "authorization"

// appendRequest appends a complete request frame to e.b. A non-empty auth is
// sent as the "authorization" metadata pair, overriding md's.
func (e *encoder) appendRequest(id uint64, service, method string, timeout time.Duration, md Metadata, auth string, arg any) error {
	off := len(e.b)
	e.b = appendHeader(e.b, flagRequest|flagTwoWay, 0, id, 0)
	e.b = appendArrayLen(e.b, 5)
	e.b = appendString(e.b, service)
	e.b = appendString(e.b, method)
	e.b = appendInt(e.b, int64(timeout))
	n := len(md)
	if _, dup := md[metaAuthorization]; auth != "" && !dup {
		n++
	}
	if n == 0 {
		e.b = appendNil(e.b)
	} else {
		e.b = appendMapLen(e.b, n)
		for k, v := range md {
			if k == metaAuthorization && auth != "" {
				v = auth
			}
			e.b = appendString(e.b, k)
			e.b = appendString(e.b, v)
		}
		if _, dup := md[metaAuthorization]; auth != "" && !dup {
			e.b = appendString(e.b, metaAuthorization)
			e.b = appendString(e.b, auth)
		}
	}
	if err := e.enc.Encode(arg); err != nil {
		e.b = e.b[:off]
		return fmt.Errorf("rpc: encoding argument: %w", err)
	}
	putBodyLen(e.b, off)
	return nil
}

// appendResponse appends a response frame carrying result to e.b.
func (e *encoder) appendResponse(id uint64, result any) error {
	off := len(e.b)
	e.b = appendHeader(e.b, 0, uint8(StatusOK), id, 0)
	if err := e.enc.Encode(result); err != nil {
		e.b = e.b[:off]
		return fmt.Errorf("rpc: encoding result: %w", err)
	}
	putBodyLen(e.b, off)
	return nil
}

// appendError appends a response frame with a non-OK status and message.
func (e *encoder) appendError(id uint64, st Status, msg string) {
	off := len(e.b)
	e.b = appendHeader(e.b, 0, uint8(st), id, 0)
	e.b = appendString(e.b, msg)
	putBodyLen(e.b, off)
}

// request is a parsed request body. Service, method and arg alias the body.
type request struct {
	service, method []byte
	timeout         time.Duration
	md              Metadata
	arg             []byte
}

// parseRequest validates and parses a request body.
func parseRequest(body []byte) (request, error) {
	var q request
	if err := validate(body); err != nil {
		return q, err
	}
	r := msgpReader{b: body}
	n, err := r.arrayLen()
	if err != nil || n != 5 {
		return q, fmt.Errorf("request is not a 5-element array")
	}
	if q.service, err = r.str(); err != nil {
		return q, fmt.Errorf("service name: %w", err)
	}
	if q.method, err = r.str(); err != nil {
		return q, fmt.Errorf("method name: %w", err)
	}
	t, err := r.int()
	if err != nil || t < 0 {
		return q, fmt.Errorf("timeout: %w", errMsgp)
	}
	q.timeout = time.Duration(t)
	pairs, err := r.mapLen()
	if err != nil {
		return q, fmt.Errorf("metadata: %w", err)
	}
	if pairs > maxMetadataPairs {
		return q, fmt.Errorf("metadata has %d pairs, more than %d", pairs, maxMetadataPairs)
	}
	if pairs > 0 {
		q.md = make(Metadata, pairs)
		for range pairs {
			k, err := r.str()
			if err != nil {
				return q, fmt.Errorf("metadata key: %w", err)
			}
			v, err := r.str()
			if err != nil {
				return q, fmt.Errorf("metadata value: %w", err)
			}
			q.md[string(k)] = string(v)
		}
	}
	q.arg = body[r.off:]
	return q, nil
}

// decodeResponse turns a response into the call's outcome: nil with reply
// filled for StatusOK, a *RemoteError otherwise.
func decodeResponse(st Status, body []byte, reply any) error {
	if st == StatusOK {
		if reply == nil {
			return nil
		}
		if err := unmarshal(body, reply); err != nil {
			return fmt.Errorf("rpc: decoding reply: %w", err)
		}
		return nil
	}
	r := msgpReader{b: body}
	msg, err := r.str()
	if err != nil || r.off != len(body) {
		return &RemoteError{Status: st, Message: "(undecodable error message)"}
	}
	return &RemoteError{Status: st, Message: string(msg)}
}
