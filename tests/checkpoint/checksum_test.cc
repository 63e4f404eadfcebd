// CRC-32C against published check values, and chunked == whole.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checkpoint_testing.h"
#include "checkpoint/checkpoint_internal.h"

namespace weft {
namespace {

using checkpoint::crc32c;
using checkpoint::crc32c_update;

TEST(Crc32c, MatchesPublishedCheckValues) {
  EXPECT_EQ(crc32c("", 0), 0u);
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);  // the CRC catalogue's check value
  // RFC 3720 (iSCSI), appendix B.4.
  std::vector<unsigned char> zeros(32, 0), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) up[i] = static_cast<unsigned char>(i), down[i] = 31 - i;
  EXPECT_EQ(crc32c(zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(crc32c(up.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(crc32c(down.data(), 32), 0x113FDB5Cu);
}

TEST(Crc32c, ChunkedEqualsWholeAtEveryAlignment) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  for (size_t len : {0, 1, 7, 8, 9, 63, 1000}) {
    const uint32_t whole = crc32c(data.data(), len);
    for (size_t cut = 0; cut <= len; cut += 1 + len / 13) {
      EXPECT_EQ(crc32c_update(crc32c(data.data(), cut), data.data() + cut, len - cut), whole)
          << "len " << len << " cut " << cut;
    }
  }
}

TEST(Crc32c, DigestOfAFileIsItsSizeAndCrc) {
  testing::ScratchDir dir;
  testing::write_text(dir / "f", "123456789");
  const checkpoint::FileDigest d = checkpoint::digest_file(dir / "f");
  EXPECT_EQ(d.bytes, 9u);
  EXPECT_EQ(checkpoint::crc_hex(d.crc), "e3069283");
  EXPECT_EQ(testing::error_of([&] { checkpoint::digest_file(dir / "absent"); }),
            dir / "absent" + ": cannot open for reading: No such file or directory");
}

}  // namespace
}  // namespace weft
