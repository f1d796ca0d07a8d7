#include "common/metrics.h"

#include <gtest/gtest.h>

namespace ragpdf::common {
namespace {

TEST(MetricsTest, CountersGaugesAndRender) {
  Metrics m;
  m.Describe("t_uploads_total", "counter", "Uploads.");
  m.Inc("t_uploads_total");
  m.Inc("t_uploads_total", {}, 2);
  m.Set("t_depth", "lane=\"a\"", 5);
  m.Set("t_depth", "lane=\"a\"", 3);
  EXPECT_EQ(m.Value("t_uploads_total"), 3);
  EXPECT_EQ(m.Value("t_depth", "lane=\"a\""), 3);
  const auto text = m.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE t_uploads_total counter"), std::string::npos);
  EXPECT_NE(text.find("t_uploads_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("t_depth{lane=\"a\"} 3\n"), std::string::npos);
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Metrics m;
  m.Observe("t_seconds", "stage=\"parse\"", 0.003);
  m.Observe("t_seconds", "stage=\"parse\"", 2.0);
  const auto text = m.RenderPrometheus();
  EXPECT_NE(text.find("t_seconds_bucket{stage=\"parse\",le=\"0.001\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("t_seconds_bucket{stage=\"parse\",le=\"0.005\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("t_seconds_bucket{stage=\"parse\",le=\"2.5\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("t_seconds_bucket{stage=\"parse\",le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("t_seconds_count{stage=\"parse\"} 2\n"), std::string::npos);
}

}  // namespace
}  // namespace ragpdf::common
