package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// startDaemon starts a long-running kennel command (KENNEL_HOME=home)
// and waits until it prints a line starting with ready. The caller stops
// it.
func startDaemon(bin, home, ready string, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KENNEL_HOME="+home)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	up := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), ready) {
				up <- true
			}
		}
		up <- false
	}()
	select {
	case ok := <-up:
		if ok {
			return cmd, nil
		}
		cmd.Wait()
		return nil, fmt.Errorf("bench: kennel %s exited before it was up", args[0])
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("bench: kennel %s not up after 60s", args[0])
	}
}
