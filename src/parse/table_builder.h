// Internal to parse/: the header and shape rules shared by the CSV/TSV and
// XLSX parsers. Thread-safety: one builder per parse.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/types.h"

namespace ragpdf::parse::internal {

struct TableLimits {
  std::size_t max_rows = 0;
  std::size_t max_columns = 0;
  std::size_t max_cells = 0;
};

// Rows go in one at a time; the first row with a non-empty cell is the header.
// Rows without any non-empty cell are skipped. Data rows wider than the header
// (ignoring trailing empty cells) add columns named column_<n>.
class TableBuilder {
 public:
  explicit TableBuilder(TableLimits limits) : limits_(limits) {}

  // kInvalidTable past the row or column limit.
  common::Result<void> AddRow(std::vector<std::string> cells);

  // The table with unique, non-empty header names and every row padded to
  // the header's width. kEmptyFile without a header or without data rows;
  // kInvalidTable past the cell limit.
  common::Result<common::Table> Finish();

 private:
  TableLimits limits_;
  bool has_header_ = false;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace ragpdf::parse::internal
