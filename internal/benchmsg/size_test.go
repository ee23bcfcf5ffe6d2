package benchmsg

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// The benchmarks' figures assume a message of about 1 KiB.
func TestMessageIsAboutOneKiB(t *testing.T) {
	b, err := msgpack.Marshal(New())
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 900 || len(b) > 1200 {
		t.Fatalf("Message encodes to %d bytes, want about 1024", len(b))
	}
	t.Logf("Message encodes to %d bytes", len(b))
}
