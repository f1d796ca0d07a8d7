// Internal to parse/: parses a PDF in a worker process (options.worker_executable
// running RunParseWorker) so that a crash, a runaway allocation or an endless
// loop in poppler costs one parse, not the server.
//
// Thread-safety: safe to call from many threads at once; every pipe is
// O_CLOEXEC and the child closes every descriptor but 0, 1 and 2, so no child
// holds another parse's pipe open.
// Errors: the worker's own errors, kParseTimeout past options.timeout (the
// child is killed and reaped), kParseFailed when the child cannot start,
// crashes, exits abnormally or writes a malformed result.
#pragma once

#include <filesystem>

#include "common/error.h"
#include "common/types.h"
#include "parse/parser.h"

namespace ragpdf::parse::internal {

common::Result<common::ParsedFile> ParsePdfInWorker(const std::filesystem::path& path,
                                                    const ParseOptions& options);

}  // namespace ragpdf::parse::internal
