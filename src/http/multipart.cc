#include "http/multipart.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace ragpdf::http {

using common::ErrorCode;
using common::Fail;
using common::Result;

namespace {

constexpr std::string_view kCrlf = "\r\n";
// RFC 2046 allows 70; some clients go further, so allow a little slack.
constexpr std::size_t kMaxBoundaryBytes = 200;
// Whitespace allowed between a boundary and its CRLF (transport padding).
constexpr std::size_t kMaxBoundaryPadding = 256;

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A header value split into its main value (lower-cased) and parameters
// (names lower-cased, values unquoted).
struct HeaderValue {
  std::string value;
  std::vector<std::pair<std::string, std::string>> params;

  const std::string* Param(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

// Reads a quoted-string starting after its opening quote. Only \" and \\ are
// escapes: browsers do not escape backslashes in file names ("C:\dir\a.pdf").
std::string ReadQuoted(std::string_view s, std::size_t& i) {
  std::string out;
  while (i < s.size() && s[i] != '"') {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) ++i;
    out.push_back(s[i++]);
  }
  if (i < s.size()) ++i;  // closing quote
  return out;
}

HeaderValue ParseHeaderValue(std::string_view s) {
  HeaderValue out;
  std::size_t i = std::min(s.find(';'), s.size());
  out.value = Lower(Trim(s.substr(0, i)));
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ';' || IsSpace(s[i]))) ++i;
    std::size_t name_end = i;
    while (name_end < s.size() && s[name_end] != '=' && s[name_end] != ';') ++name_end;
    std::string name = Lower(Trim(s.substr(i, name_end - i)));
    i = name_end;
    std::string value;
    if (i < s.size() && s[i] == '=') {
      ++i;
      while (i < s.size() && IsSpace(s[i])) ++i;
      if (i < s.size() && s[i] == '"') {
        ++i;
        value = ReadQuoted(s, i);
      } else {
        std::size_t end = std::min(s.find(';', i), s.size());
        value = std::string(Trim(s.substr(i, end - i)));
        i = end;
      }
    }
    if (!name.empty()) out.params.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = HexValue(s[i + 1]);
    int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string Latin1ToUtf8(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

// RFC 5987 ext-value: charset'language'percent-encoded. nullopt when malformed
// or in a charset we do not know (the caller falls back to `filename`).
std::optional<std::string> DecodeExtValue(std::string_view s) {
  std::size_t q1 = s.find('\'');
  if (q1 == std::string_view::npos) return std::nullopt;
  std::size_t q2 = s.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return std::nullopt;
  std::string charset = Lower(s.substr(0, q1));
  auto decoded = PercentDecode(s.substr(q2 + 1));
  if (!decoded) return std::nullopt;
  if (charset == "utf-8") return decoded;
  if (charset == "iso-8859-1") return Latin1ToUtf8(*decoded);
  return std::nullopt;
}

}  // namespace

Result<std::string> MultipartBoundary(std::string_view content_type) {
  HeaderValue ct = ParseHeaderValue(content_type);
  if (ct.value != "multipart/form-data") {
    return Fail(ErrorCode::kBadRequest, "expected Content-Type multipart/form-data");
  }
  const std::string* boundary = ct.Param("boundary");
  if (!boundary || boundary->empty() || boundary->size() > kMaxBoundaryBytes ||
      boundary->find_first_of("\r\n") != std::string::npos) {
    return Fail(ErrorCode::kBadRequest, "multipart/form-data without a valid boundary");
  }
  return *boundary;
}

Result<PartInfo> ParsePartHeaders(std::string_view block) {
  PartInfo part;
  std::optional<HeaderValue> disposition;
  // Unfold obsolete continuation lines first so every header is one line.
  std::vector<std::string> lines;
  while (!block.empty()) {
    std::size_t end = std::min(block.find(kCrlf), block.size());
    std::string_view line = block.substr(0, end);
    block.remove_prefix(std::min(end + kCrlf.size(), block.size()));
    if (!line.empty() && IsSpace(line.front()) && !lines.empty()) {
      lines.back().append(" ").append(Trim(line));
    } else {
      lines.emplace_back(line);
    }
  }
  for (const std::string& line : lines) {
    std::size_t colon = line.find(':');
    if (colon == std::string::npos) {
      return Fail(ErrorCode::kBadRequest, "malformed multipart part header");
    }
    std::string name = Lower(Trim(std::string_view(line).substr(0, colon)));
    std::string_view value = Trim(std::string_view(line).substr(colon + 1));
    if (name == "content-disposition") {
      disposition = ParseHeaderValue(value);
    } else if (name == "content-type") {
      part.content_type = std::string(value);
    }
  }
  const std::string* field_name = disposition ? disposition->Param("name") : nullptr;
  if (!field_name) {
    return Fail(ErrorCode::kBadRequest, "multipart part without a Content-Disposition name");
  }
  part.name = *field_name;
  if (const std::string* ext = disposition->Param("filename*")) {
    part.filename = DecodeExtValue(*ext);
  }
  if (!part.filename) {
    if (const std::string* plain = disposition->Param("filename")) part.filename = *plain;
  }
  return part;
}

MultipartParser::MultipartParser(std::string_view boundary, MultipartHandler& handler,
                                 MultipartLimits limits)
    : delimiter_(std::string(kCrlf) + "--" + std::string(boundary)),
      searcher_(delimiter_.cbegin(), delimiter_.cend()),
      handler_(handler),
      limits_(limits),
      // The first boundary may open the body without a preceding CRLF.
      buf_(kCrlf) {}

Result<void> MultipartParser::Feed(std::string_view data) {
  if (state_ == State::kFailed) return Fail(error_);
  if (state_ == State::kEpilogue) return {};
  buf_.append(data);
  auto processed = Process();
  if (!processed) {
    state_ = State::kFailed;
    error_ = processed.error();
    buf_.clear();
  }
  return processed;
}

Result<void> MultipartParser::Finish() {
  if (state_ == State::kFailed) return Fail(error_);
  if (state_ != State::kEpilogue) {
    state_ = State::kFailed;
    error_ = {ErrorCode::kBadRequest, "multipart body ended before its closing boundary"};
    return Fail(error_);
  }
  return {};
}

Result<void> MultipartParser::Process() {
  pos_ = 0;
  for (bool more = true; more;) {
    Result<bool> step = true;
    switch (state_) {
      case State::kPreamble:
      case State::kBody:
        step = StepScan();
        break;
      case State::kBoundaryLine:
        step = StepBoundaryLine();
        break;
      case State::kHeaders:
        step = StepHeaders();
        break;
      case State::kEpilogue:
      case State::kFailed:
        step = false;
        break;
    }
    if (!step) return Fail(step.error());
    more = *step;
  }
  buf_.erase(0, pos_);
  if (state_ == State::kEpilogue) buf_.clear();
  return {};
}

// Preamble or part data: look for the next delimiter. Bytes that cannot be
// the start of a delimiter are passed on (part data) or dropped (preamble).
Result<bool> MultipartParser::StepScan() {
  const bool in_body = state_ == State::kBody;
  auto begin = buf_.cbegin() + static_cast<std::ptrdiff_t>(pos_);
  auto hit = std::search(begin, buf_.cend(), searcher_);
  if (hit == buf_.cend()) {
    std::size_t keep = std::min(delimiter_.size() - 1, buf_.size() - pos_);
    std::size_t safe_end = buf_.size() - keep;
    if (in_body && safe_end > pos_) {
      auto sent = handler_.OnPartData(std::string_view(buf_).substr(pos_, safe_end - pos_));
      if (!sent) return Fail(sent.error());
    }
    pos_ = safe_end;
    return false;
  }
  std::size_t at = static_cast<std::size_t>(hit - buf_.cbegin());
  if (in_body) {
    if (at > pos_) {
      auto sent = handler_.OnPartData(std::string_view(buf_).substr(pos_, at - pos_));
      if (!sent) return Fail(sent.error());
    }
    auto ended = handler_.OnPartEnd();
    if (!ended) return Fail(ended.error());
  }
  pos_ = at + delimiter_.size();
  state_ = State::kBoundaryLine;
  return true;
}

// After a delimiter: "--" closes the body; otherwise optional padding + CRLF.
Result<bool> MultipartParser::StepBoundaryLine() {
  std::string_view rest = std::string_view(buf_).substr(pos_);
  if (rest.size() < 2) return false;
  if (rest.starts_with("--")) {
    state_ = State::kEpilogue;
    pos_ = buf_.size();
    return false;
  }
  std::size_t crlf = rest.find(kCrlf);
  std::string_view padding = rest.substr(0, std::min(crlf, rest.size()));
  if (crlf == std::string_view::npos && padding.ends_with('\r')) padding.remove_suffix(1);
  if (!std::all_of(padding.begin(), padding.end(), IsSpace)) {
    return Fail(ErrorCode::kBadRequest, "malformed multipart boundary line");
  }
  if (crlf == std::string_view::npos) {
    if (rest.size() > kMaxBoundaryPadding) {
      return Fail(ErrorCode::kBadRequest, "malformed multipart boundary line");
    }
    return false;
  }
  if (++parts_ > limits_.max_parts) {
    return Fail(ErrorCode::kPayloadTooLarge,
                "too many multipart parts (limit " + std::to_string(limits_.max_parts) + ")");
  }
  pos_ += crlf + kCrlf.size();
  state_ = State::kHeaders;
  return true;
}

Result<bool> MultipartParser::StepHeaders() {
  std::string_view rest = std::string_view(buf_).substr(pos_);
  std::size_t block_size = 0;
  std::size_t consumed = 0;
  if (rest.starts_with(kCrlf)) {  // no headers at all
    consumed = kCrlf.size();
  } else {
    std::size_t end = rest.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (rest.size() < kCrlf.size() || rest.size() <= limits_.max_header_bytes) return false;
      end = rest.size();
    }
    if (end > limits_.max_header_bytes) {
      return Fail(ErrorCode::kPayloadTooLarge, "multipart part headers too large (limit " +
                                                   std::to_string(limits_.max_header_bytes) +
                                                   " bytes)");
    }
    block_size = end;
    consumed = end + 4;
  }
  auto part = ParsePartHeaders(rest.substr(0, block_size));
  if (!part) return Fail(part.error());
  pos_ += consumed;
  auto begun = handler_.OnPartBegin(*part);
  if (!begun) return Fail(begun.error());
  state_ = State::kBody;
  return true;
}

}  // namespace ragpdf::http
