package greeter

import (
	"io"
	"sync"
)

// SyncWriter serialises writes to w, which the examples' output and their
// loggers share from several goroutines.
func SyncWriter(w io.Writer) io.Writer { return &syncWriter{w: w} }

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
