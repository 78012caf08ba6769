#include "control/store/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <string_view>

namespace turnpike::control {
namespace {

// Each step takes the schema from version i to i + 1; never edit a step
// that has shipped, add one.
constexpr std::string_view kMigrations[] = {
    // 1: devices, calls and their events, idempotency keys, revocations.
    R"sql(
CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE devices (user_id TEXT NOT NULL, device_id TEXT NOT NULL, body TEXT NOT NULL,
                      PRIMARY KEY (user_id, device_id));
CREATE TABLE calls (call_id TEXT PRIMARY KEY, ended INTEGER NOT NULL, created_at INTEGER NOT NULL,
                    body TEXT NOT NULL);
CREATE TABLE call_events (call_id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
                          PRIMARY KEY (call_id, seq));
CREATE TABLE idempotency (user_id TEXT NOT NULL, key TEXT NOT NULL, created_at INTEGER NOT NULL,
                          status INTEGER NOT NULL, body TEXT NOT NULL,
                          PRIMARY KEY (user_id, key));
CREATE TABLE revocations (call_id TEXT PRIMARY KEY, until INTEGER NOT NULL);
)sql",
    // 2: the admin timeline of each call; ended calls found fast.
    R"sql(
CREATE TABLE call_timeline (call_id TEXT NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX call_timeline_by_call ON call_timeline (call_id, at);
CREATE INDEX calls_by_ended ON calls (ended, created_at);
)sql",
};

/// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql) {
    sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  [[nodiscard]] bool ok() const { return stmt_ != nullptr; }
  Statement& bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, std::int64_t value) {
    sqlite3_bind_int64(stmt_, i, value);
    return *this;
  }
  /// SQLITE_ROW, SQLITE_DONE or an error.
  int step() { return stmt_ == nullptr ? SQLITE_MISUSE : sqlite3_step(stmt_); }
  std::string text(int column) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, column));
  }
  std::int64_t integer(int column) { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<Call> callFromText(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_object() ? Call::fromStored(j) : std::nullopt;
}

}  // namespace

std::unique_ptr<SqliteStore> SqliteStore::open(const std::string& path, std::string& error,
                                               int version) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    error = "cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return nullptr;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  sqlite3_busy_timeout(db, 2000);
  if (!store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                   error)) {
    return nullptr;
  }
  const int current = store->schemaVersion();
  if (current > kSchemaVersion) {
    error = path + " has schema version " + std::to_string(current) + ", newer than this build (" +
            std::to_string(kSchemaVersion) + ")";
    return nullptr;
  }
  for (int v = current; v < version; ++v) {
    std::string step = "BEGIN;";
    step += kMigrations[v];
    step += "PRAGMA user_version=" + std::to_string(v + 1) + "; COMMIT;";
    if (!store->exec(step.c_str(), error)) {
      store->exec("ROLLBACK;", error);
      error = fmt::format("migrating {} to schema version {}: {}", path, v + 1, error);
      return nullptr;
    }
  }
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

int SqliteStore::schemaVersion() const {
  Statement s(db_, "PRAGMA user_version");
  return s.step() == SQLITE_ROW ? static_cast<int>(s.integer(0)) : -1;
}

bool SqliteStore::exec(const char* sql, std::string& error) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    error = message != nullptr ? message : "sqlite error";
    sqlite3_free(message);
    return false;
  }
  return true;
}

CallStore::CommitResult SqliteStore::commit(const Batch& batch, std::string& error) {
  return write(batch, error) ? CommitResult::Stored : CommitResult::Failed;
}

