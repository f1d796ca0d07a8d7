#include "embed/vector_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace ragpdf::embed {
namespace {

constexpr std::size_t kDims[] = {1, 7, 15, 16, 17, 31, 33, 383, 384, 385, 1000};
constexpr Isa kAllIsas[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512};

std::vector<float> RandomVector(std::mt19937& rng, std::size_t n) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Double-precision reference and an error bound scaled to the magnitudes.
struct Reference {
  double value = 0;
  double tolerance = 0;
};
Reference ReferenceDot(const float* a, const float* b, std::size_t n) {
  Reference r;
  double magnitude = 0;
  for (std::size_t i = 0; i < n; ++i) {
    r.value += static_cast<double>(a[i]) * b[i];
    magnitude += std::abs(static_cast<double>(a[i]) * b[i]);
  }
  r.tolerance = 1e-5 * magnitude + 1e-6;
  return r;
}

TEST(VectorOpsTest, DetectedIsaIsSupported) {
  EXPECT_TRUE(IsaSupported(Isa::kScalar));
  EXPECT_TRUE(IsaSupported(DetectedIsa()));
}

TEST(VectorOpsTest, DotMatchesReferenceForOddDimensions) {
  std::mt19937 rng(42);
  for (std::size_t dim : kDims) {
    const auto a = RandomVector(rng, dim);
    const auto b = RandomVector(rng, dim);
    const auto ref = ReferenceDot(a.data(), b.data(), dim);
    EXPECT_NEAR(Dot(a.data(), b.data(), dim), ref.value, ref.tolerance) << "dim " << dim;
  }
}

TEST(VectorOpsTest, EveryAvailableKernelMatchesReference) {
  std::mt19937 rng(7);
  int tested = 0;
  for (Isa isa : kAllIsas) {
    if (!IsaSupported(isa)) continue;
    ++tested;
    for (std::size_t dim : kDims) {
      // 0..9 rows covers the four-row blocks and every remainder.
      for (std::size_t rows : {0, 1, 3, 4, 5, 8, 9}) {
        const auto query = RandomVector(rng, dim);
        const auto matrix = RandomVector(rng, rows * dim);
        std::vector<float> out(rows, std::numeric_limits<float>::quiet_NaN());
        DotMany(isa, query.data(), matrix.data(), rows, dim, out.data());
        for (std::size_t r = 0; r < rows; ++r) {
          const auto ref = ReferenceDot(query.data(), matrix.data() + r * dim, dim);
          EXPECT_NEAR(out[r], ref.value, ref.tolerance)
              << "isa " << static_cast<int>(isa) << " dim " << dim << " row " << r;
          EXPECT_NEAR(Dot(isa, query.data(), matrix.data() + r * dim, dim), ref.value,
                      ref.tolerance);
        }
      }
    }
  }
  EXPECT_GE(tested, 1);
}

TEST(VectorOpsTest, DefaultDotManyMatchesReference) {
  std::mt19937 rng(3);
  const std::size_t rows = 37, dim = 385;
  const auto query = RandomVector(rng, dim);
  const auto matrix = RandomVector(rng, rows * dim);
  std::vector<float> out(rows);
  DotMany(query.data(), matrix.data(), rows, dim, out.data());
  for (std::size_t r = 0; r < rows; ++r) {
    const auto ref = ReferenceDot(query.data(), matrix.data() + r * dim, dim);
    EXPECT_NEAR(out[r], ref.value, ref.tolerance);
  }
}

TEST(VectorOpsTest, L2NormalizeGivesUnitLength) {
  std::mt19937 rng(5);
  for (std::size_t dim : kDims) {
    auto v = RandomVector(rng, dim);
    const auto before = v;
    L2Normalize(v);
    double norm = 0;
    for (float x : v) norm += static_cast<double>(x) * x;
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5) << "dim " << dim;
    // Direction kept: every component scaled by the same positive factor.
    const double scale = v[0] / before[0];
    EXPECT_GT(scale, 0);
    for (std::size_t i = 0; i < dim; ++i) EXPECT_NEAR(v[i], before[i] * scale, 1e-5);
  }
}

TEST(VectorOpsTest, L2NormalizeZeroAndNonFinite) {
  std::vector<float> zero(9, 0.0f);
  L2Normalize(zero);
  for (float x : zero) EXPECT_EQ(x, 0.0f);

  std::vector<float> inf = {1.0f, std::numeric_limits<float>::infinity(), 2.0f};
  L2Normalize(inf);
  for (float x : inf) EXPECT_EQ(x, 0.0f);

  std::vector<float> empty;
  L2Normalize(empty);  // no crash
}

std::vector<std::pair<std::size_t, float>> BruteForceTopK(const std::vector<float>& scores,
                                                          std::size_t k) {
  std::vector<std::size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto key = [&](std::size_t i) {
    return std::isnan(scores[i]) ? -std::numeric_limits<float>::infinity() : scores[i];
  };
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return key(a) > key(b); });
  std::vector<std::pair<std::size_t, float>> out;
  for (std::size_t i = 0; i < std::min(k, idx.size()); ++i)
    out.emplace_back(idx[i], scores[idx[i]]);
  return out;
}

void ExpectSameRanking(const std::vector<std::pair<std::size_t, float>>& got,
                       const std::vector<std::pair<std::size_t, float>>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first) << "rank " << i;
  }
}

TEST(VectorOpsTest, TopKMatchesBruteForceWithTies) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> few_values(0, 9);  // many ties
  std::vector<float> scores(500);
  for (float& s : scores) s = static_cast<float>(few_values(rng)) / 10.0f;
  for (std::size_t k : {0, 1, 5, 37, 500, 800}) {
    ExpectSameRanking(TopK(scores, k), BruteForceTopK(scores, k));
  }
}

TEST(VectorOpsTest, TopKBestFirstTiesByLowerIndexNanLast) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> scores = {0.5f, nan, 0.9f, 0.5f, -1.0f, 0.9f};
  const auto top = TopK(scores, 6);
  ASSERT_EQ(top.size(), 6u);
  const std::size_t expected[] = {2, 5, 0, 3, 4, 1};
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(top[i].first, expected[i]);
  EXPECT_FLOAT_EQ(top[0].second, 0.9f);
  EXPECT_TRUE(TopK({}, 3).empty());
}

}  // namespace
}  // namespace ragpdf::embed
