#include "test_files.h"

#include <unistd.h>
#include <zip.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include <gtest/gtest.h>

namespace ragpdf::parse::testing {

ScratchDir::ScratchDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::path(::testing::TempDir()) /
          ("parse_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path ScratchDir::Write(std::string_view name, std::string_view bytes) const {
  const std::filesystem::path file = path_ / name;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
  return file;
}

std::filesystem::path ScratchDir::WriteScript(std::string_view name, std::string_view body) const {
  const std::filesystem::path file = Write(name, "#!/bin/sh\n" + std::string(body) + "\n");
  std::filesystem::permissions(file, std::filesystem::perms::owner_all);
  return file;
}

namespace {

std::string EscapePdfString(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '(' || c == ')' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string TextContent(const std::vector<std::string>& lines) {
  std::string content = "BT /F1 14 Tf 16 TL 72 720 Td\n";
  for (const std::string& line : lines) {
    content += '(';
    content += EscapePdfString(line);
    content += ") Tj T*\n";
  }
  return content + "ET\n";
}

std::string MakePdf(const std::vector<std::string>& page_contents) {
  // Objects: 1 catalog, 2 pages, 3 font, then per page: page, contents.
  std::vector<std::string> objects;
  std::string kids;
  for (std::size_t i = 0; i < page_contents.size(); ++i) {
    kids += std::to_string(4 + 2 * i) + " 0 R ";
  }
  objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
  objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " +
                    std::to_string(page_contents.size()) + " >>");
  objects.push_back(
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  for (std::size_t i = 0; i < page_contents.size(); ++i) {
    objects.push_back(
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 3 0 R >> >> /Contents " +
        std::to_string(5 + 2 * i) + " 0 R >>");
    objects.push_back("<< /Length " + std::to_string(page_contents[i].size()) + " >>\nstream\n" +
                      page_contents[i] + "\nendstream");
  }
  std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const std::size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (std::size_t offset : offsets) {
    char entry[32];
    std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", offset);
    pdf += entry;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) +
         " /Root 1 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

void WriteZip(const std::filesystem::path& path,
              const std::map<std::string, std::string>& entries) {
  int error = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!zip) throw std::runtime_error("zip_open failed");
  for (const auto& [name, bytes] : entries) {
    // The map outlives zip_close(), so the buffers stay valid.
    zip_source_t* source = zip_source_buffer(zip, bytes.data(), bytes.size(), 0);
    if (!source || zip_file_add(zip, name.c_str(), source, ZIP_FL_OVERWRITE) < 0) {
      zip_source_free(source);
      zip_discard(zip);
      throw std::runtime_error("zip_file_add failed");
    }
  }
  if (zip_close(zip) != 0) {
    zip_discard(zip);
    throw std::runtime_error("zip_close failed");
  }
}

std::map<std::string, std::string> XlsxParts(std::string_view sheet_data,
                                             std::string_view shared_strings) {
  const std::string xml = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)";
  const std::string main_ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
  const std::string rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
  std::map<std::string, std::string> parts;
  parts["[Content_Types].xml"] =
      xml +
      R"(<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">)"
      R"(<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>)"
      R"(<Default Extension="xml" ContentType="application/xml"/>)"
      R"(<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>)"
      R"(<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>)"
      R"(<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>)"
      R"(</Types>)";
  parts["_rels/.rels"] =
      xml +
      R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
      R"(<Relationship Id="rId1" Type=")" +
      rel_ns + R"(/officeDocument" Target="xl/workbook.xml"/></Relationships>)";
  parts["xl/workbook.xml"] = xml + R"(<workbook xmlns=")" + main_ns + R"(" xmlns:r=")" + rel_ns +
                             R"("><sheets><sheet name="Data" sheetId="1" r:id="rId1"/>)"
                             R"(</sheets></workbook>)";
  parts["xl/_rels/workbook.xml.rels"] =
      xml +
      R"(<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)"
      R"(<Relationship Id="rId1" Type=")" +
      rel_ns +
      R"(/worksheet" Target="worksheets/sheet1.xml"/>)"
      R"(<Relationship Id="rId2" Type=")" +
      rel_ns + R"(/sharedStrings" Target="sharedStrings.xml"/></Relationships>)";
  parts["xl/worksheets/sheet1.xml"] = xml + R"(<worksheet xmlns=")" + main_ns + R"("><sheetData>)" +
                                      std::string(sheet_data) + "</sheetData></worksheet>";
  parts["xl/sharedStrings.xml"] =
      xml + R"(<sst xmlns=")" + main_ns + R"(">)" + std::string(shared_strings) + "</sst>";
  return parts;
}

}  // namespace ragpdf::parse::testing
