#include "control/calls/call_book.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/support/fake_clock.h"

namespace turnpike::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class FakePresence final : public Presence {
 public:
  [[nodiscard]] bool online(const DeviceKey& d) const override { return online_.count(d) != 0; }
  [[nodiscard]] bool foreground(const DeviceKey& d) const override { return online(d); }
  [[nodiscard]] bool pushable(const Device&) const override { return false; }
  std::set<DeviceKey> online_;
};

const DeviceKey kAlicePhone{"alice", "a-phone"};
const DeviceKey kBobPhone{"bob", "b-phone"};
const DeviceKey kBobTablet{"bob", "b-tablet"};
const DeviceKey kCarolPhone{"carol", "c-phone"};

class CallBookTest : public ::testing::Test {
 protected:
  CallBookTest() { reset(); }

  void reset() {
    book_ = std::make_unique<CallBook>(config_, clock_, devices_, presence_, [this] {
      return ids_.empty() ? "zz-" + std::to_string(counter_++) : next();
    });
    for (const auto& key : {kAlicePhone, kBobPhone, kBobTablet, kCarolPhone}) {
      Device d;
      d.key = key;
      devices_.registerDevice(d, clock_.unixMillis());
      clock_.advance(milliseconds{1});
      presence_.online_.insert(key);
    }
  }
  std::string next() {
    auto id = ids_.front();
    ids_.erase(ids_.begin());
    return id;
  }

  CallOutcome call(const DeviceKey& from, const std::string& to, CallChanges& changes) {
    CreateRequest r;
    r.caller = from;
    r.callees = {to};
    return book_->create(r, changes);
  }
  std::string call(const DeviceKey& from, const std::string& to) {
    CallChanges changes;
    auto out = call(from, to, changes);
    EXPECT_EQ(out.status, 201) << out.message;
    return out.call->call_id;
  }
  static std::vector<std::string> names(const CallChanges& c) {
    std::vector<std::string> out;
    for (const auto& [id, e] : c.events) {
      out.push_back(e.name +
                    (e.data.contains("reason") ? ":" + e.data["reason"].get<std::string>() : ""));
    }
    return out;
  }
  const Call& at(const std::string& id) { return *book_->find(id); }

  conf::CallsConfig config_;
  testing::FakeClock clock_;
  DeviceRegistry devices_;
  FakePresence presence_;
  std::vector<std::string> ids_;
  int counter_ = 0;
  std::unique_ptr<CallBook> book_;
};

TEST_F(CallBookTest, ACallRingsTheCalleesOnlineDevicesAndTellsTheCaller) {
  CallChanges c;
  const auto out = call(kAlicePhone, "bob", c);
  ASSERT_EQ(out.status, 201);
  EXPECT_EQ(out.call->state, CallState::Ringing);
  EXPECT_EQ(names(c), (std::vector<std::string>{"call.incoming", "call.ringing"}));
  EXPECT_EQ(c.events[0].second.recipients.size(), 2U);
  EXPECT_EQ(c.events[0].second.seq, 1U);
  EXPECT_EQ(c.events[1].second.seq, 2U);
  EXPECT_EQ(c.events[1].second.recipients, std::vector<DeviceKey>{kAlicePhone});
}

TEST_F(CallBookTest, NoDeviceThatCanRingEndsTheCallUnreachable) {
  presence_.online_.erase(kBobPhone);
  presence_.online_.erase(kBobTablet);
  CallChanges c;
  const auto out = call(kAlicePhone, "bob", c);
  ASSERT_EQ(out.status, 201);
  EXPECT_EQ(out.call->state, CallState::Ended);
  EXPECT_EQ(out.call->end_reason, "unreachable");
  EXPECT_EQ(names(c), std::vector<std::string>{"call.ended:unreachable"});
  EXPECT_EQ(c.ended.size(), 1U);
}

TEST_F(CallBookTest, ACallThatRingsLaterIsReachedWhenTheDeviceSaysHello) {
  presence_.online_.erase(kBobPhone);
  presence_.online_.erase(kBobTablet);
  presence_.online_.insert(kBobTablet);
  CallChanges c;
  const auto out = call(kAlicePhone, "bob", c);
  const std::string id = out.call->call_id;
  ASSERT_EQ(out.call->rung, std::vector<DeviceKey>{kBobTablet});
  CallChanges signals;
  ASSERT_EQ(book_->signal(id, kAlicePhone, SignalKind::Offer, {{"sdp", "v=0"}}, signals).status,
            202);
  CallChanges hello;
  const auto replay = book_->deviceOnline(kBobTablet, hello);
  ASSERT_EQ(replay.size(), 2U);
  EXPECT_EQ(replay[0].second->name, "call.incoming");
  EXPECT_EQ(replay[1].second->name, "signal.offer");
  EXPECT_EQ(replay[1].second->seq, 3U);  // its original seq
}

