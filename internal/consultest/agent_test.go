package consultest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/longlink/longlink/internal/consultest"
)

// httpGet fetches path from the agent with a fresh connection, returning the
// status code and body.
func httpGet(t *testing.T, a *consultest.Agent, path, token string) (int, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.Addr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Consul-Token", token)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

func requireLeader(t *testing.T, a *consultest.Agent) {
	t.Helper()
	code, body, err := httpGet(t, a, "/v1/status/leader", "")
	if err != nil || code != http.StatusOK || strings.Trim(body, "\"\n") == "" {
		t.Fatalf("leader: code %d, body %q, err %v; want a leader", code, body, err)
	}
}

func TestStartStopRestart(t *testing.T) {
	a := consultest.Start(t)
	requireLeader(t, a)

	a.Stop()
	if _, _, err := httpGet(t, a, "/v1/status/leader", ""); err == nil {
		t.Fatal("the agent still answers after Stop")
	}
	a.Stop() // a second Stop is a no-op

	a.Restart(t)
	requireLeader(t, a)
}

func TestTwoAgentsSideBySide(t *testing.T) {
	a, b := consultest.Start(t), consultest.Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("both agents on %s", a.Addr())
	}
	requireLeader(t, a)
	requireLeader(t, b)
}

func TestACLAgent(t *testing.T) {
	a := consultest.StartWith(t, consultest.Options{
		HCL:   `acl { enabled = true default_policy = "deny" tokens { initial_management = "root" } }`,
		Token: "root",
	})
	for _, tc := range []struct {
		token string
		want  int
	}{
		{"root", http.StatusOK},
		{"not-a-token", http.StatusForbidden},
	} {
		code, body, err := httpGet(t, a, "/v1/acl/token/self", tc.token)
		if err != nil || code != tc.want {
			t.Errorf("token %q: code %d (%q), err %v; want %d", tc.token, code, body, err, tc.want)
		}
	}
}
