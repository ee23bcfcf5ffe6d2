package rpc

import (
	"context"
	"reflect"
	"unsafe"
)

// Calling handlers without reflect.Value.Call.
//
// reflect.Value.Call costs three allocations and a trip through reflect's
// argument marshalling on every request. Handlers of the usual shape,
//
//	func (r *T) Name(ctx context.Context, arg *Arg) (*Reply, error)
//
// all have the same machine-level signature: a pointer, an interface, a
// pointer in; a pointer and an interface out. Go's calling convention
// assigns registers and stack slots by the shape of each type, and a *T is
// shaped exactly like an unsafe.Pointer, so such a method can be called
// through a func value of type directFunc, built once at registration from
// the method expression. Methods of other shapes (a value Arg or Reply) keep
// reflect.Value.Call.

// directFunc is the shape of every handler whose receiver, Arg and Reply are
// pointers.
type directFunc func(rcvr unsafe.Pointer, ctx context.Context, arg unsafe.Pointer) (unsafe.Pointer, error)

// newDirect returns the method name of rcvr as a directFunc and the receiver
// pointer to call it with, or nils when the method's Arg or Reply is not a
// pointer. A receiver that is not a pointer is copied once into a new
// variable and called through its pointer type, whose method set includes
// every method of the value's; the compiler's wrapper copies the value for
// each call, as a value receiver expects.
func newDirect(rcvr reflect.Value, name string, argType, replyType reflect.Type) (directFunc, unsafe.Pointer) {
	if argType.Kind() != reflect.Pointer || replyType.Kind() != reflect.Pointer {
		return nil, nil
	}
	if rcvr.Kind() != reflect.Pointer {
		p := reflect.New(rcvr.Type())
		p.Elem().Set(rcvr)
		rcvr = p
	}
	m, ok := rcvr.Type().MethodByName(name)
	if !ok {
		return nil, nil
	}
	// Store the method expression, a func value of its own type, in a
	// variable of type directFunc: the same representation (a pointer to
	// the code), read through the equivalent signature.
	var fn directFunc
	reflect.NewAt(m.Func.Type(), unsafe.Pointer(&fn)).Elem().Set(m.Func)
	return fn, rcvr.UnsafePointer()
}

// declared returns arg (from newArg) as the method declares its argument:
// the pointer itself for a pointer Arg, the value it points to otherwise.
// Interceptors see this.
func (m *method) declared(arg any) any {
	if m.argType.Kind() == reflect.Pointer {
		return arg
	}
	return reflect.ValueOf(arg).Elem().Interface()
}
