#include "embed/local/gemm.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "embed/local/bert_ops.h"
#include "embed/local/bert_thread_pool.h"

namespace ragpdf::embed::local {
namespace {

#define REQUIRE_AVX512() \
  if (!CpuHasAvx512()) GTEST_SKIP() << "CPU without AVX-512F"

std::vector<float> Random(std::size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

double GeluErf(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double GeluTanh(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

// C = act(A * W^T + bias) + residual in double precision, W as n x k.
std::vector<double> Reference(int m, int n, int k, const std::vector<float>& a, int lda,
                              const std::vector<float>& w, const float* bias, Activation activation,
                              const std::vector<float>* residual) {
  std::vector<double> c(static_cast<std::size_t>(m) * n);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double sum = bias ? bias[j] : 0.0;
      for (int p = 0; p < k; ++p) sum += static_cast<double>(a[i * lda + p]) * w[j * k + p];
      if (activation == Activation::kGelu) sum = GeluErf(sum);
      if (activation == Activation::kGeluTanh) sum = GeluTanh(sum);
      if (residual) sum += (*residual)[i * n + j];
      c[i * n + j] = sum;
    }
  }
  return c;
}

TEST(GemmTest, MatchesDoublePrecisionOnRaggedShapes) {
  REQUIRE_AVX512();
  std::mt19937 rng(42);
  struct Shape {
    int m, n, k;
  };
  for (const Shape s : {Shape{1, 1, 1}, Shape{12, 32, 16}, Shape{13, 33, 7}, Shape{5, 100, 60},
                        Shape{96, 384, 384}, Shape{25, 48, 150}, Shape{11, 31, 1536}}) {
    for (const Activation activation :
         {Activation::kNone, Activation::kGelu, Activation::kGeluTanh}) {
      const int lda = s.k + 3;  // A is read in place with its own stride
      const auto a = Random(static_cast<std::size_t>(s.m) * lda, rng);
      const auto w = Random(static_cast<std::size_t>(s.n) * s.k, rng, 1.0f / std::sqrt(s.k));
      const auto bias = Random(s.n, rng);
      const auto residual = Random(static_cast<std::size_t>(s.m) * s.n, rng);
      AlignedFloats packed;
      PackPanelsTransposed(w.data(), s.k, s.n, s.k, packed.Reserve(PanelFloats(s.k, s.n)));
      // Residual in place: C starts as the residual, as in the encoder.
      std::vector<float> c = residual;
      Epilogue epilogue{bias.data(), activation, c.data(), s.n};
      GemmAvx512(s.m, a.data(), lda, PanelMatrix{packed.data(), s.k, s.n}, c.data(), s.n, epilogue);
      const auto want = Reference(s.m, s.n, s.k, a, lda, w, bias.data(), activation, &residual);
      double worst = 0;
      for (std::size_t i = 0; i < want.size(); ++i)
        worst = std::max(worst, std::fabs(c[i] - want[i]));
      EXPECT_LT(worst, 2e-5 * std::sqrt(s.k)) << s.m << "x" << s.n << "x" << s.k;
    }
  }
}

// The AVX-512 ops' Linear (oneDNN matmul with post-ops): dense and strided
// operands, residual in place and separate, with and without bias.
TEST(GemmTest, LinearMatchesDoublePrecision) {
  REQUIRE_AVX512();
  const auto ops = MakeAvx512Ops();
  std::mt19937 rng(7);
  struct Case {
    int m, n, k, pad;
    bool bias, residual_in_place;
    Activation activation;
  };
  for (const Case t : {Case{96, 1152, 384, 0, true, false, Activation::kNone},
                       Case{1, 384, 1536, 0, true, true, Activation::kNone},
                       Case{37, 1536, 384, 0, true, false, Activation::kGelu},
                       Case{50, 100, 60, 3, false, false, Activation::kGeluTanh},
                       Case{13, 33, 7, 5, true, true, Activation::kGelu}}) {
    const int lda = t.k + t.pad;
    const int ldc = t.n + t.pad;
    const auto a = Random(static_cast<std::size_t>(t.m) * lda, rng);
    const auto w = Random(static_cast<std::size_t>(t.n) * t.k, rng, 1.0f / std::sqrt(t.k));
    const auto bias = Random(t.n, rng);
    const auto residual = Random(static_cast<std::size_t>(t.m) * t.n, rng);
    const LinearWeight weight = ops->PrepareLinear(w, t.n, t.k);
    std::vector<float> c(static_cast<std::size_t>(t.m) * ldc, 123.0f);
    std::vector<float> separate(static_cast<std::size_t>(t.m) * ldc);
    for (int i = 0; i < t.m; ++i) {
      std::copy_n(residual.begin() + i * t.n, t.n,
                  (t.residual_in_place ? c : separate).begin() + i * ldc);
    }
    Epilogue epilogue{t.bias ? bias.data() : nullptr, t.activation,
                      t.residual_in_place ? c.data() : separate.data(), ldc};
    ops->Linear(t.m, a.data(), lda, weight, c.data(), ldc, epilogue);
    const auto want = Reference(t.m, t.n, t.k, a, lda, w, t.bias ? bias.data() : nullptr,
                                t.activation, &residual);
    double worst = 0;
    for (int i = 0; i < t.m; ++i) {
      for (int j = 0; j < t.n; ++j) {
        worst = std::max(worst, std::fabs(c[i * ldc + j] - want[i * t.n + j]));
      }
      for (int j = t.n; j < ldc; ++j) EXPECT_EQ(c[i * ldc + j], 123.0f);  // padding untouched
    }
    EXPECT_LT(worst, 2e-5 * std::sqrt(t.k)) << t.m << "x" << t.n << "x" << t.k;
  }
}

TEST(GemmTest, StoresOnlyInsideC) {
  REQUIRE_AVX512();
  std::mt19937 rng(1);
  const int m = 7, n = 19, k = 5, ldc = 24;
  const auto a = Random(m * k, rng);
  const auto b = Random(k * n, rng);  // k x n, packed as is
  AlignedFloats packed;
  PackPanels(b.data(), n, k, n, packed.Reserve(PanelFloats(k, n)));
  std::vector<float> c(m * ldc, 7.0f);
  GemmAvx512(m, a.data(), k, PanelMatrix{packed.data(), k, n}, c.data(), ldc);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < ldc; ++j) {
      if (j >= n) {
        EXPECT_EQ(c[i * ldc + j], 7.0f) << i << "," << j;
        continue;
      }
      double want = 0;
      for (int p = 0; p < k; ++p) want += static_cast<double>(a[i * k + p]) * b[p * n + j];
      EXPECT_NEAR(c[i * ldc + j], want, 1e-5);
    }
  }
}

TEST(GemmTest, GeluIsAccurateOverItsRange) {
  REQUIRE_AVX512();
  // x * 1 through a 1 x 1 weight: C is the activation of A.
  const int m = 4001;
  std::vector<float> x(m);
  for (int i = 0; i < m; ++i) x[i] = -20.0f + 40.0f * i / (m - 1);
  const float one = 1.0f;
  AlignedFloats packed;
  PackPanelsTransposed(&one, 1, 1, 1, packed.Reserve(PanelFloats(1, 1)));
  for (const Activation activation : {Activation::kGelu, Activation::kGeluTanh}) {
    std::vector<float> y(m);
    GemmAvx512(m, x.data(), 1, PanelMatrix{packed.data(), 1, 1}, y.data(), 1,
               Epilogue{nullptr, activation, nullptr, 0});
    for (int i = 0; i < m; ++i) {
      const double want = activation == Activation::kGelu ? GeluErf(x[i]) : GeluTanh(x[i]);
      EXPECT_NEAR(y[i], want, 1e-6 * std::max(1.0, std::fabs(want))) << x[i];
    }
  }
}

TEST(GemmTest, SoftmaxRows) {
  REQUIRE_AVX512();
  std::mt19937 rng(3);
  const int rows = 3, n = 37, ld = 40;
  auto x = Random(rows * ld, rng, 5.0f);
  x[5] = 80.0f;  // large values must not overflow
  const auto original = x;
  SoftmaxRowsAvx512(x.data(), rows, ld, n);
  for (int r = 0; r < rows; ++r) {
    double max = -1e30, sum = 0;
    for (int j = 0; j < n; ++j) max = std::max(max, static_cast<double>(original[r * ld + j]));
    for (int j = 0; j < n; ++j) sum += std::exp(original[r * ld + j] - max);
    for (int j = 0; j < n; ++j) {
      EXPECT_NEAR(x[r * ld + j], std::exp(original[r * ld + j] - max) / sum, 1e-6);
    }
    for (int j = n; j < ld; ++j) EXPECT_EQ(x[r * ld + j], original[r * ld + j]);
  }
}

TEST(GemmTest, LayerNormRows) {
  REQUIRE_AVX512();
  std::mt19937 rng(4);
  const int rows = 2, n = 60, ld = 64;
  auto x = Random(rows * ld, rng, 3.0f);
  for (auto& v : x) v += 10.0f;  // an offset the mean must remove
  const auto gamma = Random(n, rng);
  const auto beta = Random(n, rng);
  const auto original = x;
  LayerNormRowsAvx512(x.data(), rows, ld, n, gamma.data(), beta.data(), 1e-5f);
  for (int r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int j = 0; j < n; ++j) mean += original[r * ld + j];
    mean /= n;
    for (int j = 0; j < n; ++j) var += std::pow(original[r * ld + j] - mean, 2);
    var /= n;
    for (int j = 0; j < n; ++j) {
      const double want =
          (original[r * ld + j] - mean) / std::sqrt(var + 1e-5) * gamma[j] + beta[j];
      EXPECT_NEAR(x[r * ld + j], want, 2e-5);
    }
    for (int j = n; j < ld; ++j) EXPECT_EQ(x[r * ld + j], original[r * ld + j]);
  }
}

TEST(ThreadPoolTest, RunsEveryTaskOnceOnValidThreads) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int round = 0; round < 200; ++round) {
      const int tasks = round % 17;
      std::vector<std::atomic<int>> runs(tasks);
      std::atomic<bool> bad_thread{false};
      pool.Run(tasks, [&](int task, int thread) {
        runs[task].fetch_add(1);
        if (thread < 0 || thread >= threads) bad_thread = true;
      });
      for (int t = 0; t < tasks; ++t) ASSERT_EQ(runs[t].load(), 1) << threads << "/" << round;
      EXPECT_FALSE(bad_thread.load());
    }
  }
}

TEST(ThreadPoolTest, WorkersHelpAndSleepBetweenBursts) {
  ThreadPool pool(2);
  std::set<int> seen;
  std::mutex mutex;
  for (int burst = 0; burst < 3; ++burst) {
    pool.Run(64, [&](int, int thread) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      std::lock_guard lock(mutex);
      seen.insert(thread);
    });
    // Long enough for the worker to stop spinning and wait on the futex.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(seen, (std::set<int>{0, 1}));
}

}  // namespace
}  // namespace ragpdf::embed::local
