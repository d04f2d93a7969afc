// CH's SIGWINCH-listener child: with a PTY console CH forks a helper that
// runs the same executable image (so /proc/<pid>/cmdline is identical) and
// dies with its parent. Tools must find the VMM by vmm.ping's pid.
#ifndef CHTOOLS_INTEGRATION_SIM_SIGWINCH_H_
#define CHTOOLS_INTEGRATION_SIM_SIGWINCH_H_

namespace chtools::sim {

// Forks the helper once per process (later calls do nothing). The child
// closes every fd above 2 and waits for the parent to die.
void StartSigwinchHelper();

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_SIGWINCH_H_
