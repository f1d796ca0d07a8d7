#include "ingest/blob_keys.h"

namespace ragpdf::ingest {

std::string RawKey(const std::string& file_id) { return "raw/" + file_id; }

std::string EmbeddingsPrefix(const std::string& file_id) { return "embeddings/" + file_id + "/"; }

std::string EmbeddingsKey(const std::string& file_id, const std::string& model) {
  std::string safe = model;
  for (char& c : safe) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return EmbeddingsPrefix(file_id) + safe + ".f32";
}

}  // namespace ragpdf::ingest
