#include <csv.h>

#include <algorithm>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "parse/parser.h"
#include "parse/table_builder.h"
#include "parse/text_decode.h"

namespace ragpdf::parse {
namespace {

using common::ErrorCode;
using common::Fail;

constexpr std::size_t kFeedBytes = 1 << 20;

struct CsvState {
  internal::TableBuilder builder;
  std::size_t max_columns = 0;
  std::vector<std::string> row;
  std::size_t row_width = 0;  // fields seen in `row`, stored or not
  std::optional<common::Error> error;
};

// Short enough for the small-string buffer: assigning it cannot throw.
common::Error OutOfMemory() { return {ErrorCode::kParseFailed, "out of memory"}; }

// libcsv callbacks: C frames, so nothing may propagate out of them.
void OnField(void* data, std::size_t len, void* opaque) noexcept {
  auto* state = static_cast<CsvState*>(opaque);
  if (state->error) return;
  std::string_view field(static_cast<const char*>(data), data ? len : 0);
  try {
    // Only a row's first max_columns fields are kept, so one huge line of
    // delimiters cannot allocate millions of cells; a non-empty field past
    // the limit fails the table.
    if (state->row_width++ < state->max_columns) {
      state->row.emplace_back(field);
    } else if (field.find_first_not_of(" \t\n") != field.npos) {
      state->error =
          common::Error{ErrorCode::kInvalidTable,
                        "row has more than " + std::to_string(state->max_columns) + " columns"};
    }
  } catch (const std::bad_alloc&) {
    state->error = OutOfMemory();
  }
}

void OnRowEnd(int /*terminator*/, void* opaque) noexcept {
  auto* state = static_cast<CsvState*>(opaque);
  state->row_width = 0;
  if (state->error) return;
  try {
    auto added = state->builder.AddRow(std::exchange(state->row, {}));
    if (!added) state->error = added.error();
  } catch (const std::bad_alloc&) {
    state->error = OutOfMemory();
  }
}

// Spaces around unquoted fields are trimmed, but never the delimiter itself.
int IsSpace(unsigned char c) { return c == ' ' ? 1 : 0; }

struct CsvParserDeleter {
  void operator()(csv_parser* p) const {
    csv_free(p);
    delete p;
  }
};

}  // namespace

common::Result<common::ParsedFile> ParseDelimited(const std::filesystem::path& path, char delimiter,
                                                  const ParseOptions& options) {
  try {
    auto text = internal::ReadTextFile(path, options.max_text_bytes);
    if (!text) return Fail(text.error());

    std::unique_ptr<csv_parser, CsvParserDeleter> parser(new csv_parser{});
    if (csv_init(parser.get(), 0) != 0) return Fail(ErrorCode::kParseFailed, "csv_init failed");
    csv_set_delim(parser.get(), static_cast<unsigned char>(delimiter));
    csv_set_space_func(parser.get(), IsSpace);

    CsvState state{internal::TableBuilder({options.max_table_rows, options.max_table_columns,
                                           options.max_table_cells}),
                   options.max_table_columns};
    for (std::size_t pos = 0; pos < text->size() && !state.error; pos += kFeedBytes) {
      const std::size_t len = std::min(kFeedBytes, text->size() - pos);
      if (csv_parse(parser.get(), text->data() + pos, len, OnField, OnRowEnd, &state) != len) {
        return Fail(ErrorCode::kInvalidTable,
                    std::string("CSV parse error: ") + csv_strerror(csv_error(parser.get())));
      }
    }
    if (!state.error) csv_fini(parser.get(), OnField, OnRowEnd, &state);
    if (state.error) return Fail(*state.error);

    auto table = state.builder.Finish();
    if (!table) return Fail(table.error());
    common::ParsedFile parsed;
    parsed.format = delimiter == '\t' ? common::FileFormat::kTsv : common::FileFormat::kCsv;
    parsed.page_count = 1;
    parsed.table = std::move(*table);
    return parsed;
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kParseFailed, "out of memory while reading table");
  }
}

}  // namespace ragpdf::parse
