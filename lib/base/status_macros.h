// RETURN_IF_ERROR and ASSIGN_OR_RETURN: Debian's Abseil 20220623 has neither.
#ifndef CHTOOLS_LIB_BASE_STATUS_MACROS_H_
#define CHTOOLS_LIB_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns the status of `expr` from the enclosing function if it is not ok.
#define RETURN_IF_ERROR(expr)                                     \
  do {                                                            \
    ::absl::Status chtools_status_ = ::chtools::AsStatus((expr)); \
    if (!chtools_status_.ok()) return chtools_status_;            \
  } while (0)

#define CHTOOLS_CONCAT_INNER_(a, b) a##b
#define CHTOOLS_CONCAT_(a, b) CHTOOLS_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (a StatusOr<T>); returns its status if not ok, otherwise
// moves the value into `lhs` (which may be a declaration: `auto x`).
#define ASSIGN_OR_RETURN(lhs, rexpr)                                           \
  CHTOOLS_ASSIGN_OR_RETURN_IMPL_(CHTOOLS_CONCAT_(chtools_statusor_, __LINE__), \
                                 lhs, rexpr)

#define CHTOOLS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = *std::move(statusor)

namespace chtools {

inline const absl::Status& AsStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// Returns `status` with "context: " put in front of its message (same code).
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace chtools

#endif  // CHTOOLS_LIB_BASE_STATUS_MACROS_H_
