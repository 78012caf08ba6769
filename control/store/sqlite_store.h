#pragma once

#include <memory>
#include <string>

#include "control/store/call_store.h"

struct sqlite3;

namespace turnpike::control {

/// The embedded store: one SQLite file in WAL mode. The schema carries a
/// version (PRAGMA user_version) and is migrated forward on open; a commit
/// returns once SQLite has the transaction in its WAL, which survives the
/// process being killed (synchronous=NORMAL: an OS crash may lose the last
/// transactions, never corrupt the file).
class SqliteStore final : public CallStore {
 public:
  static constexpr int kSchemaVersion = 2;

  /// Opens (creating) `path` and migrates it up to `version` (tests build
  /// older files with a smaller one). nullptr with `error` set on failure.
  static std::unique_ptr<SqliteStore> open(const std::string& path, std::string& error,
                                           int version = kSchemaVersion);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  [[nodiscard]] int schemaVersion() const;

  CommitResult commit(const Batch& batch, std::string& error) override;
  bool load(Snapshot& out, std::chrono::seconds unix_now, std::string& error) override;
  std::optional<Call> loadCall(const std::string& call_id) override;
  std::optional<StoredCall> fetchCall(const std::string& call_id, std::string& error) override;
  std::vector<TimelineEntry> timeline(const std::string& call_id) override;
  std::optional<IdempotentAnswer> idempotent(const std::string& user_id, const std::string& key,
                                             UnixMillis not_before) override;
  std::optional<std::string> setting(const std::string& name) override;
  bool putSetting(const std::string& name, const std::string& value) override;
  void expire(UnixMillis keys_before, std::chrono::seconds unix_now,
              UnixMillis calls_before) override;

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  bool exec(const char* sql, std::string& error);
  bool write(const Batch& batch, std::string& error);
  std::vector<CallEvent> eventsOf(const std::string& call_id);

  sqlite3* db_;
};

}  // namespace turnpike::control