TEST_F(CallBookTest, TheFirstAcceptWinsAndTheOtherDeviceHearsAnsweredElsewhere) {
  const auto id = call(kAlicePhone, "bob");
  CallChanges c;
  const auto first = book_->accept(id, kBobPhone, c);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(at(id).state, CallState::Connecting);
  EXPECT_EQ(names(c), (std::vector<std::string>{"call.accepted", "call.ended:answered_elsewhere"}));
  EXPECT_EQ(c.events[1].second.recipients, std::vector<DeviceKey>{kBobTablet});
  CallChanges again;
  EXPECT_EQ(book_->accept(id, kBobPhone, again).status, 200);
  EXPECT_TRUE(again.events.empty());
  CallChanges second;
  const auto other = book_->accept(id, kBobTablet, second);
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(other.error_code, "already_answered");
}

TEST_F(CallBookTest, AcceptAfterTheEndIsCallEnded) {
  const auto id = call(kAlicePhone, "bob");
  CallChanges c;
  ASSERT_EQ(book_->end(id, kAlicePhone, "", c).status, 200);
  EXPECT_EQ(at(id).end_reason, "caller_cancelled");
  EXPECT_EQ(names(c), std::vector<std::string>{"call.ended:caller_cancelled"});
  EXPECT_EQ(c.events[0].second.recipients.size(), 3U);  // caller and both callee devices
  CallChanges late;
  const auto out = book_->accept(id, kBobPhone, late);
  EXPECT_EQ(out.status, 409);
  EXPECT_EQ(out.error_code, "call_ended");
  CallChanges twice;
  EXPECT_EQ(book_->end(id, kAlicePhone, "", twice).status, 200);
  EXPECT_TRUE(twice.events.empty());
}

TEST_F(CallBookTest, DeclineAfterAcceptChangesNothing) {
  const auto id = call(kAlicePhone, "bob");
  CallChanges c;
  book_->accept(id, kBobPhone, c);
  CallChanges d;
  EXPECT_EQ(book_->decline(id, kBobTablet, false, d).status, 200);
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(at(id).state, CallState::Connecting);
}

TEST_F(CallBookTest, ADeclineEndsTheCallAndTheOtherDevicesHearRejectedElsewhere) {
  const auto id = call(kAlicePhone, "bob");
  CallChanges c;
  ASSERT_EQ(book_->decline(id, kBobPhone, false, c).status, 200);
  EXPECT_EQ(at(id).end_reason, "declined");
  EXPECT_EQ(names(c),
            (std::vector<std::string>{"call.ended:rejected_elsewhere", "call.ended:declined"}));
}

TEST_F(CallBookTest, ACalleeInACallIsBusy) {
  const auto first = call(kCarolPhone, "bob");
  CallChanges a;
  book_->accept(first, kBobPhone, a);
  CallChanges c;
  const auto out = call(kAlicePhone, "bob", c);
  ASSERT_EQ(out.status, 201);
  EXPECT_EQ(out.call->end_reason, "busy");
  EXPECT_EQ(names(c), (std::vector<std::string>{"call.busy:busy", "call.ended:busy"}));
}

TEST_F(CallBookTest, BusyPolicyRingRingsAnyway) {
  config_.busy_policy = conf::BusyPolicy::Ring;
  const auto first = call(kCarolPhone, "bob");
  CallChanges a;
  book_->accept(first, kBobPhone, a);
  CallChanges c;
  EXPECT_EQ(call(kAlicePhone, "bob", c).call->state, CallState::Ringing);
}

TEST_F(CallBookTest, GlareKeepsTheSmallerCallIdAcceptedForTheOtherCaller) {
  ids_ = {"b0000000-0000-4000-8000-000000000000", "p1", "p2",
          "a0000000-0000-4000-8000-000000000000", "p3", "p4"};
  const auto larger = call(kBobPhone, "alice");
  CallChanges c;
  const auto out = call(kAlicePhone, "bob", c);  // the smaller id survives
  ASSERT_EQ(out.status, 201);
  const auto smaller = out.call->call_id;
  EXPECT_EQ(at(smaller).state, CallState::Connecting);
  EXPECT_EQ(at(smaller).answeringDevice(), kBobPhone);
  EXPECT_EQ(at(larger).end_reason, "glare");
  bool glare_told = false;
  for (const auto& [id, e] : c.events) {
    if (id == larger && e.name == "call.ended") {
      glare_told = e.data["reason"] == "glare";
    }
  }
  EXPECT_TRUE(glare_told);
}

