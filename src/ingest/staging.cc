#include "ingest/staging.h"

#include <system_error>

namespace ragpdf::ingest {

namespace fs = std::filesystem;
using common::ErrorCode;
using common::Fail;

common::Result<fs::path> Staging::Stage(const fs::path& temp, const std::string& file_id,
                                        const std::string& holder) const {
  std::error_code ec;
  const fs::path dir = root_ / file_id;
  fs::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kBlobError, "cannot create " + dir.string() + ": " + ec.message());
  const fs::path dest = dir / holder;
  fs::rename(temp, dest, ec);
  if (!ec) return dest;
  // Different filesystems: copy, then drop the temporary file.
  fs::copy_file(temp, dest, fs::copy_options::overwrite_existing, ec);
  if (ec) return Fail(ErrorCode::kBlobError, "cannot stage " + temp.string() + ": " + ec.message());
  fs::remove(temp, ec);
  return dest;
}

std::optional<fs::path> Staging::Find(const std::string& file_id) const {
  std::error_code ec;
  for (fs::directory_iterator it(root_ / file_id, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) return it->path();
  }
  return std::nullopt;
}

void Staging::Remove(const fs::path& staged) const {
  std::error_code ec;
  fs::remove(staged, ec);
  fs::remove(staged.parent_path(), ec);  // fails harmlessly while not empty
}

void Staging::RemoveAll(const std::string& file_id) const {
  std::error_code ec;
  fs::remove_all(root_ / file_id, ec);
}

}  // namespace ragpdf::ingest
