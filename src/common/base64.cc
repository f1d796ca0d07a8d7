#include "common/base64.h"

#include <openssl/evp.h>

#include <bit>
#include <cstring>

namespace ragpdf::common {

static_assert(std::endian::native == std::endian::little, "vectors are little-endian float32");

std::string EncodeFloatsBase64(std::span<const float> values) {
  const std::size_t bytes = values.size() * sizeof(float);
  std::string out(4 * ((bytes + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(values.data()),
                                static_cast<int>(bytes));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::vector<float>> DecodeFloatsBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<unsigned char> bytes(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes.
  std::size_t size = static_cast<std::size_t>(n);
  if (text.ends_with("==")) {
    size -= 2;
  } else if (text.ends_with("=")) {
    size -= 1;
  }
  if (size % sizeof(float) != 0) return std::nullopt;
  std::vector<float> values(size / sizeof(float));
  std::memcpy(values.data(), bytes.data(), size);
  return values;
}

}  // namespace ragpdf::common
