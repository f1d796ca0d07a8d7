// How long a remote embedding API asks us to wait before retrying, read from
// its response headers:
// - `Retry-After`: delta-seconds ("2", also "1.5") or an HTTP-date
//   (IMF-fixdate, RFC 850 or asctime format, RFC 9110 section 10.2.3);
// - `retry-after-ms` (Azure OpenAI, OpenAI): milliseconds;
// - `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` (OpenAI): Go
//   durations such as "1s", "6m0s", "20ms", "1.5s". Each counts only when its
//   budget is used up: `x-ratelimit-remaining-requests` absent or 0, or
//   `x-ratelimit-remaining-tokens` absent or below the request's tokens.
//
// Thread-safety: pure functions. Errors: an unreadable value is ignored
// (nullopt), never an error.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ragpdf::embed::remote {

// Header names are lower-case.
using HeaderMap = std::map<std::string, std::string, std::less<>>;

// `Retry-After` value relative to `now`; a date in the past gives zero.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

// A Go duration ("6m0s", "20ms", "1h2m3.5s"); a bare number means seconds.
std::optional<std::chrono::milliseconds> ParseResetDuration(std::string_view value);

// The longest wait any of the headers above asks for, or nullopt when none
// does. `request_tokens` is the estimated token count of the refused request.
std::optional<std::chrono::milliseconds> ServerRetryDelay(
    const HeaderMap& headers, std::int64_t request_tokens,
    std::chrono::system_clock::time_point now);

}  // namespace ragpdf::embed::remote
