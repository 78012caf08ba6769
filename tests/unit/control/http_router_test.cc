// The route table alone: no sockets.

#include <gtest/gtest.h>

#include "control/http/router.h"

namespace turnpike::control::http {
namespace {

Handler answering(int status) {
  return [status](const Request&, const RouteParams&) { return Response{status, "", "", {}}; };
}

TEST(HttpRouterTest, ExactSegmentsWinOverParameters) {
  Router router;
  router.add("GET", "/v1/calls/{callId}", answering(1));
  router.add("GET", "/v1/calls/active", answering(2));
  router.add("POST", "/v1/calls/{callId}/accept", answering(3));

  Router::Match match = router.match("GET", "/v1/calls/active", false);
  ASSERT_NE(match.handler, nullptr);
  EXPECT_EQ(match.pattern, "/v1/calls/active");
  EXPECT_TRUE(match.params.empty());

  match = router.match("GET", "/v1/calls/c-42", false);
  ASSERT_NE(match.handler, nullptr);
  EXPECT_EQ(match.pattern, "/v1/calls/{callId}");
  EXPECT_EQ(match.params.at("callId"), "c-42");

  match = router.match("POST", "/v1/calls/c-42/accept", false);
  ASSERT_NE(match.handler, nullptr);
  EXPECT_EQ(match.params.at("callId"), "c-42");
}

TEST(HttpRouterTest, ParametersMatchOneNonEmptySegment) {
  Router router;
  router.add("GET", "/v1/calls/{callId}", answering(1));
  EXPECT_EQ(router.match("GET", "/v1/calls/", false).status, 404);
  EXPECT_EQ(router.match("GET", "/v1/calls/a/b", false).status, 404);
  EXPECT_EQ(router.match("GET", "/v1/calls", false).status, 404);
}

TEST(HttpRouterTest, OtherMethodIs405) {
  Router router;
  router.add("GET", "/v1/calls/{callId}", answering(1));
  const Router::Match match = router.match("DELETE", "/v1/calls/x", false);
  EXPECT_EQ(match.handler, nullptr);
  EXPECT_EQ(match.status, 405);
  EXPECT_EQ(match.pattern, "/v1/calls/{callId}");
}

TEST(HttpRouterTest, WebSocketRoutesNeedAnUpgrade) {
  Router router;
  router.addWebSocket("/v1/events", [](const Request&) { return UpgradeDecision{}; });
  router.add("GET", "/v1/calls", answering(1));

  Router::Match match = router.match("GET", "/v1/events", true);
  EXPECT_NE(match.upgrade, nullptr);
  EXPECT_EQ(match.pattern, "/v1/events");
  // A plain GET on a WebSocket endpoint: 426 Upgrade Required.
  match = router.match("GET", "/v1/events", false);
  EXPECT_EQ(match.upgrade, nullptr);
  EXPECT_EQ(match.handler, nullptr);
  EXPECT_EQ(match.status, 426);
  // An upgrade on a plain route is served as the plain GET.
  match = router.match("GET", "/v1/calls", true);
  EXPECT_NE(match.handler, nullptr);
  EXPECT_EQ(router.match("POST", "/v1/events", true).status, 405);
}

TEST(HttpRouterTest, QueryParametersAreDecoded) {
  Request request;
  request.query = "a=1&name=J%C3%A9r%C3%B4me+X&empty=&flag";
  EXPECT_EQ(request.queryParam("a"), "1");
  EXPECT_EQ(request.queryParam("name"), "J\xC3\xA9r\xC3\xB4me X");
  EXPECT_EQ(request.queryParam("empty"), "");
  EXPECT_EQ(request.queryParam("flag"), "");
  EXPECT_EQ(request.queryParam("missing"), "");
  request.headers = {{"x-one", "1"}, {"x-one", "2"}};
  EXPECT_EQ(request.header("x-one"), "1");
  EXPECT_EQ(request.header("x-two"), "");
}

}  // namespace
}  // namespace turnpike::control::http