TEST_F(CallBookTest, GlareEndsTheNewCallWhenItsIdIsLarger) {
  ids_ = {"a0000000-0000-4000-8000-000000000000", "p1", "p2",
          "b0000000-0000-4000-8000-000000000000", "p3", "p4"};
  const auto smaller = call(kBobPhone, "alice");
  CallChanges c;
  const auto out = call(kAlicePhone, "bob", c);
  EXPECT_EQ(out.call->state, CallState::Ended);
  EXPECT_EQ(out.call->end_reason, "glare");
  EXPECT_EQ(at(smaller).state, CallState::Connecting);
  EXPECT_EQ(at(smaller).answeringDevice(), kAlicePhone);
}

TEST_F(CallBookTest, TheRingTimeoutFiresAtExactlyItsDeadline) {
  const auto id = call(kAlicePhone, "bob");
  clock_.advance(config_.ring_timeout - milliseconds{1});
  CallChanges early;
  book_->tick(early);
  EXPECT_TRUE(early.events.empty());
  clock_.advance(milliseconds{1});
  CallChanges c;
  book_->tick(c);
  EXPECT_EQ(names(c),
            (std::vector<std::string>{"call.timeout:ring_timeout", "call.ended:ring_timeout"}));
  EXPECT_EQ(at(id).end_reason, "ring_timeout");
}

TEST_F(CallBookTest, TheConnectTimeoutFiresAtExactlyItsDeadline) {
  const auto id = call(kAlicePhone, "bob");
  CallChanges a;
  book_->accept(id, kBobPhone, a);
  clock_.advance(config_.connect_timeout - milliseconds{1});
  CallChanges early;
  book_->tick(early);
  EXPECT_EQ(at(id).state, CallState::Connecting);
  clock_.advance(milliseconds{1});
  CallChanges c;
  book_->tick(c);
  EXPECT_EQ(at(id).end_reason, "connect_timeout");
}

TEST_F(CallBookTest, TheMaxDurationEndsAConnectedCall) {
  const auto id = call(kAlicePhone, "bob");
  CallChanges c;
  book_->accept(id, kBobPhone, c);
  ASSERT_EQ(book_->connected(id, kAlicePhone, c).status, 200);
  EXPECT_EQ(at(id).state, CallState::Connected);
  clock_.advance(config_.max_duration - milliseconds{1});
  CallChanges early;
  book_->tick(early);
  EXPECT_EQ(at(id).state, CallState::Connected);
  clock_.advance(milliseconds{1});
  CallChanges end;
  book_->tick(end);
  EXPECT_EQ(at(id).end_reason, "hangup");
}

TEST_F(CallBookTest, HangupAfterAnswer) {
  const auto id = call(kAlicePhone, "bob");
  CallChanges c;
  book_->accept(id, kBobPhone, c);
  CallChanges e;
  book_->end(id, kBobPhone, "", e);
  EXPECT_EQ(at(id).end_reason, "hangup");
  // Only the two devices in the call hear it; the tablet heard answered_elsewhere.
  EXPECT_EQ(e.events.back().second.recipients, (std::vector<DeviceKey>{kAlicePhone, kBobPhone}));
}

TEST_F(CallBookTest, ConnectedBeforeAnswerIsInvalidState) {
  const auto id = call(kAlicePhone, "bob");
  CallChanges c;
  const auto out = book_->connected(id, kAlicePhone, c);
  EXPECT_EQ(out.status, 409);
  EXPECT_EQ(out.error_code, "invalid_state");
}

TEST_F(CallBookTest, SignalsGoToRingingDevicesThenOnlyToTheAnswerer) {
  const auto id = call(kAlicePhone, "bob");
  CallChanges before;
  book_->signal(id, kAlicePhone, SignalKind::Offer, {{"sdp", "o"}}, before);
  EXPECT_EQ(before.events[0].second.recipients.size(), 2U);
  EXPECT_EQ(before.events[0].second.data["fromDeviceId"], "a-phone");
  CallChanges a;
  book_->accept(id, kBobTablet, a);
  CallChanges after;
  book_->signal(id, kAlicePhone, SignalKind::Ice, {{"candidate", "c"}}, after);
  EXPECT_EQ(after.events[0].second.recipients, std::vector<DeviceKey>{kBobTablet});
  CallChanges wrong;
  EXPECT_EQ(book_->signal(id, kBobPhone, SignalKind::Answer, {{"sdp", "a"}}, wrong).error_code,
            "already_answered");
  CallChanges back;
  book_->signal(id, kBobTablet, SignalKind::Answer, {{"sdp", "a"}}, back);
  EXPECT_EQ(back.events[0].second.recipients, std::vector<DeviceKey>{kAlicePhone});
}

