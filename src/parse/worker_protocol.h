// Internal to parse/: the result frame the PDF worker process writes on its
// stdout and the parent decodes.
//
//   "RAGPDFW1"  u8 status (0 ok, 1 error)
//   ok:    u32 page_count, u32 n, then n x (u32 page, u64 length, bytes)
//   error: u32 error code, u32 length, message bytes
//
// Integers are in host byte order: both ends are the same program on the same
// machine. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/types.h"
#include "parse/parser.h"

namespace ragpdf::parse::internal {

std::string EncodeWorkerResult(const common::Result<common::ParsedFile>& result);

// The worker's result; kParseFailed when the frame is malformed, truncated,
// carries an unexpected error code or exceeds the limits of `options`.
common::Result<common::ParsedFile> DecodeWorkerResult(std::string_view frame,
                                                      const ParseOptions& options);

// Largest frame a well-behaved worker can write under `options`.
std::uint64_t MaxFrameBytes(const ParseOptions& options);

}  // namespace ragpdf::parse::internal
