// Base64 of float32 vectors, little-endian, as OpenAI's
// encoding_format = "base64" carries them (OpenSSL's EVP block codec).
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ragpdf::common {

std::string EncodeFloatsBase64(std::span<const float> values);
// nullopt for malformed base64 or a byte count that is not a multiple of 4.
std::optional<std::vector<float>> DecodeFloatsBase64(std::string_view text);

}  // namespace ragpdf::common
