// turnpike: the TURN/STUN relay.
//   turnpike                       run on the embedded defaults
//   turnpike --config FILE         run with FILE
//   turnpike --check-config FILE   validate FILE and exit 0 (valid) or 1
//   turnpike --version
//   turnpike --probe URL           GET URL; exit 0 on 2xx (container health checks)

#include <CLI/CLI.hpp>

#include <spdlog/spdlog.h>

#include <iostream>

#include "conf/config_loader.h"
#include "relay/app/logging.h"
#include "relay/app/probe.h"
#include "relay/app/server_process.h"

namespace {

std::optional<turnpike::conf::Config> load(const std::string& path) {
  const auto result = turnpike::conf::loadConfigFile(path);
  for (const auto& error : result.errors) {
    std::cerr << path << ": " << error.toString() << "\n";
  }
  return result.config;
}

int run(int argc, char** argv) {
  CLI::App cli{"turnpike: a TURN/STUN relay"};
  std::string config_path;
  std::string check_path;
  std::string probe_url;
  bool version = false;
  cli.add_option("--config", config_path, "YAML configuration file (default: built-in defaults)")
      ->check(CLI::ExistingFile);
  cli.add_option("--check-config", check_path, "validate a configuration file and exit");
  cli.add_flag("--version", version, "print the version and exit");
  cli.add_option("--probe", probe_url,
                 "GET an http:// URL (e.g. http://127.0.0.1:8088/livez); exit 0 on 2xx");
  CLI11_PARSE(cli, argc, argv);

  if (version) {
    std::cout << "turnpike " << TURNPIKE_VERSION << "\n";
    return 0;
  }
  if (!probe_url.empty()) {
    return turnpike::app::probe(probe_url);
  }
  if (!check_path.empty()) {
    if (!load(check_path)) {
      return 1;
    }
    std::cout << check_path << ": ok\n";
    return 0;
  }
  turnpike::conf::Config config;
  if (!config_path.empty()) {
    auto loaded = load(config_path);
    if (!loaded) {
      return 1;
    }
    config = std::move(*loaded);
  }
  turnpike::app::setupLogging(config.log);
  if (config_path.empty()) {
    spdlog::info("no --config given: running on the built-in defaults");
  }
  return turnpike::app::runServer(config, config_path);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "turnpike: " << e.what() << "\n";
    return 1;
  }
}
