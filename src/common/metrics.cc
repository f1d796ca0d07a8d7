#include "common/metrics.h"

#include <array>

#include <fmt/format.h>

namespace ragpdf::common {
namespace {

constexpr std::array<double, 14> kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,     2.5,  5,     10,   60,  600};

std::string WithLabels(std::string_view name, std::string_view labels) {
  if (labels.empty()) return std::string(name);
  return fmt::format("{}{{{}}}", name, labels);
}

std::string JoinLabels(std::string_view labels, std::string_view extra) {
  if (labels.empty()) return std::string(extra);
  return fmt::format("{},{}", labels, extra);
}

}  // namespace

Metrics& Metrics::Global() {
  static Metrics* metrics = new Metrics();  // never destroyed: used until exit
  return *metrics;
}

void Metrics::Describe(std::string_view name, std::string_view type, std::string_view help) {
  std::lock_guard lock(mu_);
  auto& f = families_[std::string(name)];
  f.type = type;
  f.help = help;
}

void Metrics::Inc(std::string_view name, std::string_view labels, double value) {
  std::lock_guard lock(mu_);
  families_[std::string(name)].values[std::string(labels)] += value;
}

void Metrics::Set(std::string_view name, std::string_view labels, double value) {
  std::lock_guard lock(mu_);
  families_[std::string(name)].values[std::string(labels)] = value;
}

void Metrics::Observe(std::string_view name, std::string_view labels, double seconds) {
  std::lock_guard lock(mu_);
  auto& h = families_[std::string(name)].histograms[std::string(labels)];
  if (h.bucket_counts.empty()) h.bucket_counts.assign(kBuckets.size(), 0);
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) h.bucket_counts[i] += 1;
  }
  h.sum += seconds;
  h.count += 1;
}

double Metrics::Value(std::string_view name, std::string_view labels) const {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto v = it->second.values.find(std::string(labels));
  return v == it->second.values.end() ? 0 : v->second;
}

std::string Metrics::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    if (!f.help.empty()) out += fmt::format("# HELP {} {}\n", name, f.help);
    if (!f.type.empty()) out += fmt::format("# TYPE {} {}\n", name, f.type);
    for (const auto& [labels, v] : f.values) {
      out += fmt::format("{} {}\n", WithLabels(name, labels), v);
    }
    for (const auto& [labels, h] : f.histograms) {
      for (std::size_t i = 0; i < kBuckets.size(); ++i) {
        out += fmt::format(
            "{} {}\n",
            WithLabels(name + "_bucket", JoinLabels(labels, fmt::format("le=\"{}\"", kBuckets[i]))),
            h.bucket_counts[i]);
      }
      out += fmt::format("{} {}\n", WithLabels(name + "_bucket", JoinLabels(labels, "le=\"+Inf\"")),
                         h.count);
      out += fmt::format("{} {}\n", WithLabels(name + "_sum", labels), h.sum);
      out += fmt::format("{} {}\n", WithLabels(name + "_count", labels), h.count);
    }
  }
  return out;
}

}  // namespace ragpdf::common
