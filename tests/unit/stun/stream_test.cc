// ChannelData (RFC 8656 §12.4) and the stream framer (§12.5) on split and
// coalesced reads.

#include <gtest/gtest.h>

#include "relay/stun/channel_data.h"
#include "relay/stun/stream_framer.h"
#include "tests/support/hex.h"
#include "tests/unit/stun/rfc5769_vectors.h"

namespace turnpike::stun {
namespace {

using testing::hex;

TEST(ChannelData, ParsesAndAllowsTrailingPadding) {
  const auto msg = hex("40 01 00 03 aa bb cc 00");
  const auto r = parseChannelData(msg);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->channel, 0x4001);
  EXPECT_EQ(r->data.size(), 3U);
}

TEST(ChannelData, RejectsShortAndInvalidChannels) {
  EXPECT_EQ(parseChannelData(hex("40 01 00")).error(), ChannelDataError::TooShort);
  EXPECT_EQ(parseChannelData(hex("40 01 00 05 aa bb")).error(), ChannelDataError::TooShort);
  EXPECT_EQ(parseChannelData(hex("80 00 00 00")).error(), ChannelDataError::InvalidChannel);
  EXPECT_EQ(parseChannelData(hex("3f ff 00 00")).error(), ChannelDataError::InvalidChannel);
  EXPECT_TRUE(parseChannelData(hex("4f ff 00 00")).ok());
  EXPECT_TRUE(parseChannelData(hex("7f ff 00 00")).ok());  // RFC 5766 range still frames
}

TEST(ChannelData, HeaderWrittenInPlace) {
  std::vector<std::uint8_t> buf = {0, 0, 0, 0, 1, 2, 3};
  writeChannelDataHeader(buf.data(), 0x4abc, 3);
  EXPECT_EQ(buf, hex("4a bc 00 03 01 02 03"));
}

std::vector<std::uint8_t> interleavedStream() {
  // STUN request, padded ChannelData (5 bytes + 3 padding), empty ChannelData, STUN again.
  auto stream = hex(testing::vectors::kRequest);
  const auto cd = hex("40 00 00 05 01 02 03 04 05 00 00 00 40 01 00 00");
  stream.insert(stream.end(), cd.begin(), cd.end());
  const auto again = hex(testing::vectors::kLongTermRequest);
  stream.insert(stream.end(), again.begin(), again.end());
  return stream;
}

std::vector<std::pair<FrameKind, std::size_t>> frameAll(const std::vector<std::uint8_t>& stream,
                                                        std::size_t chunk) {
  StreamFramer framer;
  std::vector<std::pair<FrameKind, std::size_t>> frames;
  for (std::size_t i = 0; i < stream.size(); i += chunk) {
    const auto n = std::min(chunk, stream.size() - i);
    EXPECT_TRUE(framer.append(std::span(stream).subspan(i, n)));
    while (true) {
      auto f = framer.next();
      EXPECT_TRUE(f.ok());
      if (!f.ok() || !f.value()) break;
      frames.emplace_back((*f)->kind, (*f)->bytes.size());
    }
  }
  EXPECT_EQ(framer.buffered(), 0U);
  return frames;
}

TEST(StreamFramer, SameFramesWhateverTheReadSizes) {
  const auto stream = interleavedStream();
  const std::vector<std::pair<FrameKind, std::size_t>> expected = {{FrameKind::Stun, 108},
                                                                   {FrameKind::ChannelData, 9},
                                                                   {FrameKind::ChannelData, 4},
                                                                   {FrameKind::Stun, 116}};
  for (std::size_t chunk :
       {std::size_t{1}, std::size_t{3}, std::size_t{7}, std::size_t{64}, stream.size()}) {
    EXPECT_EQ(frameAll(stream, chunk), expected) << "chunk " << chunk;
  }
}

TEST(StreamFramer, GarbageBreaksTheStream) {
  StreamFramer framer;
  ASSERT_TRUE(framer.append(hex("c0 01 00 00")));
  const auto f = framer.next();
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), FrameError::NotStunOrChannelData);
  EXPECT_FALSE(framer.append(hex("00")));  // stays broken
}

TEST(StreamFramer, RejectsOddStunLengths) {
  StreamFramer b;
  b.append(hex("00 01 00 03"));
  EXPECT_EQ(b.next().error(), FrameError::BadStunLength);
}

TEST(StreamFramer, BoundsWhatItBuffers) {
  StreamFramer framer;
  std::vector<std::uint8_t> big(kMaxFrameSize - 1, 0);
  big[2] = 0xff;
  big[3] = 0xfc;  // a 65552-byte STUN message, one byte short of complete
  EXPECT_TRUE(framer.append(big));
  const auto pending = framer.next();
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending.value().has_value());
  // One incomplete frame plus one more read's worth is all a valid stream needs.
  const std::vector<std::uint8_t> one_more_read(kMaxFrameSize + 2, 0);
  EXPECT_FALSE(framer.append(one_more_read));
  EXPECT_EQ(framer.next().error(), FrameError::BufferFull);
}

}  // namespace
}  // namespace turnpike::stun
