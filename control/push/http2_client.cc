// libcurl's multi socket interface on libevent: curl says which sockets to
// watch and when to wake it; libevent tells curl when they are ready.

#include "control/push/http2_client.h"

#include "control/push/timers.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>

namespace turnpike::control::push {
namespace {

std::once_flag g_curl_once;

struct Transfer {
  Http2Client::Impl* owner = nullptr;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpResponse response;
  Http2Client::Done done;
  char error[CURL_ERROR_SIZE] = {};
};

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  const auto start = s.find_first_not_of(' ');
  return start == std::string::npos ? std::string() : s.substr(start);
}

size_t onBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  auto& body = t->response.body;
  body.append(data,
              std::min(n, Http2Client::kMaxBody - std::min(body.size(), Http2Client::kMaxBody)));
  return n;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  const std::string line(data, n);
  const auto colon = line.find(':');
  if (colon != std::string::npos && t->response.headers.size() < 64) {
    t->response.headers[lowercase(line.substr(0, colon))] = trim(line.substr(colon + 1));
  }
  return n;
}

}  // namespace

struct Http2Client::Impl {
  event_base* base;
  Options options;
  CURLM* multi = nullptr;
  event* timer = nullptr;
  std::set<Transfer*> live;
  Timers timers{base};
  std::uint64_t connections = 0;

  Impl(event_base* b, Options o) : base(b), options(std::move(o)) {
    std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi = curl_multi_init();
    timer = evtimer_new(base, &Impl::onTimer, this);
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::onSocket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::onTimerChange);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, 1000L);
  }

  ~Impl() {
    // Every transfer still in flight ends without an answer; nothing is
    // called back (the owner is going away).
    for (Transfer* t : live) {
      curl_multi_remove_handle(multi, t->easy);
      release(t);
    }
    curl_multi_cleanup(multi);
    event_free(timer);
  }

  static void release(Transfer* t) {
    if (t == nullptr) {
      return;
    }
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    delete t;
  }

  // Extra trust for the providers' TLS: the system's roots stay.
  static CURLcode onSslContext(CURL* /*easy*/, void* ctx, void* user) {
    const auto* self = static_cast<Impl*>(user);
    X509_STORE* store = SSL_CTX_get_cert_store(static_cast<SSL_CTX*>(ctx));
    if (X509_STORE_load_file(store, self->options.ca_file.c_str()) != 1) {
      return CURLE_SSL_CACERT_BADFILE;
    }
    return CURLE_OK;
  }

  // A socket's event carries curl's wishes (CURL_POLL_*) in its flags.
  static int onSocket(CURL* /*easy*/, curl_socket_t fd, int what, void* user, void* socket_data) {
    auto* self = static_cast<Impl*>(user);
    auto* ev = static_cast<event*>(socket_data);
    if (what == CURL_POLL_REMOVE) {
      if (ev != nullptr) {
        event_free(ev);
        curl_multi_assign(self->multi, fd, nullptr);
      }
      return 0;
    }
    const short flags =
        static_cast<short>(((what & CURL_POLL_IN) != 0 ? EV_READ : 0) |
                           ((what & CURL_POLL_OUT) != 0 ? EV_WRITE : 0) | EV_PERSIST);
    if (ev == nullptr) {
      ev = event_new(self->base, fd, flags, &Impl::onReady, self);
      curl_multi_assign(self->multi, fd, ev);
    } else {
      event_del(ev);
      event_assign(ev, self->base, fd, flags, &Impl::onReady, self);
    }
    event_add(ev, nullptr);
    return 0;
  }

  static int onTimerChange(CURLM* /*multi*/, long timeout_ms, void* user) {
    auto* self = static_cast<Impl*>(user);
    if (timeout_ms < 0) {
      evtimer_del(self->timer);
      return 0;
    }
    // Even a 0 ms timeout runs from the loop, not inside curl's call.
    const timeval tv{timeout_ms / 1000, static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
    evtimer_add(self->timer, &tv);
    return 0;
  }

  static void onReady(evutil_socket_t fd, short what, void* user) {
    auto* self = static_cast<Impl*>(user);
    const int action = ((what & EV_READ) != 0 ? CURL_CSELECT_IN : 0) |
                       ((what & EV_WRITE) != 0 ? CURL_CSELECT_OUT : 0);
    int running = 0;
    curl_multi_socket_action(self->multi, fd, action, &running);
    self->finishDone();
  }

  static void onTimer(evutil_socket_t /*fd*/, short /*what*/, void* user) {
    auto* self = static_cast<Impl*>(user);
    int running = 0;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    self->finishDone();
  }

  // Answers every finished transfer; callbacks run after curl returned.
  void finishDone() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      CURL* easy = msg->easy_handle;
      const CURLcode result = msg->data.result;
      Transfer* t = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
      long status = 0;
      long version = 0;
      long connects = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
      curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
      connections += static_cast<std::uint64_t>(connects);
      curl_multi_remove_handle(multi, easy);
      HttpResponse response = std::move(t->response);
      response.http2 = version == CURL_HTTP_VERSION_2_0;
      if (result != CURLE_OK) {
        response.status = 0;
        response.error = t->error[0] != '\0' ? t->error : curl_easy_strerror(result);
      } else {
        response.status = static_cast<int>(status);
      }
      Done done = std::move(t->done);
      live.erase(t);
      release(t);
      if (done) {
        done(std::move(response));
      }
    }
  }

  void refuseLater(Done done, std::string why) {
    timers.after(std::chrono::milliseconds{0}, [done = std::move(done), why = std::move(why)] {
      HttpResponse response;
      response.error = why;
      if (done) {
        done(std::move(response));
      }
    });
  }
};

Http2Client::Http2Client(event_base* base, Options options)
    : impl_(std::make_unique<Impl>(base, std::move(options))) {}

Http2Client::~Http2Client() = default;

void Http2Client::send(HttpRequest request, Done done) {
  Impl& impl = *impl_;
  if (impl.live.size() >= impl.options.max_in_flight) {
    impl.refuseLater(std::move(done), "too many requests in flight");
    return;
  }
  auto* t = new Transfer;
  t->owner = &impl;
  t->done = std::move(done);
  t->easy = curl_easy_init();
  CURL* e = t->easy;
  for (const auto& h : request.headers) {
    t->headers = curl_slist_append(t->headers, h.c_str());
  }
  // No "Expect: 100-continue" round trip before a body.
  t->headers = curl_slist_append(t->headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "POST") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, request.body.c_str());
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<std::int64_t>(request.timeout.count(), 5000)));
  curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, static_cast<long>(impl.options.max_idle.count()));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t);
  if (!impl.options.ca_file.empty()) {
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, &Impl::onSslContext);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, &impl);
  }
  impl.live.insert(t);
  if (curl_multi_add_handle(impl.multi, e) != CURLM_OK) {
    impl.live.erase(t);
    Done d = std::move(t->done);
    Impl::release(t);
    impl.refuseLater(std::move(d), "cannot start the request");
  }
}

std::size_t Http2Client::inFlight() const { return impl_->live.size(); }

std::uint64_t Http2Client::connectionsOpened() const { return impl_->connections; }

}  // namespace turnpike::control::push
