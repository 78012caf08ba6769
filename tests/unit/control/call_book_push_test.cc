// The push orders of the call state machine: which rung devices get an
// invite push, which get a cancel and why, and how provider answers move
// the call (control-plane.md "Push", "Who gets what", "Eligibility").

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "control/calls/call_book.h"
#include "tests/support/fake_clock.h"

namespace turnpike::control {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Kind = PushOrder::Kind;

/// Which devices have a live socket, in the foreground or not, and which
/// have a token a configured provider can ring.
class FakePresence final : public Presence {
 public:
  [[nodiscard]] bool online(const DeviceKey& d) const override {
    return online_.count(d) != 0 || foreground(d);
  }
  [[nodiscard]] bool foreground(const DeviceKey& d) const override {
    return foreground_.count(d) != 0;
  }
  [[nodiscard]] bool pushable(const Device& d) const override {
    return pushable_.count(d.key) != 0;
  }

  void foregroundOnline(const DeviceKey& d) { foreground_.insert(d); }
  void backgroundOnline(const DeviceKey& d) { online_.insert(d); }
  void offline(const DeviceKey& d) {
    online_.erase(d);
    foreground_.erase(d);
  }
  void withToken(const DeviceKey& d) { pushable_.insert(d); }

 private:
  std::set<DeviceKey> online_;  // background sockets
  std::set<DeviceKey> foreground_;
  std::set<DeviceKey> pushable_;
};

const DeviceKey kAlicePhone{"alice", "a-phone"};
const DeviceKey kBobPhone{"bob", "b-phone"};
const DeviceKey kBobTablet{"bob", "b-tablet"};

std::string describe(const PushOrder& o) {
  return std::string(o.kind == Kind::Invite ? "invite" : "cancel") + " " + o.device.device_id +
         (o.reason.empty() ? "" : " " + o.reason);
}

std::vector<std::string> orders(const CallChanges& c) {
  std::vector<std::string> out;
  for (const auto& o : c.pushes) {
    out.push_back(describe(o));
  }
  return out;
}

std::vector<std::string> eventNames(const CallChanges& c) {
  std::vector<std::string> out;
  for (const auto& [id, e] : c.events) {
    out.push_back(e.name);
  }
  return out;
}

bool addressed(const CallChanges& c, const std::string& name, const DeviceKey& device) {
  for (const auto& [id, e] : c.events) {
    if (e.name == name &&
        std::find(e.recipients.begin(), e.recipients.end(), device) != e.recipients.end()) {
      return true;
    }
  }
  return false;
}

using Orders = std::vector<std::string>;

class CallBookPush : public ::testing::Test {
 protected:
  CallBookPush() {
    // Bob's tablet registers last: devicesOf lists it first.
    for (const auto& key : {kAlicePhone, kBobPhone, kBobTablet}) {
      Device d;
      d.key = key;
      devices_.registerDevice(d, clock_.unixMillis());
      clock_.advance(milliseconds{1});
    }
    presence_.foregroundOnline(kAlicePhone);
    book_ = std::make_unique<CallBook>(config_, clock_, devices_, presence_,
                                       [this] { return "id-" + std::to_string(counter_++); });
  }

  /// Alice calls Bob; the call id, with what the create changed in `c`.
  std::string callBob(CallChanges& c) {
    CreateRequest r;
    r.caller = kAlicePhone;
    r.callees = {"bob"};
    const auto out = book_->create(r, c);
    EXPECT_EQ(out.status, 201) << out.message;
    keep(c);
    return out.call == nullptr ? "" : out.call->call_id;
  }
  std::string callBob() {
    CallChanges c;
    return callBob(c);
  }

  /// Every order of the test, to check that none repeats an invite.
  void keep(const CallChanges& c) {
    for (const auto& o : c.pushes) {
      if (o.kind == Kind::Invite) {
        ++invites_[{o.call_id, o.device}];
      }
    }
  }
  void noSecondInvite() const {
    for (const auto& [key, count] : invites_) {
      EXPECT_EQ(count, 1) << key.first << " " << key.second.device_id;
    }
  }

