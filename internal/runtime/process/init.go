package process

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// initEnv carries the init's instructions from the agent to the re-executed
// binary. It never reaches the container: the init replaces the whole
// environment with the container's.
const initEnv = "KENNEL_PROCESS_INIT"

// initConfig is what the init sets up before it becomes the container's
// process.
type initConfig struct {
	// Hostname is set when the init runs in a new UTS namespace.
	Hostname string `json:"hostname,omitempty"`
	// Binds are files bind-mounted over others (the pod's /etc/hosts and
	// /etc/resolv.conf) in the new mount namespace.
	Binds []bind `json:"binds,omitempty"`
	// Wait makes the init block until the agent has moved it into the
	// pod's cgroup and closes the go-ahead pipe (fd 3).
	Wait bool `json:"wait,omitempty"`
	// Argv, Env and Dir are what to execute.
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
	Dir  string   `json:"dir,omitempty"`
	// Check only reports whether the namespaces could be set up.
	Check bool `json:"check,omitempty"`
}

type bind struct {
	Source string `json:"source"`
	Target string `json:"target"`
}

// MaybeRunInit runs the container init when this process was started as
// one, and otherwise returns false at once. Binaries that host the process
// runtime call it first thing in main (and test binaries in TestMain):
//
//	if process.MaybeRunInit() { return }
//
// As an init it never returns: it sets up the namespaces it was started in,
// waits to be moved into the pod's cgroup, and executes the container's
// command in its own place, keeping its pid; on failure it prints why to
// the container's log and exits 127.
func MaybeRunInit() bool {
	raw, ok := os.LookupEnv(initEnv)
	if !ok {
		return false
	}
	if err := runInit(raw); err != nil {
		fmt.Fprintf(os.Stderr, "kennel: cannot start container: %v\n", err)
		os.Exit(127)
	}
	os.Exit(0) // only a check gets here
	return true
}

func runInit(raw string) error {
	var cfg initConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return fmt.Errorf("init config: %w", err)
	}
	if cfg.Hostname != "" {
		if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if len(cfg.Binds) > 0 {
		// Mounts made here must not propagate back to the host.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make mounts private: %w", err)
		}
		for _, b := range cfg.Binds {
			if err := unix.Mount(b.Source, b.Target, "", unix.MS_BIND, ""); err != nil {
				return fmt.Errorf("bind %s over %s: %w", b.Source, b.Target, err)
			}
		}
	}
	if cfg.Check {
		return nil
	}
	if cfg.Wait {
		goAhead := os.NewFile(3, "go-ahead")
		var b [1]byte
		if _, err := goAhead.Read(b[:]); err != nil || b[0] != 1 {
			return fmt.Errorf("the agent did not confirm the cgroup (read %v, %v)", b[0], err)
		}
		goAhead.Close()
	}
	if cfg.Dir != "" {
		if err := os.Chdir(cfg.Dir); err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
	}
	path, err := lookPath(cfg.Argv[0], cfg.Env, "")
	if err != nil {
		return err
	}
	return syscall.Exec(path, cfg.Argv, cfg.Env)
}

// lookPath resolves a command name against the PATH of env (the
// container's, not the agent's), as a shell in the container would; a
// relative path is taken from dir.
func lookPath(name string, env []string, dir string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("command is empty")
	}
	if filepath.Base(name) != name {
		p := name
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("command %q: %w", name, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("command %q is not an executable file", name)
		}
		return name, nil
	}
	path := defaultPath
	for _, kv := range env {
		if len(kv) > 5 && kv[:5] == "PATH=" {
			path = kv[5:]
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q: %w in PATH %q", name, exec.ErrNotFound, path)
}

// defaultPath is the PATH a container gets when its env sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
