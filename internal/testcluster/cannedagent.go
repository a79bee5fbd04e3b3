package testcluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/kennel-dev/kennel/client"
)

// CannedAgent answers the agent's endpoints with fixed behaviour, for
// tests of logs and exec through the API server (serve it with
// StartFakeAgent):
//
//   - GET /containerLogs/{ns}/{pod}/{container} writes one line,
//     "{ns}/{pod}/{container} tailLines=N previous=B", where N and B echo
//     the query ("" when absent). With follow=true it flushes, waits
//     until Release is closed, writes "second line", and then holds the
//     stream open until the caller goes away, when it closes FollowEnded.
//   - POST /exec/{ns}/{pod}/{container} writes the command, joined by
//     spaces, with a newline, to stdout, "to stderr\n" to stderr, and
//     exits with code 3. Command "fail" answers an error frame instead;
//     command "break" cuts the stream after its first frame.
//   - Pods "ghost", "odd" and "sick" get the agent's errors for an unknown
//     pod (404), a request it refuses (400) and a failing runtime (502).
type CannedAgent struct {
	// Release lets a followed log write its second line.
	Release chan struct{}
	// FollowEnded is closed when a followed log's caller has gone away.
	FollowEnded chan struct{}
}

// NewCannedAgent returns a CannedAgent for one followed log.
func NewCannedAgent() *CannedAgent {
	return &CannedAgent{Release: make(chan struct{}), FollowEnded: make(chan struct{})}
}

// ServeHTTP implements http.Handler.
func (a *CannedAgent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 4 {
		http.Error(w, "fake agent: no such path "+r.URL.Path, http.StatusNotFound)
		return
	}
	switch parts[2] {
	case "ghost":
		http.Error(w, fmt.Sprintf("pod %s/%s is not running on this node", parts[1], parts[2]), http.StatusNotFound)
		return
	case "odd":
		http.Error(w, "container "+parts[3]+" has no previous run", http.StatusBadRequest)
		return
	case "sick":
		http.Error(w, "runtime: not responding", http.StatusBadGateway)
		return
	}
	switch {
	case parts[0] == "containerLogs" && r.Method == http.MethodGet:
		a.logs(w, r, strings.Join(parts[1:], "/"))
	case parts[0] == "exec" && r.Method == http.MethodPost:
		a.exec(w, r)
	default:
		http.Error(w, "fake agent: no such endpoint", http.StatusNotFound)
	}
}

func (a *CannedAgent) logs(w http.ResponseWriter, r *http.Request, target string) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%s tailLines=%s previous=%s\n", target, q.Get("tailLines"), q.Get("previous"))
	if q.Get("follow") != "true" {
		return
	}
	rc := http.NewResponseController(w)
	rc.Flush()
	select {
	case <-a.Release:
	case <-r.Context().Done():
		close(a.FollowEnded)
		return
	}
	fmt.Fprintln(w, "second line")
	rc.Flush()
	<-r.Context().Done()
	close(a.FollowEnded)
}

func (a *CannedAgent) exec(w http.ResponseWriter, r *http.Request) {
	cmd := r.URL.Query()["command"]
	w.Header().Set("Content-Type", "application/json")
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	send := func(f client.ExecFrame) {
		enc.Encode(f)
		rc.Flush()
	}
	switch strings.Join(cmd, " ") {
	case "fail":
		send(client.ExecFrame{Error: "fail: executable file not found"})
		return
	case "break":
		send(client.ExecFrame{Stream: client.ExecStreamStdout, Data: []byte("partial\n")})
		panic(http.ErrAbortHandler)
	}
	send(client.ExecFrame{Stream: client.ExecStreamStdout, Data: []byte(strings.Join(cmd, " ") + "\n")})
	send(client.ExecFrame{Stream: client.ExecStreamStderr, Data: []byte("to stderr\n")})
	code := 3
	send(client.ExecFrame{ExitCode: &code})
}
