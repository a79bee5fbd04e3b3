package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// LogOptions select which log of a pod's container to read and how.
type LogOptions struct {
	// Container names the container; it may be empty when the pod has
	// exactly one.
	Container string
	// Follow keeps the stream open and delivers new lines as they are
	// written, until the container stops or the caller closes the stream.
	Follow bool
	// Previous reads the log of the container's previous, terminated run.
	Previous bool
	// TailLines starts that many lines from the end (nil: from the start).
	TailLines *int64
}

func (o LogOptions) query() url.Values {
	q := url.Values{}
	if o.Container != "" {
		q.Set("container", o.Container)
	}
	if o.Follow {
		q.Set("follow", "true")
	}
	if o.Previous {
		q.Set("previous", "true")
	}
	if o.TailLines != nil {
		q.Set("tailLines", strconv.FormatInt(*o.TailLines, 10))
	}
	return q
}

// ExecOptions say what to run in a pod's container.
type ExecOptions struct {
	// Container names the container; it may be empty when the pod has
	// exactly one.
	Container string
	// Command is the program and its arguments; it is not run by a shell.
	Command []string
}

// The streams an ExecFrame carries.
const (
	ExecStreamStdout = "stdout"
	ExecStreamStderr = "stderr"
)

// ExecFrame is one newline-delimited JSON frame of an exec stream, as the
// node agent writes it and the API server passes it on. A frame carries
// either output (Stream and Data, base64 on the wire) or the end of the
// command: exactly one last frame has ExitCode or Error set.
type ExecFrame struct {
	Stream   string `json:"stream,omitempty"`
	Data     []byte `json:"data,omitempty"`
	ExitCode *int   `json:"exitCode,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Final reports whether f is the last frame of its stream.
func (f *ExecFrame) Final() bool { return f.ExitCode != nil || f.Error != "" }

// PodLogs streams the log of a container of a pod. The caller reads until
// io.EOF and must Close the stream; closing it, or ending ctx, ends a
// follow. An error from the server is a *v1.Error (NotFound for an
// unknown pod, BadRequest when the container must be named).
func (c *Client) PodLogs(ctx context.Context, namespace, name string, opts LogOptions) (io.ReadCloser, error) {
	path := podSubresourcePath(namespace, name, "log")
	if q := opts.query(); len(q) > 0 {
		path += "?" + q.Encode()
	}
	ctx, cancel := context.WithCancel(ctx)
	resp, err := c.openStream(ctx, http.MethodGet, path)
	if err != nil {
		cancel()
		return nil, err
	}
	return &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}, nil
}

// PodExec runs opts.Command in a container of a pod, copies its output to
// stdout and stderr (nil discards) as it arrives, and returns its exit
// code. err is set, and exitCode is -1, when the command could not be run
// or the stream broke; an error from the server is a *v1.Error. Ending
// ctx abandons the command; the error then wraps ctx.Err().
func (c *Client) PodExec(ctx context.Context, namespace, name string, opts ExecOptions, stdout, stderr io.Writer) (exitCode int, err error) {
	if len(opts.Command) == 0 {
		return -1, errors.New("client: exec: ExecOptions.Command: required")
	}
	q := url.Values{"command": opts.Command}
	if opts.Container != "" {
		q.Set("container", opts.Container)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.openStream(ctx, http.MethodPost, podSubresourcePath(namespace, name, "exec")+"?"+q.Encode())
	if err != nil {
		return -1, err
	}
	defer resp.Body.Close()
	code, err := copyExecFrames(resp.Body, stdout, stderr)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return -1, fmt.Errorf("client: exec in pod %s/%s: %w", namespace, name, err)
	}
	return code, nil
}

// copyExecFrames writes the output frames of an exec stream to stdout and
// stderr until the final frame.
func copyExecFrames(body io.Reader, stdout, stderr io.Writer) (int, error) {
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	dec := json.NewDecoder(body)
	for {
		var f ExecFrame
		if err := dec.Decode(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return -1, errors.New("the stream ended without an exit code")
			}
			return -1, fmt.Errorf("read stream: %w", err)
		}
		switch {
		case f.Error != "":
			return -1, errors.New(f.Error)
		case f.ExitCode != nil:
			return *f.ExitCode, nil
		}
		w := stdout
		if f.Stream == ExecStreamStderr {
			w = stderr
		}
		if _, err := w.Write(f.Data); err != nil {
			return -1, fmt.Errorf("write %s: %w", f.Stream, err)
		}
	}
}

// openStream sends a request whose answer may last as long as ctx, on the
// connections meant for long streams, and turns a failure into a
// *v1.Error.
func (c *Client) openStream(ctx context.Context, method, path string) (*http.Response, error) {
	resp, err := c.send(ctx, c.watchHC, method, path, nil, "")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, decodeError(resp.StatusCode, b)
	}
	return resp, nil
}

func podSubresourcePath(namespace, name, sub string) string {
	return "/api/v1/namespaces/" + url.PathEscape(namespace) + "/pods/" + url.PathEscape(name) + "/" + sub
}

// cancelOnClose ends the request's context when the stream is closed, so
// that the server and the agent behind it stop following too.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	c.cancel()
	return c.ReadCloser.Close()
}
