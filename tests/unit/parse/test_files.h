// Test helpers for parse/: a scratch directory and generators for small PDF
// and XLSX fixtures built in the tests themselves.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ragpdf::parse::testing {

// A fresh directory under the gtest temp dir, removed on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `bytes` to `name` inside the directory and returns its path.
  std::filesystem::path Write(std::string_view name, std::string_view bytes) const;
  // Writes an executable shell script.
  std::filesystem::path WriteScript(std::string_view name, std::string_view body) const;

 private:
  std::filesystem::path path_;
};

// A content stream that draws each line with Helvetica (WinAnsi), top-down.
// Lines are Latin-1 bytes; parentheses and backslashes are escaped.
std::string TextContent(const std::vector<std::string>& lines);

// A valid PDF with one page per content stream, correct xref offsets.
std::string MakePdf(const std::vector<std::string>& page_contents);

// Writes a zip archive with the given entries (name -> bytes).
void WriteZip(const std::filesystem::path& path, const std::map<std::string, std::string>& entries);

// The parts of a minimal XLSX whose only worksheet (sheet1.xml) has
// `sheet_data` as the inner XML of <sheetData>, with the given shared strings
// (inner XML of <sst>, may be empty).
std::map<std::string, std::string> XlsxParts(std::string_view sheet_data,
                                             std::string_view shared_strings);

}  // namespace ragpdf::parse::testing