bool SqliteStore::write(const Batch& batch, std::string& error) {
  if (batch.empty()) {
    return true;
  }
  if (!exec("BEGIN IMMEDIATE", error)) {
    return false;
  }
  bool ok = true;
  const auto done = [&](Statement& s) {
    if (s.step() != SQLITE_DONE) {
      ok = false;
      error = sqlite3_errmsg(db_);
    }
  };
  for (const Call* c : batch.calls) {
    Statement s(db_, "INSERT OR REPLACE INTO calls VALUES (?1, ?2, ?3, ?4)");
    s.bind(1, c->call_id)
        .bind(2, std::int64_t{c->ended() ? 1 : 0})
        .bind(3, c->created_at.count())
        .bind(4, dump(c->toStored()));
    done(s);
  }
  for (const auto& [id, e] : batch.events) {
    Statement s(db_, "INSERT OR REPLACE INTO call_events VALUES (?1, ?2, ?3)");
    s.bind(1, id).bind(2, static_cast<std::int64_t>(e->seq)).bind(3, dump(e->toStored()));
    done(s);
  }
  for (const auto& [id, t] : batch.timeline) {
    Statement s(db_, "INSERT INTO call_timeline VALUES (?1, ?2, ?3)");
    const nlohmann::json body{
        {"event", t->event}, {"deviceId", t->device_id}, {"detail", t->detail}};
    s.bind(1, id).bind(2, t->at.count()).bind(3, dump(body));
    done(s);
  }
  for (const Device* d : batch.devices) {
    Statement s(db_, "INSERT OR REPLACE INTO devices VALUES (?1, ?2, ?3)");
    s.bind(1, d->key.user_id).bind(2, d->key.device_id).bind(3, dump(d->toStored()));
    done(s);
  }
  for (const auto& k : batch.removed_devices) {
    Statement s(db_, "DELETE FROM devices WHERE user_id = ?1 AND device_id = ?2");
    s.bind(1, k.user_id).bind(2, k.device_id);
    done(s);
  }
  for (const auto& r : batch.revocations) {
    Statement s(db_, "INSERT OR REPLACE INTO revocations VALUES (?1, ?2)");
    s.bind(1, r.call_id).bind(2, static_cast<std::int64_t>(r.until.count()));
    done(s);
  }
  if (const auto& a = batch.idempotency) {
    Statement s(db_, "INSERT OR REPLACE INTO idempotency VALUES (?1, ?2, ?3, ?4, ?5)");
    s.bind(1, a->user_id)
        .bind(2, a->key)
        .bind(3, a->created_at.count())
        .bind(4, std::int64_t{a->status})
        .bind(5, a->body);
    done(s);
  }
  std::string ignored;
  if (!ok) {
    exec("ROLLBACK", ignored);
    return false;
  }
  return exec("COMMIT", error);
}

bool SqliteStore::load(Snapshot& out, std::chrono::seconds unix_now, std::string& error) {
  Statement devices(db_, "SELECT body FROM devices");
  while (devices.step() == SQLITE_ROW) {
    const auto j = nlohmann::json::parse(devices.text(0), nullptr, false);
    if (auto d = j.is_object() ? Device::fromStored(j) : std::nullopt) {
      out.devices.push_back(std::move(*d));
    }
  }
  Statement calls(db_, "SELECT body FROM calls WHERE ended = 0");
  while (calls.step() == SQLITE_ROW) {
    if (auto call = callFromText(calls.text(0))) {
      auto events = eventsOf(call->call_id);
      out.active_calls.push_back({std::move(*call), std::move(events), 0});
    }
  }
  Statement revoked(db_, "SELECT call_id, until FROM revocations WHERE until > ?1");
  revoked.bind(1, static_cast<std::int64_t>(unix_now.count()));
  while (revoked.step() == SQLITE_ROW) {
    out.revocations.push_back({revoked.text(0), std::chrono::seconds{revoked.integer(1)}});
  }
  if (!devices.ok() || !calls.ok() || !revoked.ok()) {
    error = sqlite3_errmsg(db_);
    return false;
  }
  return true;
}

