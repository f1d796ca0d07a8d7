// Structured logging: one logfmt line per event (key=value pairs) through
// spdlog. Thread-safety: spdlog's default logger is thread-safe.
#pragma once

#include <string_view>

#include <spdlog/spdlog.h>

namespace ragpdf::common {

// Sets the level ("trace".."off") and a pattern that prefixes time, level and pid.
void InitLogging(std::string_view level);

}  // namespace ragpdf::common
