#pragma once

// Internal to conf/: the call control plane's sections of the YAML file.

#include <string>

#include "conf/config.h"
#include "conf/yaml_reader.h"

namespace turnpike::conf {

void readApi(YamlReader& r, const YAML::Node& node, const std::string& path, ApiConfig& out);
void readCalls(YamlReader& r, const YAML::Node& node, const std::string& path, CallsConfig& out);
void readCallTokens(YamlReader& r, const YAML::Node& node, const std::string& path,
                    CallTokensConfig& out);
/// push.*: checks that the files it names can be read and hold what they
/// must (the key's type is checked where it is used, control/push).
void readPush(YamlReader& r, const YAML::Node& node, const std::string& path, PushConfig& out);
/// store.backend and store.sqlite; `redis` reads store.redis.
void readStore(YamlReader& r, const YAML::Node& node, const std::string& path, StoreConfig& out,
               const YamlReader::Handler& redis);

}  // namespace turnpike::conf
