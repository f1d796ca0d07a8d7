#include "query/store_searcher.h"

#include <algorithm>
#include <map>

#include "common/async.h"
#include "common/hash.h"
#include "common/status.h"
#include "embed/vector_ops.h"

namespace ragpdf::query {

namespace asio = boost::asio;
using common::ErrorCode;
using common::Fail;
using common::Result;

std::optional<SearchMode> ParseSearchMode(std::string_view name) {
  if (name == "vector") return SearchMode::kVector;
  if (name == "keyword") return SearchMode::kKeyword;
  if (name == "hybrid" || name.empty()) return SearchMode::kHybrid;
  return std::nullopt;
}

StoreSearcher::StoreSearcher(asio::thread_pool::executor_type db_pool,
                             asio::thread_pool::executor_type cpu_pool, store::MetadataStore& store,
                             const embed::EmbedderRegistry& models, SearcherOptions options)
    : db_pool_(db_pool),
      cpu_pool_(cpu_pool),
      store_(store),
      models_(models),
      options_(options),
      cache_(options.cache_bytes) {}

namespace {

Result<void> Validate(const NeighborsRequest& r, const SearcherOptions& o) {
  if (r.text.empty()) return Fail(ErrorCode::kBadRequest, "text must not be empty");
  if (r.text.size() > o.max_text_bytes) {
    return Fail(ErrorCode::kPayloadTooLarge, "text is longer than the query limit");
  }
  if (r.n_neighbors < 1 || r.n_neighbors > o.max_neighbors) {
    return Fail(ErrorCode::kBadRequest,
                "n_neighbors must be between 1 and " + std::to_string(o.max_neighbors));
  }
  if (r.file_ids.empty()) return Fail(ErrorCode::kMissingField, "file_id or file_ids is required");
  if (r.file_ids.size() > o.max_files) {
    return Fail(ErrorCode::kBadRequest, "too many file ids in one query");
  }
  for (const auto& id : r.file_ids) {
    if (!common::IsFileId(id)) return Fail(ErrorCode::kBadRequest, "malformed file id: " + id);
  }
  return {};
}

}  // namespace

asio::awaitable<Result<NeighborsResponse>> StoreSearcher::Neighbors(NeighborsRequest request) {
  if (auto ok = Validate(request, options_); !ok) co_return Fail(ok.error());
  auto embedder = models_.Resolve(request.model_choice);
  if (!embedder) co_return Fail(embedder.error());
  const std::string model = (*embedder)->info().name;

  // Only files whose index is fully committed are searched.
  struct Split {
    std::vector<std::string> searchable, skipped;
  };
  auto split = co_await common::Offload(
      db_pool_, [this, &ids = request.file_ids, &model]() -> Result<Split> {
        Split s;
        for (const auto& id : ids) {
          if (std::find(s.searchable.begin(), s.searchable.end(), id) != s.searchable.end())
            continue;
          auto state = store_.GetState(id, model);
          if (!state) return Fail(state.error());
          (*state && common::CanChat((*state)->status) ? s.searchable : s.skipped).push_back(id);
        }
        return s;
      });
  if (!split) co_return Fail(split.error());

  NeighborsResponse response{.model = model, .skipped_file_ids = split->skipped};
  if (split->searchable.empty()) co_return response;

  const auto n = static_cast<std::size_t>(request.n_neighbors);
  const std::size_t depth =
      request.mode == SearchMode::kHybrid ? std::max<std::size_t>(n * 4, options_.fusion_depth) : n;
  std::vector<RankedKey> ranked;
  if (request.mode == SearchMode::kKeyword) {
    auto r = co_await KeywordRanking(request, model, split->searchable, depth);
    if (!r) co_return Fail(r.error());
    ranked = std::move(*r);
  } else if (request.mode == SearchMode::kVector) {
    auto r = co_await VectorRanking(request, *embedder, split->searchable, depth);
    if (!r) co_return Fail(r.error());
    ranked = std::move(*r);
  } else {
    auto v = co_await VectorRanking(request, *embedder, split->searchable, depth);
    if (!v) co_return Fail(v.error());
    auto k = co_await KeywordRanking(request, model, split->searchable, depth);
    if (!k) co_return Fail(k.error());
    ranked = ReciprocalRankFusion({*v, *k}, options_.rrf_k);
  }
  if (ranked.size() > n) ranked.resize(n);

  std::vector<store::MetadataStore::ChunkKey> keys;
  for (const auto& r : ranked) keys.push_back({r.file_id, r.chunk_index});
  auto chunks = co_await common::Offload(
      db_pool_, [this, &model, &keys] { return store_.GetChunks(model, keys); });
  if (!chunks) co_return Fail(chunks.error());
  std::map<std::pair<std::string, int>, const store::ChunkRecord*> by_key;
  for (const auto& c : *chunks) by_key[{c.file_id, c.chunk_index}] = &c;
  for (const auto& r : ranked) {
    auto it = by_key.find({r.file_id, r.chunk_index});
    if (it == by_key.end()) continue;  // deleted since ranking
    const auto& c = *it->second;
    response.results.push_back(Neighbor{.file_id = c.file_id,
                                        .chunk_index = c.chunk_index,
                                        .text = c.text,
                                        .score = r.score,
                                        .page_start = c.page_start,
                                        .page_end = c.page_end});
  }
  co_return response;
}

asio::awaitable<Result<std::vector<RankedKey>>> StoreSearcher::VectorRanking(
    const NeighborsRequest& request, std::shared_ptr<embed::Embedder> embedder,
    const std::vector<std::string>& file_ids, std::size_t depth) {
  const std::string model = embedder->info().name;
  // Built outside the co_await: GCC 12 miscompiles initializer lists there.
  embed::EmbedRequest query_request{.purpose = embed::Purpose::kQuery};
  query_request.texts.push_back(request.text);
  auto query = co_await embedder->Embed(std::move(query_request));
  if (!query) co_return Fail(query.error());
  if (query->rows() != 1) co_return Fail(ErrorCode::kEmbeddingFailed, "no query vector");

  using Sets = std::vector<std::shared_ptr<const store::VectorSet>>;
  auto sets = co_await common::Offload(db_pool_, [this, &file_ids, &model]() -> Result<Sets> {
    Sets out;
    for (const auto& id : file_ids) {
      auto cached = cache_.Get(id, model);
      if (!cached) {
        auto loaded = store_.LoadVectors(id, model);
        if (!loaded) return Fail(loaded.error());
        if (!*loaded) continue;
        cached = std::make_shared<const store::VectorSet>(std::move(**loaded));
        cache_.Put(cached);
      }
      out.push_back(std::move(cached));
    }
    return out;
  });
  if (!sets) co_return Fail(sets.error());

  co_return co_await common::Offload(
      cpu_pool_, [&q = *query, &sets = *sets, depth]() -> Result<std::vector<RankedKey>> {
        std::vector<RankedKey> all;
        std::vector<float> scores;
        for (const auto& set : sets) {
          if (set->dimension != q.dimension) {
            return Fail(ErrorCode::kInternal, "stored vectors have a different dimension");
          }
          scores.resize(set->count());
          embed::DotMany(q.data.data(), set->data.data(), set->count(),
                         static_cast<std::size_t>(set->dimension), scores.data());
          for (auto [index, score] : embed::TopK(scores, depth)) {
            all.push_back(RankedKey{set->file_id, static_cast<int>(index), score});
          }
        }
        std::stable_sort(all.begin(), all.end(),
                         [](const RankedKey& a, const RankedKey& b) { return a.score > b.score; });
        if (all.size() > depth) all.resize(depth);
        return all;
      });
}

asio::awaitable<Result<std::vector<RankedKey>>> StoreSearcher::KeywordRanking(
    const NeighborsRequest& request, const std::string& model,
    const std::vector<std::string>& file_ids, std::size_t depth) {
  auto hits =
      co_await common::Offload(db_pool_, [this, &text = request.text, &file_ids, &model, depth] {
        return store_.KeywordSearch(text, file_ids, model, static_cast<int>(depth));
      });
  if (!hits) co_return Fail(hits.error());
  std::vector<RankedKey> out;
  for (const auto& h : *hits) out.push_back(RankedKey{h.file_id, h.chunk_index, h.score});
  co_return out;
}

}  // namespace ragpdf::query
