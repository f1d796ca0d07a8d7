#include "embed/local/batch_planner.h"

#include <algorithm>
#include <cassert>
#include <numeric>
#include <utility>

namespace ragpdf::embed::local {

BatchPlanner::BatchPlanner(BatchPlannerOptions options) : options_(options) {
  assert(options_.max_batch_tokens > 0 && options_.max_batch_rows > 0 && options_.window > 0);
}
BatchPlanner::~BatchPlanner() = default;
BatchPlanner::BatchPlanner(BatchPlanner&&) noexcept = default;
BatchPlanner& BatchPlanner::operator=(BatchPlanner&&) noexcept = default;

void BatchPlanner::Push(std::string_view lane, std::uint64_t id, int length, bool priority) {
  assert(length >= 1);
  Lane* target = &priority_;
  if (!priority) {
    auto it = by_key_.find(std::string(lane));
    if (it == by_key_.end()) {
      order_.push_back(std::make_unique<Lane>(Lane{.key = std::string(lane), .items = {}}));
      it = by_key_.emplace(order_.back()->key, order_.back().get()).first;
    }
    target = it->second;
  }
  target->items.push_back(Item{.id = id, .length = length});
  ++size_;
}

PlannedBatch BatchPlanner::Next() {
  if (empty()) return {};
  const bool priority = !priority_.items.empty();
  std::vector<Lane*> lanes;
  if (priority) {
    lanes.push_back(&priority_);
  } else {
    for (const auto& lane : order_) lanes.push_back(lane.get());
  }
  const std::vector<Candidate> window = DrawWindow(lanes);
  const std::vector<std::size_t> chosen = Choose(window);

  PlannedBatch batch;
  batch.items.reserve(chosen.size());
  for (std::size_t c : chosen) {
    const Candidate& cand = window[c];
    batch.items.push_back(cand.lane->items[cand.position].id);
    batch.seq_len = std::max(batch.seq_len, cand.length);
    batch.real_tokens += static_cast<std::size_t>(cand.length);
  }
  Remove(window, chosen);
  size_ -= chosen.size();

  if (!priority) {
    // The anchor's lane had its turn: it goes to the back.
    std::unique_ptr<Lane> served = std::move(order_.front());
    order_.pop_front();
    if (!served->items.empty())
      order_.push_back(std::move(served));
    else
      by_key_.erase(served->key);
  }
  // Lanes emptied by this batch (other than the anchor's) leave the rotation.
  for (auto it = order_.begin(); it != order_.end();) {
    if ((*it)->items.empty()) {
      by_key_.erase((*it)->key);
      it = order_.erase(it);
    } else {
      ++it;
    }
  }
  return batch;
}

std::vector<BatchPlanner::Candidate> BatchPlanner::DrawWindow(
    const std::vector<Lane*>& lanes) const {
  std::vector<Candidate> window;
  for (std::size_t depth = 0; window.size() < options_.window; ++depth) {
    bool any = false;
    for (Lane* lane : lanes) {
      if (depth >= lane->items.size()) continue;
      any = true;
      window.push_back(
          Candidate{.lane = lane, .position = depth, .length = lane->items[depth].length});
      if (window.size() == options_.window) break;
    }
    if (!any) break;
  }
  return window;
}

std::vector<std::size_t> BatchPlanner::Choose(const std::vector<Candidate>& window) const {
  return options_.group_by_length ? ChooseGrouped(window) : ChooseFifo(window);
}

bool BatchPlanner::Fits(std::size_t rows, int seq_len) const {
  return rows <= options_.max_batch_rows &&
         rows * static_cast<std::size_t>(seq_len) <= options_.max_batch_tokens;
}

std::vector<std::size_t> BatchPlanner::ChooseFifo(const std::vector<Candidate>& window) const {
  std::vector<std::size_t> chosen = {0};
  int seq_len = window[0].length;
  for (std::size_t i = 1; i < window.size(); ++i) {
    const int len = std::max(seq_len, window[i].length);
    if (!Fits(chosen.size() + 1, len)) break;
    chosen.push_back(i);
    seq_len = len;
  }
  return chosen;
}

std::vector<std::size_t> BatchPlanner::ChooseGrouped(const std::vector<Candidate>& window) const {
  // Sorted by length; ties keep draw order so older items go first.
  std::vector<std::size_t> order(window.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return window[a].length < window[b].length;
  });
  const auto anchor =
      static_cast<std::size_t>(std::find(order.begin(), order.end(), 0) - order.begin());
  std::size_t lo = anchor, hi = anchor;
  std::size_t rows = 1;
  int seq_len = window[0].length;
  std::size_t real = static_cast<std::size_t>(seq_len);

  struct Step {
    bool left;
    int seq_len;
    std::size_t real;
    std::size_t waste;
  };
  auto step = [&](bool left) {
    const int len = window[order[left ? lo - 1 : hi + 1]].length;
    Step s{.left = left, .seq_len = std::max(seq_len, len), .real = real + len, .waste = 0};
    s.waste = (rows + 1) * static_cast<std::size_t>(s.seq_len) - s.real;
    return s;
  };
  auto acceptable = [&](const Step& s) {
    const std::size_t padded = (rows + 1) * static_cast<std::size_t>(s.seq_len);
    return Fits(rows + 1, s.seq_len) &&
           static_cast<double>(s.waste) <= options_.max_padding * static_cast<double>(padded);
  };
  for (;;) {
    std::vector<Step> steps;
    if (lo > 0) steps.push_back(step(true));
    if (hi + 1 < order.size()) steps.push_back(step(false));
    // Cheapest padding first; on a tie the shorter (left) neighbour.
    std::stable_sort(steps.begin(), steps.end(),
                     [](const Step& a, const Step& b) { return a.waste < b.waste; });
    auto it = std::find_if(steps.begin(), steps.end(), acceptable);
    if (it == steps.end()) break;
    if (it->left)
      --lo;
    else
      ++hi;
    ++rows;
    seq_len = it->seq_len;
    real = it->real;
  }
  return {order.begin() + static_cast<std::ptrdiff_t>(lo),
          order.begin() + static_cast<std::ptrdiff_t>(hi) + 1};
}

void BatchPlanner::Remove(const std::vector<Candidate>& window,
                          const std::vector<std::size_t>& chosen) {
  // Erase back to front so earlier positions stay valid.
  std::vector<std::pair<Lane*, std::size_t>> victims;
  victims.reserve(chosen.size());
  for (std::size_t c : chosen) victims.emplace_back(window[c].lane, window[c].position);
  std::sort(victims.begin(), victims.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [lane, position] : victims) {
    lane->items.erase(lane->items.begin() + static_cast<std::ptrdiff_t>(position));
  }
}

}  // namespace ragpdf::embed::local
