package rpc

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
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
	name    string
	fn      reflect.Value // the method expression: receiver first
	argType reflect.Type  // as declared; a pointer in the usual shape
	active  atomic.Int64  // executions running now (Executes)
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
		svc.methods[m.Name] = &method{name: m.Name, fn: m.Func, argType: m.Type.In(2)}
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

// newArg returns a fresh argument: a pointer to decode into, and the value
// to pass to the method.
func (m *method) newArg() (decodeInto any, pass reflect.Value) {
	if m.argType.Kind() == reflect.Pointer {
		p := reflect.New(m.argType.Elem())
		return p.Interface(), p
	}
	p := reflect.New(m.argType)
	return p.Interface(), p.Elem()
}

// call invokes the method on svc's receiver.
func (m *method) call(ctx context.Context, svc *service, arg reflect.Value) (any, error) {
	// A Value of the interface type spares Call a check that ctx's dynamic
	// type implements context.Context on every request.
	out := m.fn.Call([]reflect.Value{svc.rcvr, reflect.ValueOf(&ctx).Elem(), arg})
	if e := out[1].Interface(); e != nil {
		return nil, e.(error)
	}
	return out[0].Interface(), nil
}
