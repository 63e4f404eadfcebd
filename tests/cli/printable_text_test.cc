// Binary bytes a user's file put into a message reach the terminal escaped,
// while text (UTF-8 included) stays as it is.

#include "cli/printable_text.h"

#include <gtest/gtest.h>

#include "cli_testing.h"

namespace weft::cli {
namespace {

TEST(PrintableText, KeepsTextAndEscapesBinary) {
  EXPECT_EQ(printable_text("plain text\nline two\tcolumn"), "plain text\nline two\tcolumn");
  EXPECT_EQ(printable_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(printable_text("a\x01" "b\x7f\x1b[2J"), "a\\x01b\\x7f\\x1b[2J");
  EXPECT_EQ(printable_text(std::string("\0", 1)), "\\x00");
  // Not UTF-8: a lone continuation byte, a truncated sequence, an overlong '/', a surrogate.
  EXPECT_EQ(printable_text("\x80"), "\\x80");
  EXPECT_EQ(printable_text("x\xc3"), "x\\xc3");
  EXPECT_EQ(printable_text("\xc0\xaf"), "\\xc0\\xaf");
  EXPECT_EQ(printable_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");
}

}  // namespace
}  // namespace weft::cli

namespace weft::testing {
namespace {

TEST_F(CliTest, BinaryBytesOfAConfigFileAreEscapedInItsError) {
  write_file(dir_ / "binary.ini", std::string("[train]\n\x01\xff\xfe garbage\n"));
  const CommandResult r = weft("train --config binary.ini");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("binary.ini"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\\x01\\xff\\xfe"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\x01'), std::string::npos) << "raw control byte in: " << r.output;
}

}  // namespace
}  // namespace weft::testing
