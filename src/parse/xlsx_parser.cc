#include <zip.h>

#include <charconv>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <pugixml.hpp>

#include "parse/parser.h"
#include "parse/table_builder.h"
#include "parse/text_decode.h"

namespace ragpdf::parse {
namespace {

using common::ErrorCode;
using common::Fail;

constexpr std::string_view kDefaultSheet = "xl/worksheets/sheet1.xml";
constexpr std::string_view kDefaultSharedStrings = "xl/sharedStrings.xml";

struct ZipDiscard {
  void operator()(zip_t* zip) const { zip_discard(zip); }
};
struct ZipFileClose {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

// Read-only access to the package's parts under an inflation budget: both
// the sizes the central directory declares and the bytes actually inflated
// are capped, so a zip bomb fails fast with kInvalidTable.
class Package {
 public:
  static common::Result<Package> Open(const std::filesystem::path& path, std::uint64_t budget) {
    int error_code = 0;
    std::unique_ptr<zip_t, ZipDiscard> zip(zip_open(path.c_str(), ZIP_RDONLY, &error_code));
    if (!zip) {
      zip_error_t error;
      zip_error_init_with_code(&error, error_code);
      std::string message = std::string("not an XLSX (zip) file: ") + zip_error_strerror(&error);
      zip_error_fini(&error);
      return Fail(ErrorCode::kInvalidTable, std::move(message));
    }
    const zip_int64_t entries = zip_get_num_entries(zip.get(), 0);
    std::uint64_t declared = 0;
    for (zip_int64_t i = 0; i < entries; ++i) {
      zip_stat_t stat;
      if (zip_stat_index(zip.get(), static_cast<zip_uint64_t>(i), 0, &stat) == 0 &&
          (stat.valid & ZIP_STAT_SIZE)) {
        declared += stat.size;
      }
      if (declared > budget) {
        return Fail(ErrorCode::kInvalidTable, "XLSX uncompressed size is over the limit of " +
                                                  std::to_string(budget) + " bytes");
      }
    }
    return Package(std::move(zip), budget);
  }

  // The part's bytes; nullopt when the part does not exist.
  common::Result<std::optional<std::string>> Read(std::string_view name) {
    const zip_int64_t index = zip_name_locate(zip_.get(), std::string(name).c_str(), 0);
    if (index < 0) return std::optional<std::string>();
    std::unique_ptr<zip_file_t, ZipFileClose> file(
        zip_fopen_index(zip_.get(), static_cast<zip_uint64_t>(index), 0));
    if (!file) {
      return Fail(ErrorCode::kInvalidTable,
                  "cannot open " + std::string(name) + ": " + zip_strerror(zip_.get()));
    }
    std::string bytes;
    char buf[1 << 16];
    for (;;) {
      const zip_int64_t n = zip_fread(file.get(), buf, sizeof buf);
      if (n < 0) {
        return Fail(ErrorCode::kInvalidTable,
                    "cannot read " + std::string(name) + ": " + zip_file_strerror(file.get()));
      }
      if (n == 0) break;
      if (static_cast<std::uint64_t>(n) > budget_) {
        return Fail(ErrorCode::kInvalidTable, "XLSX inflates past the limit (zip bomb?)");
      }
      budget_ -= static_cast<std::uint64_t>(n);
      bytes.append(buf, static_cast<std::size_t>(n));
    }
    return std::optional<std::string>(std::move(bytes));
  }

 private:
  Package(std::unique_ptr<zip_t, ZipDiscard> zip, std::uint64_t budget)
      : zip_(std::move(zip)), budget_(budget) {}

