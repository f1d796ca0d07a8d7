// Blob store key layout, in one place.
#pragma once

#include <string>
#include <string_view>

namespace ragpdf::ingest {

inline constexpr std::string_view kTaskCopyRaw = "copy_raw";
inline constexpr std::string_view kTaskExportEmbeddings = "export_embeddings";

// raw/<file_id>
std::string RawKey(const std::string& file_id);
// embeddings/<file_id>/
std::string EmbeddingsPrefix(const std::string& file_id);
// embeddings/<file_id>/<model, with characters outside [A-Za-z0-9._-] as '_'>.f32
std::string EmbeddingsKey(const std::string& file_id, const std::string& model);

}  // namespace ragpdf::ingest
