#pragma once

#include <string>

namespace turnpike::app {

/// `turnpike --probe URL`: one HTTP GET of URL (http only, e.g.
/// http://127.0.0.1:8088/livez) with a 5 s deadline. 0 when the answer is
/// 2xx, 1 otherwise, with one line on stderr saying why. For container
/// HEALTHCHECKs and exec probes: the image needs no curl.
int probe(const std::string& url);

}  // namespace turnpike::app
