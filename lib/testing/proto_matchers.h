// EqualsProto(expected): a GoogleTest matcher comparing protobuf messages
// with MessageDifferencer and explaining the differences field by field.
#ifndef CHTOOLS_LIB_TESTING_PROTO_MATCHERS_H_
#define CHTOOLS_LIB_TESTING_PROTO_MATCHERS_H_

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"

namespace chtools::testing {

// `msg` in text format, for matcher descriptions.
inline std::string ProtoText(const google::protobuf::Message& msg) {
  std::string out;
  google::protobuf::TextFormat::PrintToString(msg, &out);
  return out;
}

// Matches a message of the same type whose fields equal `expected`'s
// (repeated fields in order).
MATCHER_P(EqualsProto, expected,
          "equals proto:\n" + ::chtools::testing::ProtoText(expected)) {
  const google::protobuf::Message& want = expected;
  const google::protobuf::Message& got = arg;
  if (got.GetDescriptor() != want.GetDescriptor()) {
    *result_listener << "is a " << got.GetTypeName() << ", not a "
                     << want.GetTypeName();
    return false;
  }
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (differencer.Compare(want, got)) return true;
  *result_listener << "differences (expected -> actual):\n" << diff;
  return false;
}

}  // namespace chtools::testing

#endif  // CHTOOLS_LIB_TESTING_PROTO_MATCHERS_H_
