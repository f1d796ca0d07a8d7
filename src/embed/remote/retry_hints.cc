#include "embed/remote/retry_hints.h"

#include <time.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <string>

namespace ragpdf::embed::remote {
namespace {

using std::chrono::milliseconds;

// Longest wait a header may ask for: a larger value is treated as this (a
// file must not sit in `in_progress` for hours on a server's say-so).
constexpr double kMaxHintMs = 24.0 * 3600 * 1000;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// A non-negative decimal number ("2", "1.5"), all of `s`.
std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s.front())) || s.front() == '.')) {
    return std::nullopt;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value) || value < 0) {
    return std::nullopt;
  }
  return value;
}

milliseconds FromMs(double ms) {
  return milliseconds(static_cast<std::int64_t>(std::ceil(std::min(ms, kMaxHintMs))));
}

std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view value) {
  // RFC 9110: IMF-fixdate, then the two obsolete forms recipients must accept.
  static constexpr std::array<const char*, 3> kFormats = {
      "%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %d %H:%M:%S %Y"};
  const std::string text(value);
  for (const char* format : kFormats) {
    tm parts{};
    const char* end = strptime(text.c_str(), format, &parts);
    if (end == nullptr || *end != '\0') continue;
    const time_t seconds = timegm(&parts);
    if (seconds == static_cast<time_t>(-1)) continue;
    return std::chrono::system_clock::from_time_t(seconds);
  }
  return std::nullopt;
}

std::optional<std::int64_t> ParseCount(std::string_view s) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<std::string_view> Find(const HeaderMap& headers, std::string_view name) {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return Trim(it->second);
}

}  // namespace

std::optional<milliseconds> ParseRetryAfter(std::string_view value,
                                            std::chrono::system_clock::time_point now) {
  value = Trim(value);
  if (auto seconds = ParseNumber(value)) return FromMs(*seconds * 1000);
  auto date = ParseHttpDate(value);
  if (!date) return std::nullopt;
  if (*date <= now) return milliseconds(0);
  return FromMs(std::chrono::duration<double, std::milli>(*date - now).count());
}

std::optional<milliseconds> ParseResetDuration(std::string_view value) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (auto seconds = ParseNumber(value)) return FromMs(*seconds * 1000);
  // Longest unit names first so "ms" is not read as "m".
  static constexpr std::array<std::pair<std::string_view, double>, 7> kUnits = {
      {{"ns", 1e-6},
       {"us", 1e-3},
       {"\xC2\xB5s", 1e-3},
       {"ms", 1.0},
       {"s", 1e3},
       {"m", 60e3},
       {"h", 3600e3}}};
  double total_ms = 0;
  while (!value.empty()) {
    std::size_t digits = 0;
    while (digits < value.size() &&
           (std::isdigit(static_cast<unsigned char>(value[digits])) || value[digits] == '.')) {
      ++digits;
    }
    auto number = ParseNumber(value.substr(0, digits));
    if (!number) return std::nullopt;
    value.remove_prefix(digits);
    bool matched = false;
    for (const auto& [unit, factor] : kUnits) {
      if (!value.starts_with(unit)) continue;
      total_ms += *number * factor;
      value.remove_prefix(unit.size());
      matched = true;
      break;
    }
    if (!matched) return std::nullopt;
  }
  return FromMs(total_ms);
}

std::optional<milliseconds> ServerRetryDelay(const HeaderMap& headers, std::int64_t request_tokens,
                                             std::chrono::system_clock::time_point now) {
  std::optional<milliseconds> longest;
  auto consider = [&](std::optional<milliseconds> d) {
    if (d && (!longest || *d > *longest)) longest = d;
  };
  if (auto v = Find(headers, "retry-after-ms")) {
    if (auto ms = ParseNumber(*v)) consider(FromMs(*ms));
  }
  if (auto v = Find(headers, "retry-after")) consider(ParseRetryAfter(*v, now));
  if (auto v = Find(headers, "x-ratelimit-reset-requests")) {
    auto remaining = Find(headers, "x-ratelimit-remaining-requests");
    auto count = remaining ? ParseCount(*remaining) : std::nullopt;
    if (!count || *count <= 0) consider(ParseResetDuration(*v));
  }
  if (auto v = Find(headers, "x-ratelimit-reset-tokens")) {
    auto remaining = Find(headers, "x-ratelimit-remaining-tokens");
    auto count = remaining ? ParseCount(*remaining) : std::nullopt;
    if (!count || *count < request_tokens) consider(ParseResetDuration(*v));
  }
  return longest;
}

}  // namespace ragpdf::embed::remote
