// encoder_bench: times BertEncoder::Forward on one batch (driven by
// bench/encoder, which also times PyTorch on the same weights and ids).
//
// Usage: encoder_bench --model DIR --ids FILE [--threads N] [--runs R]
//                      [--warmup W] [--portable] [--out FILE]
//   --ids FILE: JSON {"seq_len": S, "lengths": [...], "ids": [rows*S ints]}
//   --out FILE: the batch's embeddings, rows x hidden float32 (native order)
// Prints one JSON object: {"kernels", "threads", "seconds": [...], "median"}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "embed/local/bert_encoder.h"
#include "embed/local/gemm.h"

namespace {

namespace json = boost::json;
using ragpdf::embed::local::BertEncoder;
using ragpdf::embed::local::EncoderOptions;
using ragpdf::embed::local::TokenBatch;

struct Args {
  std::string model;
  std::string ids;
  std::string out;
  int threads = 0;
  int runs = 5;
  int warmup = 1;
  bool portable = false;
};

int Usage() {
  std::cerr << "usage: encoder_bench --model DIR --ids FILE [--threads N] [--runs R] "
               "[--warmup W] [--portable] [--out FILE]\n";
  return 2;
}

bool Parse(int argc, char** argv, Args& args) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--portable") {
      args.portable = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const std::string value = argv[++i];
    if (flag == "--model") {
      args.model = value;
    } else if (flag == "--ids") {
      args.ids = value;
    } else if (flag == "--out") {
      args.out = value;
    } else if (flag == "--threads") {
      args.threads = std::atoi(value.c_str());
    } else if (flag == "--runs") {
      args.runs = std::max(1, std::atoi(value.c_str()));
    } else if (flag == "--warmup") {
      args.warmup = std::max(0, std::atoi(value.c_str()));
    } else {
      return false;
    }
  }
  return !args.model.empty() && !args.ids.empty();
}

bool ReadBatch(const std::string& path, TokenBatch& batch) {
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json::error_code ec;
  const json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return false;
  const auto& obj = value.as_object();
  batch.seq_len = static_cast<int>(obj.at("seq_len").as_int64());
  for (const auto& v : obj.at("lengths").as_array()) {
    batch.lengths.push_back(static_cast<int>(v.as_int64()));
  }
  for (const auto& v : obj.at("ids").as_array()) {
    batch.ids.push_back(static_cast<std::int32_t>(v.as_int64()));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!Parse(argc, argv, args)) return Usage();
  TokenBatch batch;
  if (!ReadBatch(args.ids, batch)) {
    std::cerr << args.ids << ": not a batch\n";
    return 1;
  }
  EncoderOptions options;
  options.threads = args.threads;
  options.allow_avx512 = !args.portable;
  auto encoder = BertEncoder::Load(args.model, options);
  if (!encoder) {
    std::cerr << encoder.error().message << "\n";
    return 1;
  }
  std::vector<float> out(batch.rows() * (*encoder)->config().hidden_size);
  std::vector<double> seconds;
  for (int run = 0; run < args.warmup + args.runs; ++run) {
    const auto start = std::chrono::steady_clock::now();
    auto ok = (*encoder)->Forward(batch, out);
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (!ok) {
      std::cerr << ok.error().message << "\n";
      return 1;
    }
    if (run >= args.warmup) seconds.push_back(elapsed.count());
  }
  if (!args.out.empty()) {
    std::ofstream(args.out, std::ios::binary)
        .write(reinterpret_cast<const char*>(out.data()),
               static_cast<std::streamsize>(out.size() * sizeof(float)));
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  json::object report{
      {"kernels", args.portable || !ragpdf::embed::local::CpuHasAvx512() ? "openblas" : "avx512"},
      {"threads", args.threads},
      {"seconds", json::array(seconds.begin(), seconds.end())},
      {"median", sorted[sorted.size() / 2]}};
  std::cout << json::serialize(report) << std::endl;
  return 0;
}
