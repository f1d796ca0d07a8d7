// SafetensorsFile: read-only access to a .safetensors file (an 8-byte
// little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets}}, then the raw tensor bytes). The file is memory-mapped;
// tensors are converted to fp32 on request (F32, F16 and BF16 are supported).
//
// Ownership: owns the mapping; move-only. Thread-safety: const methods may be
// called concurrently. Errors: Open() and ReadF32() fail with kBadRequest and a
// message that names the file and, where there is one, the tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace ragpdf::embed::local {

struct SafetensorInfo {
  std::string dtype;  // "F32", "F16", "BF16", "I8", ...
  std::vector<std::int64_t> shape;
  std::size_t begin = 0;  // byte offsets into the data section
  std::size_t end = 0;
};

class SafetensorsFile {
 public:
  // Bounds on what Open() accepts, so a hostile file cannot make us allocate
  // or parse without limit.
  static constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;
  static constexpr std::size_t kMaxRank = 8;

  static common::Result<SafetensorsFile> Open(const std::filesystem::path& path);

  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, SafetensorInfo, std::less<>>& tensors() const { return tensors_; }
  // nullptr when absent.
  const SafetensorInfo* Find(std::string_view name) const;

  // Tensor `name` as fp32, checked against `expected_shape`. A wrong shape
  // fails with both shapes in the message; an unsupported dtype names it.
  common::Result<std::vector<float>> ReadF32(std::string_view name,
                                             std::span<const std::int64_t> expected_shape) const;

 private:
  SafetensorsFile() = default;
  void Unmap();

  std::filesystem::path path_;
  const unsigned char* map_ = nullptr;
  std::size_t map_size_ = 0;
  const unsigned char* data_ = nullptr;  // start of the data section
  std::size_t data_size_ = 0;
  std::map<std::string, SafetensorInfo, std::less<>> tensors_;
};

// "[384, 1536]", for messages.
std::string ShapeToString(std::span<const std::int64_t> shape);

}  // namespace ragpdf::embed::local
