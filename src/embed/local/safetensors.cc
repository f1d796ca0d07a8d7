#include "embed/local/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace ragpdf::embed::local {
namespace {

using common::ErrorCode;
using common::Fail;

// Bytes per element of the dtypes safetensors defines; 0 for unknown names
// (accepted in the header, rejected when read).
std::size_t DtypeBytes(std::string_view dtype) {
  static constexpr std::pair<std::string_view, std::size_t> kSizes[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2},  {"BF16", 2},    {"I64", 8},
      {"U64", 8}, {"I32", 4}, {"U32", 4},  {"I16", 2},     {"U16", 2},
      {"I8", 1},  {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const auto& [name, bytes] : kSizes) {
    if (name == dtype) return bytes;
  }
  return 0;
}

float HalfToFloat(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {  // inf / nan
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {  // normal
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // zero
    bits = sign;
  } else {  // subnormal: renormalize
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

template <typename T>
T LoadLittle(const unsigned char* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  static_assert(std::endian::native == std::endian::little);
  return value;
}

std::optional<std::int64_t> AsInt(const boost::json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() &&
      v.as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(v.as_uint64());
  }
  return std::nullopt;
}

// Parses one header entry; an error message (without the file name) on failure.
tl::expected<SafetensorInfo, std::string> ParseEntry(const boost::json::value& entry,
                                                     std::size_t data_size) {
  const auto* obj = entry.if_object();
  if (!obj) return tl::unexpected<std::string>("entry is not an object");
  const auto* dtype = obj->if_contains("dtype");
  const auto* shape = obj->if_contains("shape");
  const auto* offsets = obj->if_contains("data_offsets");
  if (!dtype || !dtype->is_string() || !shape || !shape->is_array() || !offsets ||
      !offsets->is_array() || offsets->as_array().size() != 2) {
    return tl::unexpected<std::string>("entry needs dtype, shape and data_offsets [begin, end]");
  }
  SafetensorInfo info;
  info.dtype = std::string(dtype->as_string());
  if (shape->as_array().size() > SafetensorsFile::kMaxRank) {
    return tl::unexpected<std::string>("rank over " + std::to_string(SafetensorsFile::kMaxRank));
  }
  std::uint64_t elements = 1;
  for (const auto& dim : shape->as_array()) {
    auto d = AsInt(dim);
    if (!d || *d < 0) return tl::unexpected<std::string>("shape has a negative or non-integer dim");
    info.shape.push_back(*d);
    if (*d != 0 && elements > data_size / static_cast<std::uint64_t>(*d)) {
      return tl::unexpected<std::string>("shape larger than the file");
    }
    elements *= static_cast<std::uint64_t>(*d);
  }
  auto begin = AsInt(offsets->as_array()[0]);
  auto end = AsInt(offsets->as_array()[1]);
  if (!begin || !end || *begin < 0 || *end < *begin ||
      static_cast<std::uint64_t>(*end) > data_size) {
    return tl::unexpected<std::string>("data_offsets outside the data section");
  }
  info.begin = static_cast<std::size_t>(*begin);
  info.end = static_cast<std::size_t>(*end);
  const std::size_t bytes = DtypeBytes(info.dtype);
  if (bytes != 0 && elements * bytes != info.end - info.begin) {
    return tl::unexpected<std::string>("data_offsets span " +
                                       std::to_string(info.end - info.begin) + " bytes, shape " +
                                       ShapeToString(info.shape) + " of " + info.dtype + " needs " +
                                       std::to_string(elements * bytes));
  }
  return info;
}

}  // namespace

std::string ShapeToString(std::span<const std::int64_t> shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

common::Result<SafetensorsFile> SafetensorsFile::Open(const std::filesystem::path& path) {
  const std::string name = path.string();
  const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Fail(ErrorCode::kBadRequest, name + ": cannot open (" + std::strerror(errno) + ")");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(ErrorCode::kBadRequest, name + ": not a regular file");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return Fail(ErrorCode::kBadRequest, name + ": too short for a safetensors header");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    return Fail(ErrorCode::kBadRequest, name + ": cannot map (" + std::strerror(errno) + ")");
  }
  SafetensorsFile file;
  file.path_ = path;
  file.map_ = static_cast<const unsigned char*>(map);
  file.map_size_ = size;

  const auto header_bytes = LoadLittle<std::uint64_t>(file.map_);
  if (header_bytes > kMaxHeaderBytes || header_bytes > size - 8) {
    return Fail(ErrorCode::kBadRequest, name + ": header length " + std::to_string(header_bytes) +
                                            " exceeds the file or the " +
                                            std::to_string(kMaxHeaderBytes >> 20) + " MiB limit");
  }
  file.data_ = file.map_ + 8 + header_bytes;
  file.data_size_ = size - 8 - header_bytes;

  boost::system::error_code ec;
  const boost::json::value header = boost::json::parse(
      std::string_view(reinterpret_cast<const char*>(file.map_ + 8), header_bytes), ec);
  if (ec || !header.is_object()) {
    return Fail(ErrorCode::kBadRequest, name + ": header is not a JSON object");
  }
  for (const auto& [key, entry] : header.as_object()) {
    if (key == "__metadata__") continue;
    auto info = ParseEntry(entry, file.data_size_);
    if (!info) {
      return Fail(ErrorCode::kBadRequest,
                  name + ": tensor '" + std::string(key) + "': " + info.error());
    }
    file.tensors_.emplace(std::string(key), std::move(*info));
  }
  return file;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept { *this = std::move(other); }

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    Unmap();
    path_ = std::move(other.path_);
    tensors_ = std::move(other.tensors_);
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    data_ = std::exchange(other.data_, nullptr);
    data_size_ = std::exchange(other.data_size_, 0);
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() { Unmap(); }

void SafetensorsFile::Unmap() {
  if (map_) ::munmap(const_cast<unsigned char*>(map_), map_size_);
  map_ = nullptr;
}

const SafetensorInfo* SafetensorsFile::Find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

common::Result<std::vector<float>> SafetensorsFile::ReadF32(
    std::string_view name, std::span<const std::int64_t> expected_shape) const {
  const std::string where = path_.string() + ": tensor '" + std::string(name) + "'";
  const SafetensorInfo* info = Find(name);
  if (!info) return Fail(ErrorCode::kBadRequest, where + " is missing");
  if (!std::equal(info->shape.begin(), info->shape.end(), expected_shape.begin(),
                  expected_shape.end())) {
    return Fail(ErrorCode::kBadRequest, where + " has shape " + ShapeToString(info->shape) +
                                            ", config.json implies " +
                                            ShapeToString(expected_shape));
  }
  const unsigned char* src = data_ + info->begin;
  const std::size_t bytes = info->end - info->begin;
  std::vector<float> out;
  if (info->dtype == "F32") {
    out.resize(bytes / 4);
    std::memcpy(out.data(), src, bytes);
  } else if (info->dtype == "F16") {
    out.resize(bytes / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = HalfToFloat(LoadLittle<std::uint16_t>(src + 2 * i));
    }
  } else if (info->dtype == "BF16") {
    out.resize(bytes / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::uint32_t bits = static_cast<std::uint32_t>(LoadLittle<std::uint16_t>(src + 2 * i))
                                 << 16;
      out[i] = std::bit_cast<float>(bits);
    }
  } else {
    return Fail(ErrorCode::kBadRequest,
                where + " has dtype " + info->dtype + " (supported: F32, F16, BF16)");
  }
  return out;
}

}  // namespace ragpdf::embed::local
