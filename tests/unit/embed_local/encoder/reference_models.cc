#include "reference_models.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace ragpdf::embed::local::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// Shapes chosen to break what a fast path tends to assume: head sizes of
// 12, 10 and 48 (not powers of two; 48 spans two 32-column panels),
// intermediate sizes that are not multiples of 64, F16/BF16 weights, legacy
// gamma/beta names and names without the "bert." prefix, both GELUs, mean and
// CLS pooling, with and without normalization.
struct CaseDef {
  const char* name;
  const char* model;  // make_random_bert.py options
  bool with_batches;
};
constexpr CaseDef kCases[] = {
    {"mean_f32_h60",
     R"({"layers": 2, "hidden": 60, "heads": 5, "intermediate": 100, "vocab": 120,
         "max_positions": 160, "dtype": "f32", "pooling": "mean", "normalize": true, "seed": 1})",
     true},
    {"cls_f16_h36_raw",
     R"({"layers": 1, "hidden": 36, "heads": 3, "intermediate": 150, "vocab": 90,
         "max_positions": 130, "dtype": "f16", "pooling": "cls", "normalize": false, "seed": 2,
         "prefix": ""})",
     true},
    {"mean_bf16_h64_3layers",
     R"({"layers": 3, "hidden": 64, "heads": 2, "intermediate": 150, "vocab": 100,
         "max_positions": 160, "dtype": "bf16", "pooling": "mean", "normalize": true, "seed": 3,
         "legacy_norm_names": true})",
     true},
    {"cls_tanh_h96",
     R"({"layers": 2, "hidden": 96, "heads": 2, "intermediate": 200, "vocab": 80,
         "max_positions": 140, "dtype": "f32", "pooling": "cls", "normalize": true, "seed": 4,
         "hidden_act": "gelu_new", "layer_norm_eps": 1e-5})",
     true},
    {"mean_f16_h40_raw",
     R"({"layers": 2, "hidden": 40, "heads": 4, "intermediate": 70, "vocab": 60,
         "max_positions": 128, "dtype": "f16", "pooling": "mean", "normalize": false,
         "seed": 5})",
     true},
    // Made to be broken by the loading tests.
    {"base", R"({"layers": 1, "hidden": 24, "heads": 2, "intermediate": 40, "vocab": 50,
                 "max_positions": 64, "seed": 6})",
     false},
    {"int8_key",
     R"({"layers": 1, "hidden": 24, "heads": 2, "intermediate": 40, "vocab": 50,
         "max_positions": 64, "seed": 7,
         "dtype_overrides": {"encoder.layer.0.attention.self.key.weight": "I8"}})",
     false},
};

// Batches that mix short and long rows; padding ids are random real ids so
// that reading past a row's length would change the result.
std::vector<TokenBatch> MakeBatches(int vocab, unsigned seed) {
  std::mt19937 rng(seed);
  auto make = [&](int seq_len, std::vector<int> lengths) {
    TokenBatch batch;
    batch.seq_len = seq_len;
    batch.lengths = std::move(lengths);
    batch.ids.resize(batch.lengths.size() * seq_len);
    for (auto& id : batch.ids) id = static_cast<std::int32_t>(rng() % vocab);
    return batch;
  };
  return {make(128, {1, 3, 17, 64, 128}), make(20, {20, 5, 20, 1})};
}

std::uint64_t Fnv1a(std::string_view text, std::uint64_t h = 0xcbf29ce484222325ULL) {
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs the generator unless this exact spec was generated before; several
// test processes may race here, hence the lock.
bool Generate(const fs::path& dir, const std::string& spec) {
  const fs::path root = dir.parent_path();
  fs::create_directories(root);
  const int lock = ::open((root / "lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
    ADD_FAILURE() << "cannot lock " << root;
    return false;
  }
  bool ok = fs::exists(dir / "done");
  if (!ok) {
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(dir / "spec.json") << spec;
    const std::string command = std::string("'") + RAGPDF_TORCH_PYTHON + "' '" +
                                RAGPDF_TEST_TOOLS_DIR + "/make_random_bert.py' suite '" +
                                (dir / "spec.json").string() + "' > '" +
                                (dir / "log.txt").string() + "' 2>&1";
    ok = std::system(command.c_str()) == 0;
    if (ok) {
      std::ofstream(dir / "done") << "ok\n";
    } else {
      ADD_FAILURE() << "make_random_bert.py failed (needs " << RAGPDF_TORCH_PYTHON
                    << " with torch and numpy):\n"
                    << ReadFile(dir / "log.txt");
    }
  }
  ::flock(lock, LOCK_UN);
  ::close(lock);
  return ok;
}

std::vector<ReferenceCase> Build() {
  json::array cases;
  std::vector<ReferenceCase> out;
  std::vector<std::vector<TokenBatch>> batches;
  for (const auto& def : kCases) {
    const json::object model = json::parse(def.model).as_object();
    ReferenceCase c;
    c.name = def.name;
    const auto* normalize = model.if_contains("normalize");
    c.normalized = !normalize || normalize->as_bool();
    json::object entry{{"model", model}};
    json::array batch_specs;
    if (def.with_batches) {
      batches.push_back(MakeBatches(static_cast<int>(model.at("vocab").as_int64()),
                                    static_cast<unsigned>(model.at("seed").as_int64())));
      for (const auto& b : batches.back()) {
        json::array ids(b.ids.begin(), b.ids.end());
        json::array lengths(b.lengths.begin(), b.lengths.end());
        batch_specs.push_back(
            json::object{{"seq_len", b.seq_len}, {"lengths", lengths}, {"ids", ids}});
      }
    } else {
      batches.emplace_back();
    }
    entry["batches"] = batch_specs;
    cases.push_back(entry);
    out.push_back(std::move(c));
  }
  // The spec without paths decides the cache key; paths are added after.
  const std::string script = ReadFile(fs::path(RAGPDF_TEST_TOOLS_DIR) / "make_random_bert.py");
  std::ostringstream key;
  key << std::hex << Fnv1a(script, Fnv1a(json::serialize(cases)));
  const fs::path dir = fs::path(RAGPDF_ENCODER_MODEL_CACHE) / key.str();
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].dir = dir / out[i].name;
    auto& entry = cases[i].as_object();
    entry["dir"] = out[i].dir.string();
    entry["expected"] = (dir / (out[i].name + ".expected.json")).string();
  }
  if (!Generate(dir, json::serialize(json::object{{"cases", cases}}))) return {};

  for (std::size_t i = 0; i < out.size(); ++i) {
    if (batches[i].empty()) continue;
    const json::value expected = json::parse(ReadFile(dir / (out[i].name + ".expected.json")));
    const auto& outputs = expected.at("outputs").as_array();
    for (std::size_t b = 0; b < batches[i].size(); ++b) {
      ReferenceBatch rb;
      rb.batch = batches[i][b];
      for (const auto& v : outputs.at(b).as_array()) {
        rb.expected.push_back(static_cast<float>(v.to_number<double>()));
      }
      out[i].batches.push_back(std::move(rb));
    }
  }
  return out;
}

}  // namespace

const std::vector<ReferenceCase>& ReferenceCases() {
  static const std::vector<ReferenceCase> cases = Build();
  return cases;
}

const ReferenceCase& ReferenceCaseNamed(const std::string& name) {
  static const ReferenceCase missing;
  for (const auto& c : ReferenceCases()) {
    if (c.name == name) return c;
  }
  ADD_FAILURE() << "no reference case " << name;
  return missing;
}

}  // namespace ragpdf::embed::local::testing