  std::unique_ptr<zip_t, ZipDiscard> zip_;
  std::uint64_t budget_;
};

// Element and attribute names compared without their namespace prefix
// ("x:row" and "row" are the same element).
std::string_view LocalName(const char* qualified) {
  std::string_view name(qualified);
  const std::size_t colon = name.find(':');
  return colon == name.npos ? name : name.substr(colon + 1);
}

pugi::xml_node Child(const pugi::xml_node& node, std::string_view local) {
  for (pugi::xml_node child : node.children()) {
    if (child.type() == pugi::node_element && LocalName(child.name()) == local) return child;
  }
  return {};
}

std::string_view Attribute(const pugi::xml_node& node, std::string_view local) {
  for (pugi::xml_attribute attribute : node.attributes()) {
    if (LocalName(attribute.name()) == local) return attribute.value();
  }
  return {};
}

common::Result<std::optional<pugi::xml_document>> ReadXml(Package& package, std::string_view name) {
  auto bytes = package.Read(name);
  if (!bytes) return Fail(bytes.error());
  if (!*bytes) return std::optional<pugi::xml_document>();
  std::optional<pugi::xml_document> doc(std::in_place);
  const pugi::xml_parse_result parsed = doc->load_buffer(
      (*bytes)->data(), (*bytes)->size(), pugi::parse_default | pugi::parse_ws_pcdata_single);
  if (!parsed) {
    return Fail(ErrorCode::kInvalidTable,
                "bad XML in " + std::string(name) + ": " + parsed.description());
  }
  return doc;
}

// "worksheets/sheet1.xml" is relative to xl/; "/xl/..." is package-absolute.
std::string ResolveTarget(std::string_view target) {
  if (target.starts_with('/')) return std::string(target.substr(1));
  return "xl/" + std::string(target);
}

struct PartNames {
  std::string sheet{kDefaultSheet};
  std::string shared_strings{kDefaultSharedStrings};
};

// The first worksheet and the shared strings, from workbook.xml and its
// relationships; the conventional names when those are missing.
common::Result<PartNames> FindParts(Package& package) {
  PartNames names;
  auto workbook = ReadXml(package, "xl/workbook.xml");
  if (!workbook) return Fail(workbook.error());
  auto rels = ReadXml(package, "xl/_rels/workbook.xml.rels");
  if (!rels) return Fail(rels.error());
  if (!*rels) return names;
  std::string_view sheet_id;
  if (*workbook) {
    pugi::xml_node sheet = Child(Child(Child(**workbook, "workbook"), "sheets"), "sheet");
    sheet_id = Attribute(sheet, "id");
  }
  for (pugi::xml_node rel : Child(**rels, "Relationships").children()) {
    if (LocalName(rel.name()) != "Relationship") continue;
    const std::string_view type = Attribute(rel, "Type");
    if (!sheet_id.empty() && Attribute(rel, "Id") == sheet_id) {
      names.sheet = ResolveTarget(Attribute(rel, "Target"));
    } else if (type.ends_with("/sharedStrings")) {
      names.shared_strings = ResolveTarget(Attribute(rel, "Target"));
    }
  }
  return names;
}

// Text of a shared-string item or inline string: plain <t> or rich-text runs
// <r><t>; phonetic hints (<rPh>) are not part of the value.
std::string StringItemText(const pugi::xml_node& item) {
  std::string text;
  for (pugi::xml_node child : item.children()) {
    const std::string_view name = LocalName(child.name());
    if (name == "t") {
      text += child.child_value();
    } else if (name == "r") {
      text += Child(child, "t").child_value();
    }
  }
  return text;
}

common::Result<std::vector<std::string>> ReadSharedStrings(Package& package,
                                                           const std::string& name) {
  auto doc = ReadXml(package, name);
  if (!doc) return Fail(doc.error());
  std::vector<std::string> strings;
  if (!*doc) return strings;
  for (pugi::xml_node item : Child(**doc, "sst").children()) {
    if (LocalName(item.name()) == "si") strings.push_back(StringItemText(item));
  }
  return strings;
}

// Zero-based column of a cell reference such as "C7"; nullopt when malformed.
std::optional<std::size_t> ColumnOf(std::string_view ref) {
  std::size_t column = 0;
  std::size_t letters = 0;
  for (char c : ref) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c < 'A' || c > 'Z') break;
    column = column * 26 + static_cast<std::size_t>(c - 'A' + 1);
    if (++letters > 3) return std::nullopt;  // past XFD, Excel's last column
  }
  if (letters == 0) return std::nullopt;
  return column - 1;
}

std::string CellValue(const pugi::xml_node& cell, const std::vector<std::string>& shared) {
  const std::string_view type = Attribute(cell, "t");
  const std::string_view value = Child(cell, "v").child_value();
  if (type == "s") {
    std::size_t index = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), index);
    return ec == std::errc() && index < shared.size() ? shared[index] : std::string();
  }
  if (type == "inlineStr") return StringItemText(Child(cell, "is"));
  if (type == "b") return value.empty() ? std::string() : value == "0" ? "FALSE" : "TRUE";
  return std::string(value);  // numbers as written, formula strings, errors, ISO dates
}

