// Index implementation (in progress: every operation is Unimplemented until
// the real implementation lands).
#include "lib/index/index.h"

#include <utility>

namespace chtools::index {

Index::Index(std::string db) : db_(std::move(db)) {}

absl::StatusOr<std::unique_ptr<Index>> Index::Open(absl::string_view) {
  return absl::UnimplementedError("index: not implemented yet");
}
absl::Status Index::Reserve(const Vm&) {
  return absl::UnimplementedError("index: not implemented yet");
}
absl::StatusOr<Vm> Index::Get(absl::string_view) const {
  return absl::UnimplementedError("index: not implemented yet");
}
absl::StatusOr<Vm> Index::Update(absl::string_view,
                                 absl::FunctionRef<absl::Status(Vm&)>) {
  return absl::UnimplementedError("index: not implemented yet");
}
absl::Status Index::PutAll(const std::vector<Vm>&) {
  return absl::UnimplementedError("index: not implemented yet");
}
absl::Status Index::Delete(absl::string_view) {
  return absl::UnimplementedError("index: not implemented yet");
}
absl::StatusOr<std::string> Index::Resolve(absl::string_view) const {
  return absl::UnimplementedError("index: not implemented yet");
}
absl::StatusOr<std::vector<Vm>> Index::List() const {
  return absl::UnimplementedError("index: not implemented yet");
}
absl::StatusOr<std::vector<Finding>> Index::Check(bool, const CheckContext&) {
  return absl::UnimplementedError("index: not implemented yet");
}

}  // namespace chtools::index
