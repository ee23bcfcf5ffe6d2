package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/longlink/longlink/metrics"
	"github.com/longlink/longlink/rpc"
)

// counter is a minimal Recorder: it embeds Nop and counts server calls by
// outcome.
type counter struct {
	metrics.Nop
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) ServerCallEnd(service, method string, o metrics.Outcome, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[method+" "+o.String()]++
}

type Orders struct{}

func (Orders) Place(_ context.Context, qty *int) (*int, error) {
	if *qty <= 0 {
		return nil, errors.New("quantity must be positive")
	}
	return qty, nil
}

// A Recorder of one's own, fed by a server through ServerInterceptor.
func ExampleServerInterceptor() {
	rec := &counter{n: map[string]int{}}
	srv := rpc.NewServer(rpc.ServerOptions{
		Interceptors: []rpc.ServerInterceptor{metrics.ServerInterceptor(rec)}, // first: sees the final outcome
	})
	srv.Register(Orders{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()

	conn, err := rpc.Dial(context.Background(), ln.Addr().String(), rpc.ClientOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	for _, qty := range []int{3, 1, 0, 2} {
		var out int
		conn.Call(context.Background(), "Orders", "Place", &qty, &out)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	fmt.Println(rec.n["Place ok"], "ok,", rec.n["Place application_error"], "application error")
	// Output: 3 ok, 1 application error
}

// How an error a call returned maps to an outcome label.
func ExampleClassify() {
	for _, err := range []error{
		nil,
		&rpc.RemoteError{Status: rpc.StatusApplication, Message: "out of stock"},
		&rpc.ConnError{Addr: "10.0.0.7:20880", Reason: rpc.ErrHeartbeatTimeout},
		fmt.Errorf("calling: %w", context.DeadlineExceeded),
	} {
		fmt.Println(metrics.Classify(err))
	}
	// Output:
	// ok
	// application_error
	// transport_error
	// timeout
}
