#include "control/tokens/openssl_handles.h"

#include <climits>
#include <cstring>

namespace turnpike::control::tokens::detail {

BioPtr memoryBio(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT_MAX)) {
    return nullptr;
  }
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bioContents(BIO* bio) {
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  if (data == nullptr || length <= 0) {
    return {};
  }
  return {data, static_cast<std::size_t>(length)};
}

int refusePassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

std::string takeOpenSslError(std::string_view fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return std::string(fallback);
  }
  char text[256] = {};
  ERR_error_string_n(code, text, sizeof(text));
  return std::string(fallback) + " (" + text + ")";
}

bool isP256(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
    return false;
  }
  char group[64] = {};
  std::size_t length = 0;
  if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &length) != 1) {
    return false;
  }
  // OpenSSL names P-256 "prime256v1"; accept the NIST and SECG names too.
  const std::string_view name(group, length);
  return name == "prime256v1" || name == "P-256" || name == "secp256r1";
}

}  // namespace turnpike::control::tokens::detail
