package process

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// procStat is what /proc/<pid>/stat says of a process that matters for
// telling it apart from a later process with a reused pid.
type procStat struct {
	// StartTicks is the process start time in clock ticks since boot
	// (field 22): with the pid, it identifies one process for ever.
	StartTicks uint64
	// State is the one-letter state (field 3); "Z" is a zombie, dead but
	// not yet reaped.
	State byte
}

// readProcStat reads /proc/<pid>/stat under procRoot.
func readProcStat(procRoot string, pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

// parseProcStat parses a stat line. The command name (field 2) is in
// parentheses and may itself hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return procStat{}, fmt.Errorf("process: malformed stat line")
	}
	fields := bytes.Fields(b[i+2:])
	// fields[0] is field 3 (state); field 22 is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procStat{}, fmt.Errorf("process: stat line has %d fields after the command", len(fields))
	}
	ticks, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("process: stat starttime: %w", err)
	}
	return procStat{StartTicks: ticks, State: fields[0][0]}, nil
}

// alive reports whether pid is still the process that started at
// startTicks and has not exited.
func alive(procRoot string, pid int, startTicks uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(procRoot, pid)
	return err == nil && st.StartTicks == startTicks && st.State != 'Z' && st.State != 'X'
}