bool IsBlank(std::string_view cell) { return cell.find_first_not_of(" \t\r\n") == cell.npos; }

common::Result<common::Table> ReadSheet(const pugi::xml_node& sheet_data,
                                        const std::vector<std::string>& shared,
                                        const ParseOptions& options) {
  internal::TableBuilder builder(
      {options.max_table_rows, options.max_table_columns, options.max_table_cells});
  for (pugi::xml_node row : sheet_data.children()) {
    if (LocalName(row.name()) != "row") continue;
    std::vector<std::string> cells;
    std::size_t next_column = 0;
    for (pugi::xml_node cell : row.children()) {
      if (LocalName(cell.name()) != "c") continue;
      const std::size_t column = ColumnOf(Attribute(cell, "r")).value_or(next_column);
      next_column = column + 1;
      std::string raw = CellValue(cell, shared);
      if (column >= options.max_table_columns) {
        if (IsBlank(raw)) continue;
        return Fail(ErrorCode::kInvalidTable,
                    "cell past the column limit of " + std::to_string(options.max_table_columns));
      }
      if (cells.size() <= column) cells.resize(column + 1);
      cells[column].clear();
      internal::AppendRepairedUtf8(raw, cells[column]);
    }
    auto added = builder.AddRow(std::move(cells));
    if (!added) return Fail(added.error());
  }
  return builder.Finish();
}

}  // namespace

common::Result<common::ParsedFile> ParseXlsx(const std::filesystem::path& path,
                                             const ParseOptions& options) {
  try {
    std::error_code ec;
    if (std::filesystem::file_size(path, ec) == 0 && !ec) {
      return Fail(ErrorCode::kEmptyFile, "file is empty");
    }
    auto package = Package::Open(path, options.max_xlsx_uncompressed_bytes);
    if (!package) return Fail(package.error());
    auto parts = FindParts(*package);
    if (!parts) return Fail(parts.error());
    auto shared = ReadSharedStrings(*package, parts->shared_strings);
    if (!shared) return Fail(shared.error());
    auto sheet = ReadXml(*package, parts->sheet);
    if (!sheet) return Fail(sheet.error());
    if (!*sheet) return Fail(ErrorCode::kInvalidTable, "XLSX has no worksheet " + parts->sheet);
    pugi::xml_node sheet_data = Child(Child(**sheet, "worksheet"), "sheetData");
    if (!sheet_data) return Fail(ErrorCode::kInvalidTable, "worksheet has no sheetData");
    auto table = ReadSheet(sheet_data, *shared, options);
    if (!table) return Fail(table.error());
    common::ParsedFile parsed;
    parsed.format = common::FileFormat::kXlsx;
    parsed.page_count = 1;
    parsed.table = std::move(*table);
    return parsed;
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kParseFailed, "out of memory while reading XLSX");
  }
}

}  // namespace ragpdf::parse