std::optional<Call> SqliteStore::loadCall(const std::string& call_id) {
  Statement s(db_, "SELECT body FROM calls WHERE call_id = ?1");
  s.bind(1, call_id);
  return s.step() == SQLITE_ROW ? callFromText(s.text(0)) : std::nullopt;
}

std::vector<CallEvent> SqliteStore::eventsOf(const std::string& call_id) {
  std::vector<CallEvent> events;
  Statement ev(db_, "SELECT body FROM call_events WHERE call_id = ?1 ORDER BY seq");
  ev.bind(1, call_id);
  while (ev.step() == SQLITE_ROW) {
    if (auto e = CallEvent::fromStored(nlohmann::json::parse(ev.text(0), nullptr, false))) {
      events.push_back(std::move(*e));
    }
  }
  return events;
}

std::optional<StoredCall> SqliteStore::fetchCall(const std::string& call_id,
                                                 std::string& /*error*/) {
  auto call = loadCall(call_id);
  if (!call) {
    return std::nullopt;
  }
  return StoredCall{std::move(*call), eventsOf(call_id), 0};
}

std::vector<TimelineEntry> SqliteStore::timeline(const std::string& call_id) {
  std::vector<TimelineEntry> out;
  Statement s(db_, "SELECT at, body FROM call_timeline WHERE call_id = ?1 ORDER BY at, rowid");
  s.bind(1, call_id);
  while (s.step() == SQLITE_ROW) {
    const auto j = nlohmann::json::parse(s.text(1), nullptr, false);
    if (!j.is_object()) {
      continue;
    }
    out.push_back({UnixMillis{s.integer(0)}, j.value("event", ""), j.value("deviceId", ""),
                   j.value("detail", nlohmann::json::object())});
  }
  return out;
}

std::optional<IdempotentAnswer> SqliteStore::idempotent(const std::string& user_id,
                                                        const std::string& key,
                                                        UnixMillis not_before) {
  Statement s(db_,
              "SELECT created_at, status, body FROM idempotency WHERE user_id = ?1 AND key = ?2 "
              "AND created_at >= ?3");
  s.bind(1, user_id).bind(2, key).bind(3, not_before.count());
  if (s.step() != SQLITE_ROW) {
    return std::nullopt;
  }
  return IdempotentAnswer{user_id, key, UnixMillis{s.integer(0)}, static_cast<int>(s.integer(1)),
                          s.text(2)};
}

std::optional<std::string> SqliteStore::setting(const std::string& name) {
  Statement s(db_, "SELECT value FROM settings WHERE name = ?1");
  s.bind(1, name);
  return s.step() == SQLITE_ROW ? std::optional(s.text(0)) : std::nullopt;
}

bool SqliteStore::putSetting(const std::string& name, const std::string& value) {
  Statement s(db_, "INSERT OR REPLACE INTO settings VALUES (?1, ?2)");
  s.bind(1, name).bind(2, value);
  return s.step() == SQLITE_DONE;
}

void SqliteStore::expire(UnixMillis keys_before, std::chrono::seconds unix_now,
                         UnixMillis calls_before) {
  Statement keys(db_, "DELETE FROM idempotency WHERE created_at < ?1");
  keys.bind(1, keys_before.count()).step();
  Statement revoked(db_, "DELETE FROM revocations WHERE until <= ?1");
  revoked.bind(1, static_cast<std::int64_t>(unix_now.count())).step();
  // Events and timelines first: they name calls about to go.
  for (const char* sql : {"DELETE FROM call_events WHERE call_id IN "
                          "(SELECT call_id FROM calls WHERE ended = 1 AND created_at < ?1)",
                          "DELETE FROM call_timeline WHERE call_id IN "
                          "(SELECT call_id FROM calls WHERE ended = 1 AND created_at < ?1)",
                          "DELETE FROM calls WHERE ended = 1 AND created_at < ?1"}) {
    Statement s(db_, sql);
    s.bind(1, calls_before.count()).step();
  }
}

}  // namespace turnpike::control
