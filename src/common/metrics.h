// A small Prometheus registry: counters, gauges and histograms keyed by metric
// name and a label string (`route="/file/upload",status="200"`), rendered in
// the text exposition format 0.0.4. Each process exports its own figures.
//
// Thread-safety: all methods are safe to call concurrently (one mutex; the
// metrics are updated per file and per request, not per token).
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ragpdf::common {

class Metrics {
 public:
  static Metrics& Global();

  // Declares help text and type ("counter", "gauge", "histogram"). Optional:
  // undeclared metrics render as untyped.
  void Describe(std::string_view name, std::string_view type, std::string_view help);
  void Inc(std::string_view name, std::string_view labels = {}, double value = 1);
  void Set(std::string_view name, std::string_view labels, double value);
  // Histogram with fixed second-scale buckets (1 ms .. 10 min).
  void Observe(std::string_view name, std::string_view labels, double seconds);

  std::string RenderPrometheus() const;
  // Current value of a counter or gauge (0 when absent); for tests.
  double Value(std::string_view name, std::string_view labels = {}) const;

 private:
  struct Histogram {
    std::vector<double> bucket_counts;
    double sum = 0;
    double count = 0;
  };
  struct Family {
    std::string type;
    std::string help;
    std::map<std::string, double> values;         // counters and gauges
    std::map<std::string, Histogram> histograms;  // by label string
  };

  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace ragpdf::common
