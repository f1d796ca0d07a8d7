// VectorCache: keeps recently searched (file, model) vector sets in memory,
// bounded by bytes, least recently used evicted first. A file's vectors never
// change once committed (ids are content hashes), so entries stay valid; a
// deleted file's entry is dropped by Erase() or simply ages out.
//
// Thread-safety: safe for concurrent use. Ownership: entries are shared_ptr;
// a searcher keeps its copy alive while using it even if evicted.
#pragma once

#include <cstddef>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "store/metadata_store.h"

namespace ragpdf::query {

class VectorCache {
 public:
  explicit VectorCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  std::shared_ptr<const store::VectorSet> Get(const std::string& file_id, const std::string& model);
  void Put(std::shared_ptr<const store::VectorSet> set);
  void Erase(const std::string& file_id);
  std::size_t bytes() const;

 private:
  using Key = std::pair<std::string, std::string>;
  struct Entry {
    std::shared_ptr<const store::VectorSet> set;
    std::list<Key>::iterator lru;
  };
  void EvictLocked();

  mutable std::mutex mu_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::list<Key> lru_;  // front: most recent
  std::map<Key, Entry> entries_;
};

}  // namespace ragpdf::query
