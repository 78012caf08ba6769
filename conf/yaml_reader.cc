#include "conf/yaml_reader.h"

#include <map>

#include <algorithm>
#include <charconv>

namespace turnpike::conf {
namespace {

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing";
    default: return "\"" + node.Scalar() + "\"";
  }
}

}  // namespace

std::string YamlReader::join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

int YamlReader::lineOf(const YAML::Node& node) {
  const auto mark = node.Mark();
  return mark.line < 0 ? 0 : mark.line + 1;
}

void YamlReader::error(const YAML::Node& node, const std::string& path, std::string message) {
  errors_.push_back(ConfigError{path, lineOf(node), std::move(message)});
}

void YamlReader::map(const YAML::Node& node, const std::string& path, const Fields& fields) {
  if (node.IsNull()) {
    return;
  }
  if (!node.IsMap()) {
    error(node, path.empty() ? "(top level)" : path, "expected a mapping, got " + describe(node));
    return;
  }
  std::map<std::string, int> seen;  // key -> line of its first use
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    if (key.empty()) {
      error(entry.first, join(path, "\"\""), "empty or missing key");
      continue;
    }
    const auto [first, fresh] = seen.emplace(key, entry.first.Mark().line + 1);
    if (!fresh) {
      // YAML forbids it and yaml-cpp would keep both: say so instead of guessing.
      error(entry.first, join(path, key),
            "duplicate key (first at line " + std::to_string(first->second) + ")");
      continue;
    }
    const auto field =
        std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == key; });
    if (field != fields.end()) {
      field->second(entry.second, join(path, key));
      continue;
    }
    std::string message = "unknown key";
    std::string_view best;
    std::size_t best_distance = 3;
    for (const auto& f : fields) {
      const std::size_t d = editDistance(key, f.first);
      if (d < best_distance) {
        best_distance = d;
        best = f.first;
      }
    }
    if (!best.empty()) {
      message += " (did you mean \"" + join(path, best) + "\"?)";
    }
    error(entry.first, join(path, key), message);
  }
}

bool YamlReader::string(const YAML::Node& node, const std::string& path, std::string& out) {
  if (!node.IsScalar()) {
    error(node, path, "expected a string, got " + describe(node));
    return false;
  }
  out = node.Scalar();
  return true;
}

bool YamlReader::boolean(const YAML::Node& node, const std::string& path, bool& out) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true") {
      out = true;
      return true;
    }
    if (s == "false") {
      out = false;
      return true;
    }
  }
  error(node, path, "expected true or false, got " + describe(node));
  return false;
}

bool YamlReader::integer(const YAML::Node& node, const std::string& path, std::uint64_t min,
                         std::uint64_t max, std::uint64_t& out) {
  if (!node.IsScalar()) {
    error(node, path, "expected a number, got " + describe(node));
    return false;
  }
  const std::string& s = node.Scalar();
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec == std::errc::result_out_of_range) {
    error(node, path,
          s + " is out of range (" + std::to_string(min) + ".." + std::to_string(max) + ")");
    return false;
  }
  if (ec != std::errc{} || end != s.data() + s.size()) {
    error(node, path, "expected a number, got " + describe(node));
    return false;
  }
  if (value < min || value > max) {
    error(node, path,
          s + " is out of range (" + std::to_string(min) + ".." + std::to_string(max) + ")");
    return false;
  }
  out = value;
  return true;
}

bool YamlReader::duration(const YAML::Node& node, const std::string& path, Duration& out) {
  std::string text;
  if (!string(node, path, text)) {
    return false;
  }
  const auto d = parseDuration(text);
  if (!d) {
    error(node, path, "\"" + text + "\" is not a duration (write 500ms, 30s, 10m, 1h or 1d)");
    return false;
  }
  out = *d;
  return true;
}

bool YamlReader::endpoint(const YAML::Node& node, const std::string& path, Endpoint& out) {
  std::string text;
  if (!string(node, path, text)) {
    return false;
  }
  const std::string problem = parseEndpoint(text, out);
  if (!problem.empty()) {
    error(node, path, problem);
    return false;
  }
  return true;
}

bool YamlReader::sequence(const YAML::Node& node, const std::string& path,
                          const std::function<void(const YAML::Node&, const std::string&)>& item) {
  if (node.IsNull()) {
    return true;
  }
  if (!node.IsSequence()) {
    error(node, path, "expected a list, got " + describe(node));
    return false;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    item(node[i], path + "[" + std::to_string(i) + "]");
  }
  return true;
}

bool YamlReader::endpointList(const YAML::Node& node, const std::string& path,
                              std::vector<Endpoint>& out) {
  out.clear();
  return sequence(node, path, [&](const YAML::Node& n, const std::string& p) {
    Endpoint e;
    if (endpoint(n, p, e)) {
      out.push_back(e);
    }
  });
}

bool YamlReader::cidrList(const YAML::Node& node, const std::string& path, std::vector<Cidr>& out) {
  out.clear();
  return sequence(node, path, [&](const YAML::Node& n, const std::string& p) {
    std::string text;
    Cidr c;
    if (!string(n, p, text)) {
      return;
    }
    const std::string problem = parseCidr(text, c);
    if (!problem.empty()) {
      error(n, p, problem);
      return;
    }
    out.push_back(c);
  });
}

bool YamlReader::stringList(const YAML::Node& node, const std::string& path,
                            std::vector<std::string>& out) {
  out.clear();
  return sequence(node, path, [&](const YAML::Node& n, const std::string& p) {
    std::string s;
    if (string(n, p, s)) {
      out.push_back(s);
    }
  });
}

}  // namespace turnpike::conf
