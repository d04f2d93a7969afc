// ReadRecordsConfined gives what ReadStream gives in process: the same
// records, the same errors.
#include "lib/cli/confined_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "lib/cli/stream.h"
#include "lib/testing/status_matchers.h"

namespace chtools::cli {
namespace {

using ::chtools::testing::StatusIs;
using ::testing::HasSubstr;

// An fd to read `text` from (a pipe: the child reads it to EOF).
int PipeWith(const std::string& text) {
  int p[2];
  EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
  // Small texts only: the pipe buffer holds them.
  EXPECT_EQ(::write(p[1], text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  ::close(p[1]);
  return p[0];
}

absl::StatusOr<Records> Confined(const std::string& text) {
  int fd = PipeWith(text);
  absl::StatusOr<Records> r = ReadRecordsConfined(fd, "<stdin>");
  ::close(fd);
  return r;
}

TEST(ConfinedStreamTest, SameRecordsAsInProcess) {
  const std::string text = R"(
    vm { id: "0123456789abcdef" config { name: "web" cpu: 2 }
         storage { path: "/a/b" ro: true } }
    vm { config { name: "db" } }
    snapshot { id: "fedcba9876543210" name: "s" }
  )";
  absl::StatusOr<Records> confined = Confined(text);
  absl::StatusOr<Records> local = ReadStream(FromText(text));
  ASSERT_TRUE(confined.ok()) << confined.status();
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(*confined, *local));
  EXPECT_EQ(confined->vm_size(), 2);
}

TEST(ConfinedStreamTest, EmptyStream) {
  absl::StatusOr<Records> r = Confined("");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->ByteSizeLong(), 0u);
}

TEST(ConfinedStreamTest, SameParseErrorsAsInProcess) {
  for (const std::string text :
       {"vm { config { name: \"a\" }\n", "vm { nonsense: 1 }\n",
        "vm {\n  config { cpu: \"two\" }\n}\n",
        "vm { config { name: \"a\" name: \"b\" } }\n"}) {
    absl::StatusOr<Records> confined = Confined(text);
    absl::StatusOr<Records> local = ReadStream(FromText(text));
    ASSERT_FALSE(local.ok()) << text;
    EXPECT_EQ(confined.status(), local.status()) << text;
    EXPECT_THAT(confined.status().message(), HasSubstr("<stdin>:")) << text;
  }
}

TEST(ConfinedStreamTest, TextFieldsMustBeUtf8) {
  EXPECT_THAT(Confined("vm { config { name: \"ok\" } }\n"
                       "vm { storage { path: \"/\\377\" } }\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "<stdin>: vm[1].storage[0].path: is not valid UTF-8 "
                       "(byte 1): text fields must be UTF-8"));
}

TEST(ConfinedStreamTest, ReadStreamUsesTheConfinedParser) {
  int fd = PipeWith("vm { config { name: \"x\" } }\n");
  Stdin in = ConfinedFromFd(fd, /*is_tty=*/false);
  absl::StatusOr<Records> r = ReadStream(in);
  ::close(fd);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->vm(0).config().name(), "x");
}

}  // namespace
}  // namespace chtools::cli
