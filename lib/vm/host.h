// The host facts the CH command depends on (online CPUs, hugepages).
#ifndef CHTOOLS_LIB_VM_HOST_H_
#define CHTOOLS_LIB_VM_HOST_H_

#include "lib/launch/ch_command.h"

namespace chtools::vm {

// Online CPUs (sysconf) and whether /proc/sys/vm/nr_hugepages > 0 (an
// unreadable file counts as no hugepages).
chtools::launch::HostFacts ReadHostFacts();

}  // namespace chtools::vm

#endif  // CHTOOLS_LIB_VM_HOST_H_
