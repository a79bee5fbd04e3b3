package client

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/kennel-dev/kennel/api/v1"
)

// A request that gets no answer is a ServiceUnavailable API error and
// also unwraps to why it got none.
func TestTransportErrorsWrapTheirCause(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c, err := New(Config{Server: "https://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name  string
		ctx   context.Context
		cause error
	}{
		{"caller gave up", cancelled, context.Canceled},
		{"nothing listens", context.Background(), syscall.ECONNREFUSED},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Do(tc.ctx, http.MethodGet, "/api/v1/namespaces", nil, "")
			if !errors.Is(err, tc.cause) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.cause)
			}
			if v1.ReasonOf(err) != v1.ReasonUnavailable || !strings.Contains(err.Error(), "cannot reach the Kennel API server at https://"+addr) {
				t.Errorf("err = %v (%s), want ServiceUnavailable naming the server", err, v1.ReasonOf(err))
			}
		})
	}
	_, err = c.PodLogs(cancelled, "default", "web", LogOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("PodLogs with a cancelled context: %v, want context.Canceled", err)
	}
}
