// The load generator's own logic: stream accounting, percentile maths, the
// media packet check, and SRTP round trips.

#include <gtest/gtest.h>

#include <random>

#include "benchmarks/loadgen/latency_histogram.h"
#include "benchmarks/loadgen/media_packet.h"
#include "benchmarks/loadgen/srtp_stream.h"
#include "benchmarks/loadgen/stream_receiver.h"

namespace turnpike::loadgen {
namespace {

TEST(StreamReceiver, CountsLossDuplicatesAndReordering) {
  StreamReceiver r;
  for (const int seq : {10, 11, 13, 12, 12, 15, 16, 16})
    r.onPacket(static_cast<std::uint16_t>(seq));
  const auto c = r.counts();
  EXPECT_EQ(c.expected, 7U);  // 10..16
  EXPECT_EQ(c.received, 6U);  // 14 missing
  EXPECT_EQ(c.lost(), 1U);
  EXPECT_EQ(c.duplicates, 2U);  // 12 and 16 again
  EXPECT_EQ(c.reordered, 1U);   // 12 after 13
  EXPECT_EQ(c.corrupted, 0U);
}

TEST(StreamReceiver, SurvivesSequenceWrapAcrossManyCycles) {
  StreamReceiver r;
  std::uint16_t seq = 65000;
  std::uint64_t sent = 0;
  for (int i = 0; i < 300'000; ++i, ++seq) {
    if (i % 1000 == 7) continue;  // lose one in a thousand
    r.onPacket(seq);
    ++sent;
  }
  const auto c = r.counts();
  EXPECT_EQ(c.expected, 300'000U);
  EXPECT_EQ(c.received, sent);
  EXPECT_EQ(c.lost(), 300U);
  EXPECT_EQ(c.duplicates, 0U);
}

TEST(StreamReceiver, ExtendsAcrossTheWrapBothWays) {
  EXPECT_EQ(StreamReceiver::extend(2, 65535), 65538U);
  EXPECT_EQ(StreamReceiver::extend(65535, 65538), 65535U);
  EXPECT_EQ(StreamReceiver::extend(100, 100), 100U);
}

TEST(LatencyHistogram, PercentilesWithinTheBucketError) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 1'000'000; ++v) h.record(v * 1000);  // 1 us .. 1 s
  EXPECT_EQ(h.count(), 1'000'000U);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double expected = q * 1e9;
    EXPECT_NEAR(static_cast<double>(h.percentile(q)), expected, expected * 0.016) << q;
  }
  EXPECT_EQ(h.max(), 1'000'000'000U);
}

TEST(LatencyHistogram, ExactForSmallValuesAndBucketsRoundTrip) {
  LatencyHistogram h;
  h.record(5);
  h.record(7);
  EXPECT_EQ(h.percentile(0.5), 5U);
  EXPECT_EQ(h.percentile(1.0), 7U);
  for (std::uint64_t v : {128ULL, 1000ULL, 123456789ULL, 1ULL << 40}) {
    const auto b = LatencyHistogram::bucketOf(v);
    const auto mid = LatencyHistogram::valueOf(b);
    EXPECT_NEAR(static_cast<double>(mid), static_cast<double>(v), static_cast<double>(v) * 0.016);
  }
  EXPECT_EQ(LatencyHistogram{}.percentile(0.5), 0U);
}

TEST(MediaPacket, RoundTripAndCorruptionDetected) {
  std::array<std::uint8_t, 256> buf{};
  ASSERT_TRUE(writeMedia(buf, 172, {0xabcdef01, 4242, 123456789012345ULL}));
  auto m = readMedia(std::span(buf).first(172));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->ssrc, 0xabcdef01U);
  EXPECT_EQ(m->seq, 4242);
  EXPECT_EQ(m->sent_ns, 123456789012345ULL);
  buf[100] ^= 1;
  EXPECT_FALSE(readMedia(std::span(buf).first(172)).has_value());
  EXPECT_FALSE(writeMedia(buf, 10, {}));
}

TEST(SrtpStream, ProtectUnprotectAndTamperAndReplay) {
  SrtpStream::MasterKey key{};
  key.fill(3);
  SrtpStream out(SrtpStream::Direction::Outbound, key);
  SrtpStream in(SrtpStream::Direction::Inbound, key);
  std::array<std::uint8_t, 512> buf{};
  writeMedia(buf, 172, {1, 1, 99});
  const std::size_t protected_len = out.protect(buf, 172);
  ASSERT_EQ(protected_len, 172U + 10U);  // the 80-bit auth tag
  std::array<std::uint8_t, 512> copy = buf;
  std::size_t len = protected_len;
  ASSERT_EQ(in.unprotect(buf, len), SrtpStream::Verdict::Ok);
  EXPECT_EQ(len, 172U);
  EXPECT_TRUE(readMedia(std::span(buf).first(len)).has_value());
  // The same packet again is a replay; a flipped bit is corruption.
  std::array<std::uint8_t, 512> again = copy;
  len = protected_len;
  EXPECT_EQ(in.unprotect(again, len), SrtpStream::Verdict::Replayed);
  writeMedia(buf, 172, {1, 2, 99});
  const std::size_t l2 = out.protect(buf, 172);
  buf[50] ^= 0x80;
  len = l2;
  EXPECT_EQ(in.unprotect(buf, len), SrtpStream::Verdict::Corrupted);
}

}  // namespace
}  // namespace turnpike::loadgen