  CallChanges accept(const std::string& id, const DeviceKey& by) {
    CallChanges c;
    EXPECT_EQ(book_->accept(id, by, c).status, 200);
    keep(c);
    return c;
  }
  CallChanges end(const std::string& id, const DeviceKey& by) {
    CallChanges c;
    EXPECT_EQ(book_->end(id, by, "", c).status, 200);
    keep(c);
    return c;
  }
  CallChanges pushAnswered(const std::string& id, const DeviceKey& device, bool delivered) {
    CallChanges c;
    book_->pushAnswered(id, device, delivered, c);
    keep(c);
    return c;
  }
  CallChanges tickAfter(Clock::Duration wait) {
    clock_.advance(wait);
    CallChanges c;
    book_->tick(c);
    keep(c);
    return c;
  }
  const Call& at(const std::string& id) const { return *book_->find(id); }

  conf::CallsConfig config_;
  turnpike::testing::FakeClock clock_;
  DeviceRegistry devices_;
  FakePresence presence_;
  int counter_ = 0;
  std::unique_ptr<CallBook> book_;
  std::map<std::pair<std::string, DeviceKey>, int> invites_;
};

TEST_F(CallBookPush, AForegroundDeviceGetsNoInvite) {
  presence_.foregroundOnline(kBobPhone);
  presence_.withToken(kBobPhone);
  CallChanges c;
  const auto id = callBob(c);
  EXPECT_EQ(at(id).rung, std::vector<DeviceKey>{kBobPhone});
  EXPECT_TRUE(addressed(c, "call.incoming", kBobPhone));
  EXPECT_EQ(orders(c), Orders{});
  EXPECT_TRUE(at(id).pushed.empty());
}

TEST_F(CallBookPush, AnOfflineDeviceWithATokenGetsOneInvite) {
  presence_.withToken(kBobPhone);
  CallChanges c;
  const auto id = callBob(c);
  EXPECT_EQ(orders(c), Orders{"invite b-phone"});
  EXPECT_EQ(c.pushes[0].call_id, id);
  EXPECT_EQ(at(id).pushed, std::vector<DeviceKey>{kBobPhone});
  // Not reached yet: the caller hears call.ringing when the provider accepts.
  EXPECT_EQ(at(id).state, CallState::Created);
  EXPECT_EQ(eventNames(c), std::vector<std::string>{"call.incoming"});
}

TEST_F(CallBookPush, AnOfflineDeviceWithoutATokenIsNotRung) {
  presence_.withToken(kBobPhone);
  CallChanges c;
  const auto id = callBob(c);
  EXPECT_EQ(at(id).rung, std::vector<DeviceKey>{kBobPhone});  // not the tablet
}

TEST_F(CallBookPush, ABackgroundDeviceGetsTheEventAndAnInvite) {
  presence_.backgroundOnline(kBobPhone);
  presence_.withToken(kBobPhone);
  CallChanges c;
  const auto id = callBob(c);
  EXPECT_TRUE(addressed(c, "call.incoming", kBobPhone));
  EXPECT_TRUE(addressed(c, "call.ringing", kAlicePhone));
  EXPECT_EQ(orders(c), Orders{"invite b-phone"});
  EXPECT_EQ(at(id).state, CallState::Ringing);
}

TEST_F(CallBookPush, ABackgroundDeviceWithoutAProviderGetsOnlyTheEvent) {
  presence_.backgroundOnline(kBobPhone);
  CallChanges c;
  callBob(c);
  EXPECT_TRUE(addressed(c, "call.incoming", kBobPhone));
  EXPECT_EQ(orders(c), Orders{});
}

TEST_F(CallBookPush, AnswerOnAnotherDeviceCancelsThePushedOne) {
  presence_.backgroundOnline(kBobPhone);
  presence_.withToken(kBobPhone);
  presence_.foregroundOnline(kBobTablet);
  CallChanges created;
  const auto id = callBob(created);
  EXPECT_EQ(orders(created), Orders{"invite b-phone"});

  const auto accepted = accept(id, kBobTablet);
  EXPECT_EQ(orders(accepted), Orders{"cancel b-phone answered_elsewhere"});
  EXPECT_EQ(accepted.pushes[0].call_id, id);

  // The hang-up later tells nobody by push: the phone heard its end already.
  EXPECT_EQ(orders(end(id, kAlicePhone)), Orders{});
  noSecondInvite();
}

TEST_F(CallBookPush, ThePushedDeviceThatAnswersGetsNoCancel) {
  presence_.withToken(kBobPhone);
  presence_.withToken(kBobTablet);
  CallChanges created;
  const auto id = callBob(created);
  EXPECT_EQ(orders(created), (Orders{"invite b-tablet", "invite b-phone"}));

  presence_.foregroundOnline(kBobPhone);  // woken by the push
  const auto accepted = accept(id, kBobPhone);
  EXPECT_EQ(orders(accepted), Orders{"cancel b-tablet answered_elsewhere"});
  EXPECT_EQ(orders(end(id, kAlicePhone)), Orders{});
  noSecondInvite();
}

// Product bug (see the report): once the callee hangs up, its participant is
// Left, Call::answeringDevice() forgets the device that answered, and
// orderCancels sends that device a "call_cancelled" push (reason hangup)
// for the call it was just in. Enable when fixed.
TEST_F(CallBookPush, TheAnsweringDeviceThatHangsUpGetsNoCancel) {
  presence_.withToken(kBobPhone);
  presence_.withToken(kBobTablet);
  const auto id = callBob();
  presence_.foregroundOnline(kBobPhone);
  accept(id, kBobPhone);
  EXPECT_EQ(orders(end(id, kBobPhone)), Orders{});
}

TEST_F(CallBookPush, RingTimeoutCancelsEveryPushedDevice) {
  presence_.withToken(kBobPhone);
  presence_.foregroundOnline(kBobTablet);
  const auto id = callBob();
  EXPECT_EQ(orders(tickAfter(config_.ring_timeout - milliseconds{1})), Orders{});
  const auto timeout = tickAfter(milliseconds{1});
  EXPECT_EQ(at(id).end_reason, "ring_timeout");
  EXPECT_EQ(orders(timeout), Orders{"cancel b-phone ring_timeout"});
}

TEST_F(CallBookPush, TheCallersCancelReachesThePushedDevice) {
  presence_.withToken(kBobPhone);
  const auto id = callBob();
  const auto cancelled = end(id, kAlicePhone);
  EXPECT_EQ(at(id).end_reason, "caller_cancelled");
  EXPECT_EQ(orders(cancelled), Orders{"cancel b-phone caller_cancelled"});
}

TEST_F(CallBookPush, ADeclineElsewhereCancelsThePushedDevice) {
  presence_.withToken(kBobPhone);
  presence_.foregroundOnline(kBobTablet);
  const auto id = callBob();
  CallChanges declined;
  ASSERT_EQ(book_->decline(id, kBobTablet, false, declined).status, 200);
  EXPECT_EQ(orders(declined), Orders{"cancel b-phone rejected_elsewhere"});
}

TEST_F(CallBookPush, ADeliveredInviteReachesTheDeviceAndTellsTheCallerOnce) {
  presence_.withToken(kBobPhone);
  const auto id = callBob();
  ASSERT_EQ(at(id).state, CallState::Created);

  const auto delivered = pushAnswered(id, kBobPhone, true);
  EXPECT_EQ(eventNames(delivered), std::vector<std::string>{"call.ringing"});
  EXPECT_EQ(delivered.events[0].second.recipients, std::vector<DeviceKey>{kAlicePhone});
  EXPECT_EQ(at(id).state, CallState::Ringing);
  EXPECT_EQ(at(id).reached, std::vector<DeviceKey>{kBobPhone});

  EXPECT_TRUE(pushAnswered(id, kBobPhone, true).events.empty());
  noSecondInvite();
}

TEST_F(CallBookPush, TheOnlyInviteFailingEndsTheCallUnreachable) {
  presence_.withToken(kBobPhone);
  const auto id = callBob();
  const auto failed = pushAnswered(id, kBobPhone, false);
  EXPECT_TRUE(at(id).ended());
  EXPECT_EQ(at(id).end_reason, "unreachable");
  EXPECT_TRUE(addressed(failed, "call.ended", kAlicePhone));
  EXPECT_EQ(failed.ended, std::vector<std::string>{id});
  // Nothing to cancel where the invite never arrived.
  EXPECT_EQ(orders(failed), Orders{});
}

TEST_F(CallBookPush, AFailedInviteToADeviceStillOnlineKeepsTheCallRinging) {
  presence_.backgroundOnline(kBobPhone);
  presence_.withToken(kBobPhone);
  const auto id = callBob();
  pushAnswered(id, kBobPhone, false);
  EXPECT_FALSE(at(id).ended());
  EXPECT_EQ(at(id).push_failed, std::vector<DeviceKey>{kBobPhone});
  // Its end needs no cancel: the invite never arrived.
  EXPECT_EQ(orders(end(id, kAlicePhone)), Orders{});
}

TEST_F(CallBookPush, OneFailedInviteOfTwoKeepsTheCallRinging) {
  presence_.withToken(kBobPhone);
  presence_.withToken(kBobTablet);
  const auto id = callBob();
  pushAnswered(id, kBobTablet, false);
  EXPECT_FALSE(at(id).ended());
  const auto second = pushAnswered(id, kBobPhone, false);
  EXPECT_EQ(at(id).end_reason, "unreachable");
  EXPECT_EQ(orders(second), Orders{});
}

TEST_F(CallBookPush, RingingIsTrueOnlyWhileTheCallRingsTheDevice) {
  presence_.withToken(kBobPhone);
  presence_.foregroundOnline(kBobTablet);
  const auto answered = callBob();
  EXPECT_TRUE(book_->ringing(answered, kBobPhone));
  EXPECT_TRUE(book_->ringing(answered, kBobTablet));
  EXPECT_FALSE(book_->ringing(answered, kAlicePhone));
  EXPECT_FALSE(book_->ringing("no-such-call", kBobPhone));
  accept(answered, kBobTablet);
  EXPECT_FALSE(book_->ringing(answered, kBobPhone));
  EXPECT_FALSE(book_->ringing(answered, kBobTablet));
  end(answered, kAlicePhone);

  const auto cancelled = callBob();
  EXPECT_TRUE(book_->ringing(cancelled, kBobPhone));
  end(cancelled, kAlicePhone);
  EXPECT_FALSE(book_->ringing(cancelled, kBobPhone));
}

TEST_F(CallBookPush, NoSecondInviteForTheSameCallAndDevice) {
  presence_.backgroundOnline(kBobPhone);
  presence_.withToken(kBobPhone);
  presence_.withToken(kBobTablet);
  const auto id = callBob();
  EXPECT_EQ(at(id).pushed.size(), 2U);

  CallChanges hello;
  book_->deviceOnline(kBobTablet, hello);
  keep(hello);
  CallChanges ringing;
  ASSERT_EQ(book_->ringing(id, kBobTablet, ringing).status, 200);
  keep(ringing);
  pushAnswered(id, kBobPhone, true);
  pushAnswered(id, kBobTablet, true);
  tickAfter(seconds{5});
  accept(id, kBobTablet);
  end(id, kBobTablet);

  // A new call is a new invite.
  const auto next = callBob();
  EXPECT_NE(next, id);
  EXPECT_EQ(invites_.size(), 4U);
  noSecondInvite();
  EXPECT_EQ(at(id).pushed.size(), 2U);
}

}  // namespace
}  // namespace turnpike::control
