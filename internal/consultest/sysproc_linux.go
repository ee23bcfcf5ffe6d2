package consultest

import (
	"os/exec"
	"syscall"
)

// killWithParent makes the kernel kill the agent if the test process dies
// without stopping it (a panic or a test timeout), so no agent outlives it.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
