#include "relay/app/probe.h"

#include <event2/event.h>
#include <event2/http.h>

#include <iostream>
#include <memory>
#include <string>

namespace turnpike::app {
namespace {

constexpr int kProbeSeconds = 5;

struct Answer {
  int status = 0;  ///< 0: no answer (refused, timed out)
  event_base* base = nullptr;
};

void onDone(evhttp_request* request, void* arg) {
  auto* answer = static_cast<Answer*>(arg);
  answer->status = request == nullptr ? 0 : evhttp_request_get_response_code(request);
  event_base_loopbreak(answer->base);
}

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};

}  // namespace

int probe(const std::string& url) {
  const std::unique_ptr<evhttp_uri, Deleter<evhttp_uri_free>> uri(evhttp_uri_parse(url.c_str()));
  const char* scheme = uri ? evhttp_uri_get_scheme(uri.get()) : nullptr;
  const char* host = uri ? evhttp_uri_get_host(uri.get()) : nullptr;
  if (scheme == nullptr || std::string(scheme) != "http" || host == nullptr) {
    std::cerr << "probe: " << url << ": expected http://host:port/path\n";
    return 1;
  }
  const int port = evhttp_uri_get_port(uri.get()) < 0 ? 80 : evhttp_uri_get_port(uri.get());
  const char* path = evhttp_uri_get_path(uri.get());
  const std::string target = path == nullptr || *path == '\0' ? "/" : path;
  const std::unique_ptr<event_base, Deleter<event_base_free>> base(event_base_new());
  // evhttp wants the bare address, not "[::1]".
  std::string address = host;
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  const std::unique_ptr<evhttp_connection, Deleter<evhttp_connection_free>> connection(
      evhttp_connection_base_new(base.get(), nullptr, address.c_str(),
                                 static_cast<std::uint16_t>(port)));
  if (!base || !connection) {
    std::cerr << "probe: cannot set up a connection to " << url << "\n";
    return 1;
  }
  evhttp_connection_set_timeout(connection.get(), kProbeSeconds);
  evhttp_connection_set_retries(connection.get(), 0);
  Answer answer{.base = base.get()};
  evhttp_request* request = evhttp_request_new(&onDone, &answer);
  evhttp_add_header(evhttp_request_get_output_headers(request), "Host", host);
  if (evhttp_make_request(connection.get(), request, EVHTTP_REQ_GET, target.c_str()) != 0) {
    std::cerr << "probe: cannot send a request to " << url << "\n";
    return 1;
  }
  event_base_dispatch(base.get());
  if (answer.status >= 200 && answer.status < 300) {
    return 0;
  }
  std::cerr << "probe: " << url << ": "
            << (answer.status == 0 ? "no answer" : "HTTP " + std::to_string(answer.status)) << "\n";
  return 1;
}

}  // namespace turnpike::app
