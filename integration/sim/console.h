// The guest's console and serial outputs, created the way CH's
// pre_create_console_devices makes them: a PTY (path written back to the
// config), a listening serial socket (newest client wins, output dropped
// with no client), a truncated file, CH's own stdout, or nothing.
#ifndef CHTOOLS_INTEGRATION_SIM_CONSOLE_H_
#define CHTOOLS_INTEGRATION_SIM_CONSOLE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "integration/sim/loop.h"
#include "integration/sim/schema.h"
#include "lib/base/unique_fd.h"

namespace chtools::sim {

class ConsoleDevice {
 public:
  using InputFn = std::function<void(absl::string_view)>;

  // Creates the output for `cfg` ({"mode","file","socket"}). Errors carry a
  // CH-style chain (elements separated by '\n'). For mode Pty, path() is the
  // new /dev/pts/N. `is_serial` selects the serial rules (Socket allowed).
  static absl::StatusOr<std::unique_ptr<ConsoleDevice>> Create(Loop* loop,
                                                               const Json& cfg,
                                                               bool is_serial);
  ~ConsoleDevice();

  const std::string& mode() const { return mode_; }
  const std::string& path() const { return path_; }
  // Guest output; silently dropped where CH drops it.
  void Write(absl::string_view bytes);
  // Where guest input (bytes typed by a client) goes.
  void SetInput(InputFn fn) { input_ = std::move(fn); }
  // Unlinks the serial socket file (CH does this when the Vm is torn down).
  void UnlinkSocket();

 private:
  explicit ConsoleDevice(Loop* loop) : loop_(loop) {}
  void OnInput(int fd, bool socket_client);
  void OnAccept();
  void DropClient();

  Loop* loop_;
  std::string mode_;
  std::string path_;
  UniqueFd out_;       // pty master, file, stdout dup, or socket client
  UniqueFd pty_peer_;  // kept open so the PTY never hangs up
  UniqueFd listener_;
  int input_fd_ = -1;  // watched fd delivering client bytes
  InputFn input_;
};

}  // namespace chtools::sim

#endif  // CHTOOLS_INTEGRATION_SIM_CONSOLE_H_
