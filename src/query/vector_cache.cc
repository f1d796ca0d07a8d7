#include "query/vector_cache.h"

namespace ragpdf::query {

namespace {
std::size_t SizeOf(const store::VectorSet& s) { return s.data.size() * sizeof(float); }
}  // namespace

std::shared_ptr<const store::VectorSet> VectorCache::Get(const std::string& file_id,
                                                         const std::string& model) {
  std::lock_guard lock(mu_);
  auto it = entries_.find({file_id, model});
  if (it == entries_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.set;
}

void VectorCache::Put(std::shared_ptr<const store::VectorSet> set) {
  std::lock_guard lock(mu_);
  Key key{set->file_id, set->model};
  if (auto it = entries_.find(key); it != entries_.end()) {
    bytes_ -= SizeOf(*it->second.set);
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  lru_.push_front(key);
  bytes_ += SizeOf(*set);
  entries_.emplace(std::move(key), Entry{std::move(set), lru_.begin()});
  EvictLocked();
}

void VectorCache::Erase(const std::string& file_id) {
  std::lock_guard lock(mu_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->first.first == file_id) {
      bytes_ -= SizeOf(*it->second.set);
      lru_.erase(it->second.lru);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t VectorCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

void VectorCache::EvictLocked() {
  // Keep at least the newest entry even if it alone is over the budget.
  while (bytes_ > max_bytes_ && lru_.size() > 1) {
    auto it = entries_.find(lru_.back());
    bytes_ -= SizeOf(*it->second.set);
    entries_.erase(it);
    lru_.pop_back();
  }
}

}  // namespace ragpdf::query
