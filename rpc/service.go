package rpc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"unsafe"
)

// service is a registered receiver and its callable methods.
type service struct {
	name    string
	rcvr    reflect.Value
	methods map[string]*method // read-only after registration
}

// method is one callable method, shaped
// func (T) Name(context.Context, Arg) (Reply, error).
type method struct {
	name      string
	fn        reflect.Value // the method expression: receiver first
	argType   reflect.Type  // as declared; a pointer in the usual shape
	replyType reflect.Type  // as declared
	active    atomic.Int64  // executions running now (Executes)

	// In the usual shape (Arg and Reply pointers), the method is called
	// directly, without reflect.Value.Call and its three allocations: see
	// direct.go. Both nil otherwise.
	direct     directFunc
	directRcvr unsafe.Pointer // the receiver, a pointer, for direct
}

var (
	typeOfContext = reflect.TypeFor[context.Context]()
	typeOfError   = reflect.TypeFor[error]()
)

// newService inspects rcvr's exported methods. Every one of them must have
// the handler shape; the error lists those that do not.
func newService(name string, rcvr any) (*service, error) {
	v := reflect.ValueOf(rcvr)
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return nil, errors.New("rpc: Register of a nil receiver")
	}
	t := v.Type()
	if name == "" {
		name = reflect.Indirect(v).Type().Name()
		if name == "" {
			return nil, fmt.Errorf("rpc: Register: type %v has no name; use RegisterName", t)
		}
	}
	svc := &service{name: name, rcvr: v, methods: make(map[string]*method)}
	var wrong []string
	for i := range t.NumMethod() {
		m := t.Method(i)
		if !m.IsExported() {
			continue
		}
		if err := checkShape(m.Type); err != nil {
			wrong = append(wrong, fmt.Sprintf("%s: %v", m.Name, err))
			continue
		}
		meth := &method{name: m.Name, fn: m.Func, argType: m.Type.In(2), replyType: m.Type.Out(0)}
		meth.direct, meth.directRcvr = newDirect(v, m.Name, meth.argType, meth.replyType)
		svc.methods[m.Name] = meth
	}
	if len(wrong) > 0 {
		return nil, fmt.Errorf("rpc: Register %q: methods must be func(context.Context, *Arg) (*Reply, error); wrong shape: %s",
			name, strings.Join(wrong, "; "))
	}
	if len(svc.methods) == 0 {
		return nil, fmt.Errorf("rpc: Register %q: type %v has no exported methods", name, t)
	}
	return svc, nil
}

// checkShape checks a method type, receiver included.
func checkShape(t reflect.Type) error {
	switch {
	case t.NumIn() != 3:
		return fmt.Errorf("takes %d arguments, want 2", t.NumIn()-1)
	case t.In(1) != typeOfContext:
		return fmt.Errorf("first argument is %v, want context.Context", t.In(1))
	case t.NumOut() != 2:
		return fmt.Errorf("returns %d values, want 2", t.NumOut())
	case t.Out(1) != typeOfError:
		return fmt.Errorf("second result is %v, want error", t.Out(1))
	case t.IsVariadic():
		return errors.New("is variadic")
	}
	for _, u := range []reflect.Type{t.In(2), t.Out(0)} {
		switch u.Kind() {
		case reflect.Chan, reflect.Func, reflect.UnsafePointer:
			return fmt.Errorf("%v cannot be encoded", u)
		}
	}
	return nil
}

// newArg returns a fresh argument to decode into: always a pointer, to
// the argument itself when Arg is a pointer type, to an Arg otherwise.
func (m *method) newArg() any {
	if m.argType.Kind() == reflect.Pointer {
		return reflect.New(m.argType.Elem()).Interface()
	}
	return reflect.New(m.argType).Interface()
}

// call invokes the method on svc's receiver with arg, a value from newArg
// (or, from an interceptor, anything; a wrong type is an error).
func (m *method) call(ctx context.Context, svc *service, arg any) (any, error) {
	a := reflect.ValueOf(arg)
	if m.direct != nil && a.IsValid() && a.Type() == m.argType {
		r, err := m.direct(m.directRcvr, ctx, a.UnsafePointer())
		if err != nil {
			return nil, err
		}
		// r is a *Reply: as an interface value it needs no allocation.
		return reflect.NewAt(m.replyType.Elem(), r).Interface(), nil
	}
	if !a.IsValid() || a.Type() != m.argType {
		if !a.IsValid() || a.Type() != reflect.PointerTo(m.argType) {
			// An interceptor passed on the wrong type: a bug in the server
			// program, reported like a panic in the handler.
			panic(fmt.Sprintf("rpc: %s.%s called with an argument of type %T, want %v", svc.name, m.name, arg, m.argType))
		}
		a = a.Elem()
	}
	// A Value of the interface type spares Call a check that ctx's dynamic
	// type implements context.Context on every request.
	out := m.fn.Call([]reflect.Value{svc.rcvr, reflect.ValueOf(&ctx).Elem(), a})
	if e := out[1].Interface(); e != nil {
		return nil, e.(error)
	}
	return out[0].Interface(), nil
}
