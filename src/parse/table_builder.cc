#include "parse/table_builder.h"

#include <string_view>
#include <unordered_set>
#include <utility>

namespace ragpdf::parse::internal {
namespace {

using common::ErrorCode;
using common::Fail;

constexpr std::string_view kBlank = " \t\n\r\f\v";

bool IsBlank(std::string_view cell) { return cell.find_first_not_of(kBlank) == cell.npos; }

std::string Trim(std::string_view s) {
  const std::size_t begin = s.find_first_not_of(kBlank);
  if (begin == s.npos) return {};
  return std::string(s.substr(begin, s.find_last_not_of(kBlank) - begin + 1));
}

// Width ignoring trailing blank cells (a trailing delimiter is not a column).
std::size_t UsedWidth(const std::vector<std::string>& cells) {
  std::size_t width = cells.size();
  while (width > 0 && IsBlank(cells[width - 1])) --width;
  return width;
}

// Empty names become column_<n> (1-based); repeats get _2, _3, ...
std::vector<std::string> UniqueHeader(const std::vector<std::string>& raw) {
  std::vector<std::string> header;
  header.reserve(raw.size());
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::string base = Trim(raw[i]);
    if (base.empty()) base = "column_" + std::to_string(i + 1);
    std::string name = base;
    for (int suffix = 2; !seen.insert(name).second; ++suffix) {
      name = base + "_" + std::to_string(suffix);
    }
    header.push_back(std::move(name));
  }
  return header;
}

}  // namespace

common::Result<void> TableBuilder::AddRow(std::vector<std::string> cells) {
  const std::size_t width = UsedWidth(cells);
  if (width == 0) return {};
  if (width > limits_.max_columns) {
    return Fail(ErrorCode::kInvalidTable, "row has " + std::to_string(width) +
                                              " columns, over the limit of " +
                                              std::to_string(limits_.max_columns));
  }
  cells.resize(width);
  if (!has_header_) {
    header_ = std::move(cells);
    has_header_ = true;
    return {};
  }
  if (rows_.size() >= limits_.max_rows) {
    return Fail(ErrorCode::kInvalidTable,
                "table has more than " + std::to_string(limits_.max_rows) + " rows");
  }
  if (width > header_.size()) header_.resize(width);
  rows_.push_back(std::move(cells));
  return {};
}

common::Result<common::Table> TableBuilder::Finish() {
  if (!has_header_) return Fail(ErrorCode::kEmptyFile, "table has no header row");
  if (rows_.empty()) return Fail(ErrorCode::kEmptyFile, "table has a header but no data rows");
  if (header_.size() * rows_.size() > limits_.max_cells) {
    return Fail(ErrorCode::kInvalidTable,
                "table has more than " + std::to_string(limits_.max_cells) + " cells");
  }
  common::Table table;
  table.header = UniqueHeader(header_);
  for (auto& row : rows_) row.resize(table.header.size());
  table.rows = std::move(rows_);
  return table;
}

}  // namespace ragpdf::parse::internal
