#include "lib/vm/host.h"

#include <unistd.h>

#include <fstream>

namespace chtools::vm {

chtools::launch::HostFacts ReadHostFacts() {
  chtools::launch::HostFacts h;
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  h.cpus = n > 0 ? static_cast<int>(n) : 1;
  long pages = 0;
  std::ifstream f("/proc/sys/vm/nr_hugepages");
  h.hugepages = (f >> pages) && pages > 0;
  return h;
}

}  // namespace chtools::vm
