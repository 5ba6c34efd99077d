package browsertest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
)

// HogsEnv is the environment variable that asks for CPU hogs beside every
// browser test: QRTN_TEST_HOGS=2 runs two busy-looping processes for the
// duration of each test that holds the machine's browser turn (Exclusive,
// StartT). Tests must pass so: a user's laptop and a CI machine right after
// a working session are busy too.
const HogsEnv = "QRTN_TEST_HOGS"

// maxHogs bounds QRTN_TEST_HOGS, so that a typo cannot fork-bomb a machine.
const maxHogs = 64

// HogsFromEnv is the number of hogs QRTN_TEST_HOGS asks for: 0 when unset,
// an error when it is not a number from 0 to 64.
func HogsFromEnv() (int, error) {
	v := os.Getenv(HogsEnv)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxHogs {
		return 0, fmt.Errorf("%s=%q: want a number of CPU hogs from 0 to %d", HogsEnv, v, maxHogs)
	}
	return n, nil
}

// hogScript busy-loops in the shell, checking every ~100k iterations that
// its parent (the test binary) still lives, so a test binary killed by
// -timeout or a signal leaves no hog behind.
const hogScript = `p=$PPID; while kill -0 "$p" 2>/dev/null; do i=0; while [ "$i" -lt 100000 ]; do i=$((i+1)); done; done`

// StartHogs starts n processes that each keep one CPU busy at normal
// priority, like the other work of a loaded machine. stop kills and reaps
// them; it is safe to call more than once. With n == 0 it does nothing.
func StartHogs(n int) (stop func(), err error) {
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		cmds = nil
	}
	for range n {
		c := exec.Command("/bin/sh", "-c", hogScript)
		if err := c.Start(); err != nil {
			stop()
			return func() {}, fmt.Errorf("starting a CPU hog (%s): %w", HogsEnv, err)
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}
