// The host facts the CH command depends on (online CPUs, hugepages).
#ifndef CHTOOLS_TOOLS_CH_LAUNCH_HOST_H_
#define CHTOOLS_TOOLS_CH_LAUNCH_HOST_H_

#include "lib/launch/ch_command.h"

namespace ch_launch {

// Online CPUs (sysconf) and whether /proc/sys/vm/nr_hugepages > 0 (an
// unreadable file counts as no hugepages).
chtools::launch::HostFacts ReadHostFacts();

}  // namespace ch_launch

#endif  // CHTOOLS_TOOLS_CH_LAUNCH_HOST_H_
