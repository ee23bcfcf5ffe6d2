package main

import (
	"net"
	"sync"
)

// tcpServer is the accept loop of the peers' servers (net/rpc, the raw
// echo, the idle floor): it runs handle on a goroutine of its own for every
// connection accepted on ln, and closes the connection when handle returns.
type tcpServer struct {
	ln       net.Listener
	handle   func(net.Conn)
	accepted chan struct{}  // closed when the accept loop has returned
	wg       sync.WaitGroup // every handler

	mu    sync.Mutex
	conns map[net.Conn]struct{} // guarded by mu: connections whose handler runs
}

// serveTCP starts accepting on ln.
func serveTCP(ln net.Listener, handle func(net.Conn)) *tcpServer {
	s := &tcpServer{ln: ln, handle: handle, accepted: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	go s.accept()
	return s
}

func (s *tcpServer) accept() {
	defer close(s.accepted)
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[nc] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			s.handle(nc)
			s.mu.Lock()
			delete(s.conns, nc)
			s.mu.Unlock()
			_ = nc.Close()
		})
	}
}

// close stops accepting, closes every connection and returns when every
// handler has returned. A handler must return once its connection is closed.
func (s *tcpServer) close() {
	_ = s.ln.Close()
	<-s.accepted
	s.mu.Lock()
	for nc := range s.conns {
		_ = nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
