// Random-weight BERT models and their PyTorch reference outputs, made by
// tests/tools/make_random_bert.py (one Python run for all of them). They are
// cached under the build directory, keyed by a hash of the spec and the
// script, because ctest runs every test in its own process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "embed/local/bert_encoder.h"

namespace ragpdf::embed::local::testing {

struct ReferenceBatch {
  embed::local::TokenBatch batch;
  std::vector<float> expected;  // rows x hidden, from PyTorch
};

struct ReferenceCase {
  std::string name;
  std::filesystem::path dir;
  bool normalized = true;
  std::vector<ReferenceBatch> batches;  // empty for models made only to be broken
};

// All cases; generates them on first use. Fails the calling test (ADD_FAILURE)
// and returns an empty list if Python or torch is missing.
const std::vector<ReferenceCase>& ReferenceCases();
const ReferenceCase& ReferenceCaseNamed(const std::string& name);

}  // namespace ragpdf::embed::local::testing