TEST_F(CallBookTest, ACallsSignalingHasAByteBudget) {
  const auto id = call(kAlicePhone, "bob");
  const std::string sdp(std::size_t{30} * 1024, 'x');
  int accepted = 0;
  for (int i = 0; i < 20; ++i) {
    clock_.advance(seconds{1});  // under the per-second rate
    CallChanges c;
    const auto out = book_->signal(id, kAlicePhone, SignalKind::Offer, {{"sdp", sdp}}, c);
    if (out.status == 202) {
      ++accepted;
    } else {
      EXPECT_EQ(out.error_code, "signaling_limit");
    }
  }
  EXPECT_EQ(accepted, 8);  // 8 x 30 KiB fit in 256 KiB, the 9th does not
}

TEST_F(CallBookTest, AStrangerGets404ForReadsAndActions) {
  const auto id = call(kAlicePhone, "bob");
  CallChanges c;
  EXPECT_EQ(book_->get(id, "carol").status, 404);
  EXPECT_EQ(book_->accept(id, kCarolPhone, c).status, 404);
  EXPECT_EQ(book_->end(id, kCarolPhone, "", c).status, 404);
  EXPECT_EQ(book_->accept(id, DeviceKey{"bob", "unknown"}, c).status, 404);
}

TEST_F(CallBookTest, TheEleventhCreateInAMinuteIsRateLimited) {
  for (int i = 0; i < 10; ++i) {
    CallChanges c;
    const auto out = call(kAlicePhone, "bob", c);
    ASSERT_EQ(out.status, 201);
    CallChanges e;
    book_->end(out.call->call_id, kAlicePhone, "", e);
    clock_.advance(seconds{1});
  }
  CallChanges c;
  const auto out = call(kAlicePhone, "bob", c);
  EXPECT_EQ(out.status, 429);
  ASSERT_TRUE(out.retry_after.has_value());
  EXPECT_EQ(*out.retry_after, seconds{50});
  clock_.advance(seconds{50});
  CallChanges later;
  EXPECT_EQ(call(kAlicePhone, "bob", later).status, 201);
}

TEST_F(CallBookTest, SeveralCalleesOrSfuAreUnsupported) {
  CreateRequest r;
  r.caller = kAlicePhone;
  r.callees = {"bob", "carol"};
  CallChanges c;
  EXPECT_EQ(book_->create(r, c).error_code, "unsupported_mode");
  r.callees = {"bob"};
  r.mode = "sfu";
  EXPECT_EQ(book_->create(r, c).error_code, "unsupported_mode");
}

// A restart in every state: the stored form, restored into a new book,
// carries on where it stopped (timers included).
TEST_F(CallBookTest, ARestartInEveryStateCarriesOn) {
  presence_.online_.erase(kBobPhone);
  presence_.online_.erase(kBobTablet);
  presence_.online_.insert(kBobPhone);
  const auto ringing = call(kAlicePhone, "bob");
  const auto connecting = call(kCarolPhone, "alice");
  CallChanges c;
  book_->accept(connecting, kAlicePhone, c);
  std::vector<std::pair<Call, std::vector<CallEvent>>> saved;
  for (const auto& id : {ringing, connecting}) {
    auto stored = Call::fromStored(at(id).toStored());
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->toJson(), at(id).toJson());
    saved.emplace_back(std::move(*stored), *book_->eventsOf(id));
  }
  reset();
  for (auto& [call, events] : saved) {
    book_->restore(std::move(call), std::move(events));
  }
  EXPECT_EQ(at(ringing).state, CallState::Ringing);
  EXPECT_EQ(at(connecting).state, CallState::Connecting);
  CallChanges accept;
  EXPECT_EQ(book_->accept(ringing, kBobPhone, accept).status, 200);
  EXPECT_EQ(accept.events.front().second.seq, 3U);  // seq carries on
  clock_.advance(config_.connect_timeout);
  CallChanges t;
  book_->tick(t);
  EXPECT_EQ(at(connecting).end_reason, "connect_timeout");
}

}  // namespace
}  // namespace turnpike::control
